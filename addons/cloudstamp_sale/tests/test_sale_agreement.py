import shutil

from odoo import Command
from odoo.tests import tagged

from odoo.addons.cloudstamp_archive.tests.agreement_common import AgreementFlowCase

BROWSERS = ('chromium', 'google-chrome', 'chromium-browser')


@tagged('post_install', '-at_install')
class TestSaleAgreement(AgreementFlowCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.salesperson = cls.new_user(
            'sales.rep@cloudstamp.example', 'sales_team.group_sale_salesman,cloudstamp_sign.group_cloudstamp_user'
        )

    def quotation(self):
        return (
            self.env['sale.order']
            .with_user(self.salesperson)
            .create(
                {
                    'partner_id': self.partner.id,
                    'order_line': [Command.create({'product_id': self.product.id, 'product_uom_qty': 3})],
                }
            )
        )

    def test_a_quotation_agreed_by_the_customer_is_confirmed_linked_and_filed(self):
        order = self.quotation()
        envelope = self.send_from(order, self.salesperson)
        contract = self.agree(envelope)
        self.assertEqual(order.state, 'sale', 'the agreement confirms the quotation')
        self.assert_filed_from(contract, order, order.date_order.date(), order.amount_total)
        self.assertEqual(order.with_user(self.salesperson).cloudstamp_contract_count, 1)
        action = order.with_user(self.salesperson).action_view_cloudstamp_contracts()
        self.assertEqual(action['res_id'], contract.id)
        self.assertEqual(contract.with_user(self.salesperson).sale_order_ids, order)
        self.assertIn(order.name, ' '.join(contract.sudo().message_ids.mapped('body')), 'the link is in both chatters')

    def test_without_the_setting_the_quotation_stays_a_quotation(self):
        self.env.company.cloudstamp_confirm_quotation = False
        order = self.quotation()
        self.agree(self.send_from(order, self.salesperson))
        self.assertEqual(order.state, 'draft')
        self.assertTrue(order.sudo().cloudstamp_contract_ids)

    def test_a_decline_is_a_to_do_on_the_quotation_with_the_reason(self):
        order = self.quotation()
        self.decline(self.send_from(order, self.salesperson), '単価が違います')
        activity = order.sudo().activity_ids
        self.assertEqual(activity.user_id, self.salesperson)
        self.assertIn('単価が違います', activity.summary)
        self.assertFalse(order.sudo().cloudstamp_contract_ids)

    def test_links_from_either_side_are_in_both_chatters(self):
        reader = self.new_user(
            'accounting@cloudstamp.example',
            'cloudstamp_archive.group_cloudstamp_contract_reader,sales_team.group_sale_salesman_all_leads',
        )
        order = self.quotation()
        contract = self.agree(self.send_from(self.quotation(), self.salesperson))
        contract.with_user(reader).write({'sale_order_ids': [Command.link(order.id)]})
        self.assertIn(contract, order.sudo().cloudstamp_contract_ids)
        note = order.sudo().message_ids.filtered(lambda m: contract.name in m.body)[:1]
        self.assertIn('<a href', note.body, 'a link to the contract, not escaped HTML')
        order.with_user(reader).write({'cloudstamp_contract_ids': [Command.unlink(contract.id)]})
        self.assertNotIn(order, contract.sale_order_ids)
        self.assertIn('Unlinked', ' '.join(contract.sudo().message_ids.mapped('body')))
        Order = self.env['sale.order'].with_user(reader)
        self.assertIn(order, Order.search([('cloudstamp_contract_ids', '=', False)]))

    def test_a_salesperson_sends_from_the_quotation_in_chromium(self):
        self.assertTrue(any(shutil.which(b) for b in BROWSERS), 'no Chromium on PATH: run `make setup`')
        order = self.quotation()
        self.salesperson.password = 'sales-rep-password'
        self.start_tour(f'/odoo/sales/{order.id}', 'cloudstamp_sale_send_tour', login=self.salesperson.login)
        envelope = self.env['cloudstamp.envelope'].search(
            [('origin_model', '=', 'sale.order'), ('origin_id', '=', order.id)]
        )
        self.assertEqual(envelope.state, 'sent')
        contract = self.agree(envelope)
        self.start_tour(f'/odoo/sales/{order.id}', 'cloudstamp_sale_contract_tour', login=self.salesperson.login)
        self.assertTrue(contract)
