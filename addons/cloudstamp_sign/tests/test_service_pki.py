import base64
import os
from unittest.mock import patch

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID

from odoo.exceptions import AccessError, UserError
from odoo.tests import new_test_user, tagged

from cloudstamp_engine import Verdict, generate_service_pki
from cloudstamp_engine_testing.checkers import assert_pdfsig_accepts
from cloudstamp_engine_testing.pdf_samples import contract_pdf
from cloudstamp_engine_testing.tsa_server import Rfc3161HttpServer

from ..tools import master_key
from .common import CloudStampCase


@tagged('post_install', '-at_install')
class TestServicePki(CloudStampCase):
    def test_install_generated_a_pki_for_this_database(self):
        by_role = {role: self.certificates._current(role) for role in ('root', 'signer', 'tsa')}
        self.assertTrue(all(by_role.values()))
        root = x509.load_pem_x509_certificate(by_role['root'].certificate_pem.encode())
        signer = x509.load_pem_x509_certificate(by_role['signer'].certificate_pem.encode())
        tsa = x509.load_pem_x509_certificate(by_role['tsa'].certificate_pem.encode())
        self.assertTrue(root.extensions.get_extension_for_class(x509.BasicConstraints).value.ca)
        usage = signer.extensions.get_extension_for_class(x509.KeyUsage).value
        self.assertTrue(usage.digital_signature and usage.content_commitment)
        eku = tsa.extensions.get_extension_for_class(x509.ExtendedKeyUsage)
        self.assertTrue(eku.critical)
        self.assertEqual(list(eku.value), [ExtendedKeyUsageOID.TIME_STAMPING])
        for leaf in (signer, tsa):
            self.assertEqual(leaf.issuer, root.subject)
            leaf.verify_directly_issued_by(root)
        # running the hook again keeps the keys
        self.certificates._ensure_service_pki(self.env.company)
        self.assertEqual(self.certificates._current('signer'), by_role['signer'])

    def test_private_keys_are_readable_by_no_user(self):
        sender = new_test_user(self.env, 'cs_sender', groups='cloudstamp_sign.group_cloudstamp_user')
        admin = self.env.ref('base.user_admin')
        for user in (sender, admin):
            Certificates = self.env['cloudstamp.pki.certificate'].with_user(user)
            with self.assertRaises(AccessError):
                Certificates.search_read([], ['private_key_ciphertext'])
            with self.assertRaises(AccessError):
                self.certificates._current('signer').with_user(user).read(['private_key_ciphertext'])

    def test_private_keys_are_encrypted_with_a_key_outside_the_database(self):
        signer = self.certificates._current('signer')
        ciphertext = signer.sudo().private_key_ciphertext
        self.assertNotIn('PRIVATE KEY', ciphertext)
        self.assertIn(b'PRIVATE KEY', signer._private_key_pem())
        # the configured master key decrypts it; any other key is told apart clearly
        self.assertTrue(master_key.configured_master_key(), 'make setup configures a master key')
        with (
            patch.dict(os.environ, {master_key.ENV_VAR: 'another-master-key'}),
            self.assertRaisesRegex(UserError, 'master key'),
        ):
            signer._private_key_pem()

    def test_signatures_are_valid_and_trusted_by_the_database_root(self):
        data = self.sign_round()
        report = self.service._verify_pdf(data)
        self.assertEqual(report.verdict, Verdict.VALID, report.problems)
        self.assertEqual([s.action for s in report.signatures], ['send', 'agree'])
        self.assertEqual(report.signatures[1].actor, 'buyer@partner.example')
        assert_pdfsig_accepts(data, self.root_pem, expected_count=2)

    def test_uploaded_pkcs12_replaces_the_signing_identity(self):
        other = generate_service_pki('外部認証局')
        p12 = pkcs12.serialize_key_and_certificates(
            b'customer',
            serialization.load_pem_private_key(other.signer_key_pem, None),
            x509.load_pem_x509_certificate(other.signer_cert_pem),
            [x509.load_pem_x509_certificate(other.root_cert_pem)],
            serialization.BestAvailableEncryption(b'p12-pass'),
        )
        settings = self.env['res.config.settings'].create(
            {
                'cloudstamp_pkcs12_file': base64.b64encode(p12),
                'cloudstamp_pkcs12_password': 'p12-pass',
            }
        )
        settings.execute()
        self.assertIn('外部認証局', self.certificates._current('signer').subject)
        # the uploaded key and its password do not stay in the settings table
        stored = self.env['res.config.settings'].sudo().search([])
        self.assertFalse(any(stored.mapped('cloudstamp_pkcs12_file')))
        self.assertFalse(any(stored.mapped('cloudstamp_pkcs12_password')))
        data = self.sign_round()
        report = self.service._verify_pdf(data)
        self.assertEqual(report.verdict, Verdict.VALID, report.problems)
        self.assertIn('外部認証局', report.signatures[0].signer_subject)
        assert_pdfsig_accepts(data, other.root_cert_pem)

    def test_only_self_signed_certificates_become_trusted_roots(self):
        other = generate_service_pki('別会社')
        trusted = self.certificates.sudo().search([('role', '=', 'trusted')])
        with self.assertRaisesRegex(UserError, 'root'):
            self.env['res.config.settings'].create(
                {'cloudstamp_trusted_roots_file': base64.b64encode(other.signer_cert_pem)}
            ).execute()
        self.env['res.config.settings'].create(
            {
                'cloudstamp_trusted_roots_file': base64.b64encode(other.signer_cert_pem + other.root_cert_pem),
            }
        ).execute()
        added = self.certificates.sudo().search([('role', '=', 'trusted')]) - trusted
        self.assertEqual(len(added), 1)
        self.assertEqual(
            x509.load_pem_x509_certificate(added.certificate_pem.encode()),
            x509.load_pem_x509_certificate(other.root_cert_pem),
        )

    def test_wrong_pkcs12_password_is_a_clear_error(self):
        other = generate_service_pki('X')
        p12 = pkcs12.serialize_key_and_certificates(
            b'x',
            serialization.load_pem_private_key(other.signer_key_pem, None),
            x509.load_pem_x509_certificate(other.signer_cert_pem),
            None,
            serialization.BestAvailableEncryption(b'right'),
        )
        signer_before = self.certificates._current('signer')
        settings = self.env['res.config.settings'].create(
            {
                'cloudstamp_pkcs12_file': base64.b64encode(p12),
                'cloudstamp_pkcs12_password': 'wrong',
            }
        )
        with self.assertRaises(UserError):
            settings.execute()
        self.assertEqual(self.certificates._current('signer'), signer_before)

    def test_external_tsa_over_http_with_basic_auth(self):
        tsa_identity = self.certificates._identity('tsa')
        with Rfc3161HttpServer(tsa_identity, username='odoo', password='タイム') as server:
            self.env['res.config.settings'].create(
                {
                    'cloudstamp_tsa_url': server.url,
                    'cloudstamp_tsa_username': 'odoo',
                    'cloudstamp_tsa_password': 'タイム',
                }
            ).execute()
            data = self.sign_round()
            self.assertEqual(server.request_count, 2)
        self.assertEqual(self.service._verify_pdf(data).verdict, Verdict.VALID)
        # the TSA is gone: signing fails cleanly instead of signing without a timestamp
        with self.assertRaises(UserError):
            self.service._sign_pdf(self.pdf, self.env.company, 'a@example.jp', 'send')

    def test_preflight_limits_come_from_settings_and_speak_japanese(self):
        self.env['res.lang']._activate_lang('ja_JP')
        self.env['res.config.settings'].create({'cloudstamp_max_file_mb': 0.5}).execute()
        big = contract_pdf(padding_bytes=600 * 1024)
        with self.assertRaisesRegex(UserError, '0.5 MB'):
            self.service._preflight_files([('big.pdf', big)])
        with self.assertRaisesRegex(UserError, '1ファイルあたりの上限'):
            self.service.with_context(lang='ja_JP')._preflight_files([('big.pdf', big)])
        accepted = self.service._preflight_files([('ok.pdf', self.pdf)])
        self.assertEqual(accepted[0].page_count, 1)

    def test_verify_wizard_reports_each_signature(self):
        data = self.sign_round()
        wizard = self.env['cloudstamp.verify.wizard'].create(
            {'pdf_file': base64.b64encode(data), 'pdf_filename': 'signed.pdf'}
        )
        wizard.action_verify()
        self.assertEqual(wizard.verdict, 'valid')
        self.assertIn('buyer@partner.example', wizard.report_html)
        tampered = data.replace(b'/F1', b'/F2', 1)
        wizard.write({'pdf_file': base64.b64encode(tampered)})
        wizard.action_verify()
        self.assertEqual(wizard.verdict, 'invalid')

    def test_the_settings_form_shows_the_current_certificate(self):
        # What the web client asks for when it opens the settings form
        spec = {'company_id': {}, 'cloudstamp_signer_subject': {}, 'cloudstamp_root_fingerprint': {}}
        values = self.env['res.config.settings'].onchange({}, [], spec)['value']
        self.assertEqual(values['cloudstamp_signer_subject'], self.certificates._current('signer').subject)
        self.assertEqual(values['cloudstamp_root_fingerprint'], self.certificates._current('root').sha256_fingerprint)
