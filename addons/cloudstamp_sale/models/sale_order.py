from odoo import fields, models


class SaleOrder(models.Model):
    _name = 'sale.order'
    _inherit = ['sale.order', 'cloudstamp.agreement.mixin']

    cloudstamp_contract_ids = fields.Many2many(
        'cloudstamp.contract',
        'cloudstamp_contract_sale_order_rel',
        'order_id',
        'contract_id',
        string='Contracts',
        copy=False,
        tracking=True,
        groups='cloudstamp_sign.group_cloudstamp_user,cloudstamp_archive.group_cloudstamp_contract_reader',
    )

    def _cloudstamp_report(self):
        return self.env.ref('sale.action_report_saleorder')

    def _cloudstamp_agreement_values(self):
        return {
            'partner': self.partner_id,
            'transaction_date': self.date_order and self.date_order.date(),
            'amount': self.amount_total,
            'currency': self.currency_id,
            'user': self.user_id,
        }

    def _cloudstamp_agreed(self, contract):
        # As Odoo's own online signature does: the customer's agreement confirms the quotation.
        if self.company_id.cloudstamp_confirm_quotation and self.state in ('draft', 'sent'):
            self.sudo().with_context(send_email=False).action_confirm()
