from odoo import fields, models


class CloudStampContract(models.Model):
    _inherit = 'cloudstamp.contract'

    sale_order_ids = fields.Many2many(
        'sale.order',
        'cloudstamp_contract_sale_order_rel',
        'contract_id',
        'order_id',
        string='Sales Orders',
        copy=False,
        tracking=True,
        groups='sales_team.group_sale_salesman',
    )
    sale_order_count = fields.Integer(compute='_compute_sale_order_count', groups='sales_team.group_sale_salesman')

    def _compute_sale_order_count(self):
        for contract in self:
            contract.sale_order_count = len(contract.sale_order_ids)

    def _linked_fields(self):
        return super()._linked_fields() + ['sale_order_ids']

    def action_view_sale_orders(self):
        return self._action_view_linked('sale_order_ids', 'sale.action_orders')
