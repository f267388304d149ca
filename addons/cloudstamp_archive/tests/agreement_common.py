"""Shared by the bridges' tests (cloudstamp_sale, _purchase, _account): a
document sent for agreement from its own button, walked by its partner
through the recipient pages over HTTP, mail over real SMTP."""

import base64

from odoo.tests import new_test_user

from odoo.addons.cloudstamp_portal.tests.common import CloudStampFlowCase


class AgreementFlowCase(CloudStampFlowCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.partner = cls.env['res.partner'].create(
            {'name': '株式会社ヤマダ商会', 'email': 'yamada@client.example', 'lang': 'ja_JP', 'is_company': True}
        )
        # wkhtmltopdf fetches the report's stylesheets over HTTP; the test
        # server would wait on the test's own cursor. A closed port fails at
        # once and the PDF is printed unstyled.
        cls.env['ir.config_parameter'].set_param('report.url', 'http://127.0.0.1:9')
        cls.product = cls.env['product.product'].create(
            {'name': '保守サービス', 'list_price': 120_000, 'standard_price': 80_000}
        )

    @classmethod
    def new_user(cls, login, groups):
        return new_test_user(cls.env, login, email=login, groups=groups, tz='Asia/Tokyo')

    def send_from(self, record, user):
        """Press "Send for Agreement" as ``user``, then Send: the envelope."""
        action = record.with_user(user).action_cloudstamp_send_for_agreement()
        envelope = self.env['cloudstamp.envelope'].browse(action['res_id'])
        pdf = base64.b64decode(envelope.file_ids.original_file)
        self.assertTrue(pdf.startswith(b'%PDF-'), "the record's own report, printed to PDF")
        self.assertEqual(
            (envelope.name, envelope.lang, envelope.recipient_ids.email, envelope.recipient_ids.lang),
            (record.display_name, 'ja_JP', self.partner.email, 'ja_JP'),
        )
        envelope.with_user(user).action_send()
        return envelope

    def agree(self, envelope):
        """The partner opens the mailed link, accepts the terms and agrees."""
        token = self.new_link(self.partner.email)
        self.open_documents(token)
        self.post(token, 'agree')
        self.finalize()
        self.assertEqual(envelope.state, 'completed')
        return envelope.contract_ids

    def decline(self, envelope, reason):
        token = self.new_link(self.partner.email)
        self.open_documents(token)
        self.post(token, 'decline', {'reason': reason})
        self.assertEqual(envelope.state, 'declined')

    def assert_filed_from(self, contract, record, transaction_date, amount):
        """The contract of an agreed send: linked both ways, with the
        record's date, total and partner as confirmed metadata."""
        self.assertEqual(len(contract), 1)
        self.assertEqual(contract.sudo().envelope_id.origin_id, record.id)
        self.assertIn(contract, record.sudo().cloudstamp_contract_ids)
        self.assertEqual(
            (contract.partner_id, contract.transaction_date, contract.amount, contract.currency_id),
            (self.partner, transaction_date, amount, record.currency_id),
        )
        self.assertFalse(contract.has_suggestions, 'confirmed values leave nothing to suggest')
        bodies = ' '.join(record.sudo().message_ids.mapped('body'))
        self.assertIn(contract.name, bodies)
        signed = record.sudo().message_ids.attachment_ids.filtered(lambda a: a.mimetype == 'application/pdf')
        self.assertTrue(signed, 'the agreed PDFs are posted in the chatter')
        report = self.service._verify_pdf(signed.sorted('id')[0].raw)
        self.assertTrue(report.is_valid, report.problems)
