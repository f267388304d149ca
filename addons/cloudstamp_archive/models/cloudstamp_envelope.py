from odoo import fields, models


class CloudStampEnvelope(models.Model):
    """What the sender may already say about the contract, and where it is filed."""

    _inherit = 'cloudstamp.envelope'

    contract_ids = fields.One2many('cloudstamp.contract', 'envelope_id', 'Contracts', readonly=True)
    contract_partner_id = fields.Many2one('res.partner', 'Counterparty', check_company=True)
    contract_type_id = fields.Many2one('cloudstamp.contract.type')
    contract_transaction_date = fields.Date('Transaction Date')
    contract_currency_id = fields.Many2one(
        'res.currency', 'Currency', default=lambda self: self.env.company.currency_id
    )
    contract_amount = fields.Monetary('Amount', currency_field='contract_currency_id')
    contract_date_start = fields.Date('Contract Start')
    contract_date_end = fields.Date('Contract End')

    def _action_completed(self):
        result = super()._action_completed()
        self.env['cloudstamp.contract']._file_from_envelope(self)
        return result

    def action_view_contract(self):
        self.ensure_one()
        self.check_access('read')
        return {
            'type': 'ir.actions.act_window',
            'res_model': 'cloudstamp.contract',
            'res_id': self.contract_ids[:1].id,
            'view_mode': 'form',
        }
