from odoo import fields, models


class PurchaseOrder(models.Model):
    _name = 'purchase.order'
    _inherit = ['purchase.order', 'cloudstamp.agreement.mixin']

    cloudstamp_contract_ids = fields.Many2many(
        'cloudstamp.contract',
        'cloudstamp_contract_purchase_order_rel',
        'order_id',
        'contract_id',
        string='Contracts',
        copy=False,
        tracking=True,
        groups='cloudstamp_sign.group_cloudstamp_user,cloudstamp_archive.group_cloudstamp_contract_reader',
    )

    def _cloudstamp_report(self):
        # An RFQ prints as a request for quotation, an order as a purchase order.
        if self.state in ('draft', 'sent', 'to approve'):
            return self.env.ref('purchase.report_purchase_quotation')
        return self.env.ref('purchase.action_report_purchase_order')

    def _cloudstamp_agreement_values(self):
        return {
            'partner': self.partner_id,
            'transaction_date': self.date_order and self.date_order.date(),
            'amount': self.amount_total,
            'currency': self.currency_id,
            'user': self.user_id,
        }
