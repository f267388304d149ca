"""PAdES B-LTA over years: renewal by the cron with short-lived certificates
and a frozen clock, the company's renewal period, and revoking the signing
certificate from the settings."""

from datetime import UTC, timedelta
from io import BytesIO
from unittest.mock import patch

from cryptography import x509
from pyhanko.pdf_utils.reader import PdfFileReader

from odoo import fields
from odoo.exceptions import AccessError
from odoo.tests import tagged
from odoo.tools import mute_logger

from cloudstamp_engine import generate_service_pki, newest_archive_timestamp, validate_lta
from cloudstamp_engine_testing.checkers import assert_pdfsig_accepts
from cloudstamp_engine_testing.clock import freeze_time
from cloudstamp_engine_testing.crl_server import CrlHttpServer
from cloudstamp_engine_testing.tsa_server import Rfc3161HttpServer

from .common import CloudStampCase, finalize, make_envelope, new_sender, ready_to_agree

LIFETIME = timedelta(days=200)


def signer_fingerprints(data):
    """SHA-256 of the certificates that signed ``data`` (not its timestamps)."""
    return {
        signature.signer_cert.sha256.hex()
        for signature in PdfFileReader(BytesIO(data)).embedded_signatures
        if signature.sig_object.get('/Type') != '/DocTimeStamp'
    }


def complete(env):
    recipient = ready_to_agree(make_envelope(env))
    recipient._action_agree()
    finalize(env)
    return recipient.envelope_id


@tagged('post_install', '-at_install')
class TestLongTermEvidence(CloudStampCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # A fresh PKI whose certificates live 200 days, issued at T0.
        cls.env['ir.config_parameter'].sudo().set_param('cloudstamp.certificate_days', LIFETIME.days)
        cls.certificates.sudo().search([('company_id', '=', cls.env.company.id)]).unlink()
        cls.t0 = fields.Datetime.now().replace(microsecond=0)
        with freeze_time(cls.t0):
            cls.certificates._ensure_service_pki(cls.env.company)

    def at(self, days):
        return freeze_time(self.t0 + timedelta(days=days))

    def renew(self, days):
        with self.at(days):
            self.env['cloudstamp.envelope']._cron_renew_evidence()

    def roots(self):
        return self.certificates._trust_roots(self.env.company)

    def test_the_cron_renews_before_expiry_and_the_file_validates_after_every_signer_expired(self):
        with self.at(0):
            envelope = complete(self.env)
        document = envelope.file_ids
        first_tsa_end = self.t0 + LIFETIME
        self.assertAlmostEqual(document.evidence_valid_until, first_tsa_end, delta=timedelta(seconds=1))
        self.assertEqual(envelope.evidence_valid_until, document.evidence_valid_until)
        completed_pdf = document._current_pdf()

        self.renew(100)  # not due: the TSA certificate has 100 days left
        self.assertEqual(document._current_pdf(), completed_pdf)

        versions = [completed_pdf]
        for renewal, day in enumerate((175, 350), start=1):
            self.renew(day)
            data = document._current_pdf()
            self.assertTrue(data.startswith(versions[-1]), 'a renewal only appends')
            versions.append(data)
            # The TSA certificate was replaced first, so the new timestamp outlives the old one
            self.assertAlmostEqual(
                document.evidence_valid_until,
                self.t0 + timedelta(days=day) + LIFETIME,
                delta=timedelta(seconds=1),
            )
            archive = newest_archive_timestamp(data)
            self.assertEqual(archive.gen_time.replace(tzinfo=None).date(), (self.t0 + timedelta(days=day)).date())
            self.assertEqual([r['action'] for r in document.revision_hashes][-renewal:], ['renew'] * renewal)
        self.assertEqual(envelope.event_ids.mapped('event_type').count('evidence_renewed'), 2)
        # the certificate of agreement was renewed with them
        certificate_stamp = newest_archive_timestamp(envelope._agreement_certificate_pdf())
        self.assertEqual(certificate_stamp.gen_time.date(), (self.t0 + timedelta(days=350)).date())
        self.assertEqual(envelope._verify_trail(), '')
        # The public page still recognises every final version as ours
        for version in versions:
            self.assertTrue(envelope._public_verification(version)['identical'])

        # Day 400: the signing certificate and the first two TSA certificates
        # have expired; from the file alone, every signature is still proven.
        later = (self.t0 + timedelta(days=400)).replace(tzinfo=UTC)
        signer_ends = [
            c.not_after
            for c in self.certificates.sudo()
            .with_context(active_test=False)
            .search([('company_id', '=', self.env.company.id), ('role', '=', 'signer')])
        ]
        self.assertTrue(all(end < later.replace(tzinfo=None) for end in signer_ends[1:]))
        with self.at(400):
            statuses = validate_lta(versions[-1], self.roots(), later)
            self.assertEqual([s.passed for s in statuses], [True, True], statuses)
            # Without the renewals the same signatures can no longer be proven
            self.assertFalse(any(s.passed for s in validate_lta(completed_pdf, self.roots(), later)))
        root_pem = self.certificates._current('root').certificate_pem.encode()
        assert_pdfsig_accepts(versions[-1], root_pem, expected_count=5, document_timestamps=3, at=later)

    def test_a_company_renewal_period_renews_earlier(self):
        self.env.company.cloudstamp_evidence_renewal_days = 30
        with self.at(0):
            envelope = complete(self.env)
        before = envelope.file_ids.current_sha256
        self.renew(29)
        self.assertEqual(envelope.file_ids.current_sha256, before)
        self.renew(31)
        self.assertNotEqual(envelope.file_ids.current_sha256, before)
        self.assertEqual(envelope.file_ids.archive_timestamp_date.date(), (self.t0 + timedelta(days=31)).date())
        # same TSA certificate (not yet due for replacement): same end date
        self.assertAlmostEqual(envelope.evidence_valid_until, self.t0 + LIFETIME, delta=timedelta(seconds=1))

    def test_a_document_completed_before_long_term_validation_is_made_b_lta(self):
        # Completed as the versions before B-LTA did: signatures only, no dates
        file_model = type(self.env['cloudstamp.envelope.file'])
        with self.at(0), patch.object(file_model, '_extend_all_to_lta', lambda documents: None):
            envelope = complete(self.env)
        document = envelope.file_ids
        b_t = document._current_pdf()
        self.assertIsNone(newest_archive_timestamp(b_t))
        self.assertFalse(envelope.evidence_valid_until)

        self.renew(1)
        b_lta = document._current_pdf()
        self.assertTrue(b_lta.startswith(b_t))
        self.assertIsNotNone(newest_archive_timestamp(b_lta))
        self.assertAlmostEqual(envelope.evidence_valid_until, self.t0 + LIFETIME, delta=timedelta(seconds=1))
        self.assertEqual(document.revision_hashes[-1]['action'], 'archive')
        self.assertEqual(envelope._verify_trail(), '')
        with self.at(1):
            now = (self.t0 + timedelta(days=1)).replace(tzinfo=UTC)
            self.assertEqual([s.passed for s in validate_lta(b_lta, self.roots(), now)], [True, True])

    def test_revoking_the_signing_certificate_shows_in_validation(self):
        with self.at(0):
            envelope = complete(self.env)
        old_signer = self.certificates._current('signer')
        with self.at(10):
            wizard = self.env['cloudstamp.certificate.revoke'].create(
                {'reason': 'key_compromise', 'compromised_since': self.t0 - timedelta(minutes=1)}
            )
            self.assertEqual(wizard.signer_serial, old_signer.serial_number)
            wizard.action_revoke()
            new_signer = self.certificates._current('signer')
            self.assertNotEqual(new_signer, old_signer, 'signing goes on with a new certificate')
            self.assertFalse(old_signer.active)

            # The CRL the service publishes lists it, with the reason
            crl = x509.load_der_x509_crl(old_signer._crl())
            entry = crl.get_revoked_certificate_by_serial_number(int(old_signer.serial_number))
            self.assertIsNotNone(entry)
            self.assertEqual(
                entry.extensions.get_extension_for_class(x509.CRLReason).value.reason.name, 'key_compromise'
            )

            # A renewal brings that CRL into the file: its signatures fail validation
            self.env.company.cloudstamp_evidence_renewal_days = 1
            self.env['cloudstamp.envelope']._cron_renew_evidence()
            revoked_pdf = envelope.file_ids._current_pdf()
            now = (self.t0 + timedelta(days=10)).replace(tzinfo=UTC)
            statuses = validate_lta(revoked_pdf, self.roots(), now)
            self.assertTrue(statuses and not any(s.passed for s in statuses), statuses)
            self.assertIn('REVOKED', ' '.join(s.indication for s in statuses))
            # the verifier (and so the public page) reads the same CRL from the file
            report = self.service._verify_pdf(revoked_pdf)
            self.assertEqual(report.verdict.value, 'invalid')
            self.assertTrue(any('revoked' in problem for problem in report.problems), report.problems)

            # A document sent afterwards signs with the new certificate and is valid
            fresh = complete(self.env)
            data = fresh.file_ids._current_pdf()
            self.assertTrue(all(s.passed for s in validate_lta(data, self.roots(), now)))
            self.assertEqual(signer_fingerprints(data), {new_signer.sha256_fingerprint})
            self.assertEqual(signer_fingerprints(revoked_pdf), {old_signer.sha256_fingerprint})

    def test_only_administrators_revoke(self):
        sender = new_sender(self.env, 'sender@cloudstamp.example')
        with self.assertRaises(AccessError):
            self.env['cloudstamp.certificate.revoke'].with_user(sender).create({'reason': 'superseded'})
        wizard = self.env['cloudstamp.certificate.revoke'].create({'reason': 'superseded'})
        with self.assertRaises(AccessError):
            wizard.with_user(sender).action_revoke()
        self.assertFalse(self.certificates.sudo().search_count([('revoked_at', '!=', False)]))

    def test_an_external_tsa_and_its_revocation_data(self):
        """Every timestamp from another CA's TSA over HTTP: its CRL is fetched
        from its distribution point at completion and at each renewal."""
        self.env.company.cloudstamp_evidence_renewal_days = 30
        crl_point = self.enterContext(CrlHttpServer(validity=timedelta(days=30)))
        with self.at(0):
            external = generate_service_pki('外部認定タイムスタンプ株式会社', crl_base_url=crl_point.base_url)
        crl_point.publish(external.root_cert_pem, external.root_key_pem, [external.tsa_cert_pem])
        self.certificates._add_trusted_roots(external.root_cert_pem, self.env.company)
        tsa = self.enterContext(Rfc3161HttpServer(external.tsa()))
        self.env['ir.config_parameter'].sudo().set_param('cloudstamp.tsa_url', tsa.url)

        with self.at(0):
            envelope = complete(self.env)
        document = envelope.file_ids
        # fetched for the document and for the certificate of agreement
        self.assertEqual(crl_point.request_count, 2)
        external_tsa_end = x509.load_pem_x509_certificate(external.tsa_cert_pem).not_valid_after_utc
        self.assertEqual(document.evidence_valid_until, external_tsa_end.replace(tzinfo=None))
        completed_pdf = document._current_pdf()

        self.renew(185)  # the company's period: the CRLs in the files are fetched afresh
        self.assertEqual(crl_point.request_count, 4)
        renewed_pdf = document._current_pdf()
        self.assertTrue(renewed_pdf.startswith(completed_pdf))

        later = (self.t0 + timedelta(days=205)).replace(tzinfo=UTC)  # our signing certificate has expired
        with self.at(205):
            self.assertEqual([s.passed for s in validate_lta(renewed_pdf, self.roots(), later)], [True, True])
            self.assertFalse(any(s.passed for s in validate_lta(completed_pdf, self.roots(), later)))
        roots_pem = self.certificates._current('root').certificate_pem.encode() + external.root_cert_pem
        assert_pdfsig_accepts(renewed_pdf, roots_pem, expected_count=4, document_timestamps=2, at=later)

    def test_an_unreachable_crl_of_an_external_tsa_leaves_the_document_to_finalize_later(self):
        crl_point = CrlHttpServer()  # never started: its address refuses connections
        external = generate_service_pki('Unreachable TSA', crl_base_url=crl_point.base_url)
        self.certificates._add_trusted_roots(external.root_cert_pem, self.env.company)
        tsa = self.enterContext(Rfc3161HttpServer(external.tsa()))
        self.env['ir.config_parameter'].sudo().set_param('cloudstamp.tsa_url', tsa.url)
        recipient = ready_to_agree(make_envelope(self.env))
        recipient._action_agree()
        with mute_logger(
            'odoo.addons.cloudstamp_sign.models.cloudstamp_envelope',
            'odoo.addons.cloudstamp_sign.models.cloudstamp_signing_service',
        ):
            finalize(self.env)
        envelope = recipient.envelope_id
        self.assertEqual(envelope.state, 'finalizing')
        self.assertNotIn('archive', [r['action'] for r in envelope.file_ids.revision_hashes])
        self.assertFalse(envelope.evidence_valid_until)
