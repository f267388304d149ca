from odoo import fields, models


class CloudStampContract(models.Model):
    _inherit = 'cloudstamp.contract'

    purchase_order_ids = fields.Many2many(
        'purchase.order',
        'cloudstamp_contract_purchase_order_rel',
        'contract_id',
        'order_id',
        string='Purchase Orders',
        copy=False,
        tracking=True,
        groups='purchase.group_purchase_user',
    )
    purchase_order_count = fields.Integer(
        compute='_compute_purchase_order_count', groups='purchase.group_purchase_user'
    )

    def _compute_purchase_order_count(self):
        for contract in self:
            contract.purchase_order_count = len(contract.purchase_order_ids)

    def _linked_fields(self):
        return super()._linked_fields() + ['purchase_order_ids']

    def action_view_purchase_orders(self):
        return self._action_view_linked('purchase_order_ids', 'purchase.purchase_form_action')
