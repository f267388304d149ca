"""The signing key in a PKCS#11 token (SoftHSM2): set in the settings, a
whole send-to-completion flow signs through it, and the key never leaves."""

from datetime import UTC, datetime, timedelta
from io import BytesIO
from unittest.mock import patch

from pkcs11 import Attribute
from pkcs11.exceptions import AttributeSensitive
from pyhanko.pdf_utils.reader import PdfFileReader

from odoo.exceptions import UserError
from odoo.tests import tagged
from odoo.tools import config

from cloudstamp_engine import TokenSession, validate_lta
from cloudstamp_engine_testing.checkers import assert_pdfsig_accepts
from cloudstamp_engine_testing.softhsm import new_token

from .common import CloudStampCase, finalize, make_envelope, ready_to_agree


def signer_fingerprints(data):
    return [
        signature.signer_cert.sha256.hex()
        for signature in PdfFileReader(BytesIO(data)).embedded_signatures
        if signature.sig_object.get('/Type') != '/DocTimeStamp'
    ]


@tagged('post_install', '-at_install')
class TestPkcs11Signing(CloudStampCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.token = new_token()
        with TokenSession(cls.token, read_write=True) as session:
            cls.public_key = session.generate_key()

    def setUp(self):
        super().setUp()
        # The server's operator allows this module (odoo.conf cloudstamp_pkcs11_modules).
        self.enterContext(patch.dict(config.options, {'cloudstamp_pkcs11_modules': self.token.module_path}))
        self.env['cloudstamp.signing.service']._forget_signer(self.env.company)
        self.addCleanup(self.env['cloudstamp.signing.service']._forget_signer, self.env.company)

    def save_settings(self, **values):
        settings = self.env['res.config.settings'].create(
            {
                'cloudstamp_pkcs11_module': self.token.module_path,
                'cloudstamp_pkcs11_token_label': self.token.token_label,
                'cloudstamp_pkcs11_key_label': self.token.key_label,
                'cloudstamp_pkcs11_pin': self.token.pin,
                **values,
            }
        )
        settings.execute()
        return settings

    def test_a_whole_flow_signs_through_the_token(self):
        self.save_settings()
        signer = self.certificates._current('signer')
        self.assertEqual(signer.key_storage, 'pkcs11')
        self.assertFalse(signer.private_key_ciphertext, 'no key in the database')
        self.assertNotIn(self.token.pin, signer.pkcs11_pin_ciphertext)
        self.assertEqual(self.env['res.config.settings'].create({}).cloudstamp_signer_key_storage, 'PKCS#11 token')

        recipient = ready_to_agree(make_envelope(self.env))
        recipient._action_agree()
        finalize(self.env)
        envelope = recipient.envelope_id
        self.assertEqual(envelope.state, 'completed')
        data = envelope.file_ids._current_pdf()
        # send and agree: both made by the token's key, certified by the company's CA
        self.assertEqual(signer_fingerprints(data), [signer.sha256_fingerprint] * 2)
        roots = self.certificates._trust_roots()
        self.assertEqual([s.passed for s in validate_lta(data, roots, datetime.now(UTC))], [True, True])
        assert_pdfsig_accepts(data, self.root_pem, expected_count=3, document_timestamps=1)
        certificate = self.service._verify_pdf(envelope._agreement_certificate_pdf())
        self.assertTrue(certificate.is_valid, certificate.problems)

        with TokenSession(self.token) as session:
            key = session.private_key()
            self.assertFalse(key[Attribute.EXTRACTABLE])
            with self.assertRaises(AttributeSensitive):
                key[Attribute.PRIVATE_EXPONENT]

    def test_rotation_makes_a_new_key_in_the_same_token(self):
        self.save_settings()
        first = self.certificates._current('signer')
        later = datetime.now() + timedelta(days=3650)
        with patch('odoo.fields.Datetime.now', return_value=later):
            self.certificates._rotate_expiring(self.env.company)
        second = self.certificates._current('signer')
        self.assertNotEqual(second, first)
        self.assertEqual(second.key_storage, 'pkcs11')
        self.assertNotEqual(second.pkcs11_key_label, first.pkcs11_key_label)
        signed = self.sign_round()
        self.assertEqual(signer_fingerprints(signed), [second.sha256_fingerprint] * 2)

    def test_a_wrong_pin_or_an_unlisted_module_changes_nothing(self):
        self.save_settings()
        before = self.certificates._current('signer')
        # The signer's session is open and logged in: a PIN saved now is still checked
        self.sign_round()
        with self.assertRaises(UserError) as caught:
            self.save_settings(cloudstamp_pkcs11_pin='0000-wrong')
        self.assertNotIn('0000-wrong', str(caught.exception))
        with patch.dict(config.options, {'cloudstamp_pkcs11_modules': ''}), self.assertRaises(UserError):
            self.save_settings()
        self.assertEqual(self.certificates._current('signer'), before)
        self.assertEqual(len(signer_fingerprints(self.sign_round())), 2, 'and signing goes on')
