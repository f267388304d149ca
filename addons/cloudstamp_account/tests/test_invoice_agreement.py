from datetime import date

from odoo import Command
from odoo.tests import tagged

from odoo.addons.cloudstamp_archive.tests.agreement_common import AgreementFlowCase


@tagged('post_install', '-at_install')
class TestInvoiceAgreement(AgreementFlowCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.accountant = cls.new_user(
            'billing@cloudstamp.example', 'account.group_account_invoice,cloudstamp_sign.group_cloudstamp_user'
        )

    def bill(self):
        return (
            self.env['account.move']
            .with_user(self.accountant)
            .create(
                {
                    'move_type': 'in_invoice',
                    'partner_id': self.partner.id,
                    'invoice_date': date(2026, 11, 20),
                    'invoice_line_ids': [
                        Command.create({'product_id': self.product.id, 'quantity': 2, 'price_unit': 55_000})
                    ],
                }
            )
        )

    def test_a_vendor_bill_agreed_by_the_vendor_is_linked_and_filed(self):
        bill = self.bill()
        contract = self.agree(self.send_from(bill, self.accountant))
        self.assert_filed_from(contract, bill, date(2026, 11, 20), bill.amount_total)
        self.assertEqual(contract.with_user(self.accountant).invoice_ids, bill)
        Move = self.env['account.move'].with_user(self.accountant)
        self.assertIn(bill, Move.search([('cloudstamp_contract_ids', '!=', False)]))

    def test_only_invoices_are_sent_for_agreement(self):
        arch = self.env['account.move'].get_views([(False, 'form')])['views']['form']['arch']
        self.assertIn('action_cloudstamp_send_for_agreement', arch)
        self.assertIn("move_type not in ('out_invoice', 'out_refund', 'in_invoice', 'in_refund')", arch)
