from odoo import fields, models


class CloudStampContract(models.Model):
    _inherit = 'cloudstamp.contract'

    invoice_ids = fields.Many2many(
        'account.move',
        'cloudstamp_contract_account_move_rel',
        'contract_id',
        'move_id',
        string='Invoices and Bills',
        copy=False,
        tracking=True,
        domain=[('move_type', 'in', ('out_invoice', 'out_refund', 'in_invoice', 'in_refund'))],
        groups='account.group_account_invoice',
    )
    invoice_count = fields.Integer(compute='_compute_invoice_count', groups='account.group_account_invoice')

    def _compute_invoice_count(self):
        for contract in self:
            contract.invoice_count = len(contract.invoice_ids)

    def _linked_fields(self):
        return super()._linked_fields() + ['invoice_ids']

    def action_view_invoices(self):
        return self._action_view_linked('invoice_ids', 'account.action_move_out_invoice_type')
