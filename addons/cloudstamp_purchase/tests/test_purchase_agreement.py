from odoo import Command
from odoo.exceptions import AccessError
from odoo.tests import tagged

from odoo.addons.cloudstamp_archive.tests.agreement_common import AgreementFlowCase


@tagged('post_install', '-at_install')
class TestPurchaseAgreement(AgreementFlowCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.buyer = cls.new_user(
            'buyer@cloudstamp.example', 'purchase.group_purchase_user,cloudstamp_sign.group_cloudstamp_user'
        )

    def purchase_order(self):
        return (
            self.env['purchase.order']
            .with_user(self.buyer)
            .create(
                {
                    'partner_id': self.partner.id,
                    'order_line': [
                        Command.create({'product_id': self.product.id, 'product_qty': 5, 'price_unit': 80_000})
                    ],
                }
            )
        )

    def test_a_purchase_order_agreed_by_the_vendor_is_linked_and_filed(self):
        order = self.purchase_order()
        order.button_confirm()
        envelope = self.send_from(order, self.buyer)
        self.assertEqual(envelope.file_ids.name, f'{order.name}.pdf')
        contract = self.agree(envelope)
        self.assert_filed_from(contract, order, order.date_order.date(), order.amount_total)
        self.assertEqual(contract.with_user(self.buyer).purchase_order_ids, order)
        self.assertEqual(order.with_user(self.buyer).cloudstamp_contract_count, 1)

    def test_a_revision_request_is_a_to_do_for_the_buyer(self):
        order = self.purchase_order()
        envelope = self.send_from(order, self.buyer)
        token = self.new_link(self.partner.email)
        self.open_documents(token)
        self.post(token, 'revision', {'comment': '納期を翌月にしてください'})
        self.assertEqual(envelope.state, 'revision')
        self.assertEqual(order.sudo().activity_ids.user_id, self.buyer)
        self.assertIn('納期を翌月にしてください', order.sudo().activity_ids.summary)

    def test_a_salesperson_sees_no_purchase_link_from_a_contract(self):
        order = self.purchase_order()
        contract = self.agree(self.send_from(order, self.buyer))
        salesperson = self.new_user(
            'seller@cloudstamp.example',
            'sales_team.group_sale_salesman,cloudstamp_archive.group_cloudstamp_contract_reader',
        )
        as_salesperson = contract.with_user(salesperson)
        self.assertEqual(as_salesperson.name, contract.name, 'the contract itself is visible to a reader')
        with self.assertRaises(AccessError):
            as_salesperson.read(['purchase_order_ids'])
        fields_shown = as_salesperson.fields_get()
        self.assertNotIn('purchase_order_ids', fields_shown)
        self.assertNotIn('purchase_order_count', fields_shown)
        arch = as_salesperson.get_views([(False, 'form')])['views']['form']['arch']
        self.assertNotIn('purchase_order_ids', arch)
