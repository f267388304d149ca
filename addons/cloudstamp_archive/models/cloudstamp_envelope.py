from odoo import fields, models

# The document a send was prepared from (a quotation, an order, an invoice):
# set by the agreement mixin's action, never by a user.
ORIGIN_FIELDS = ('origin_model', 'origin_id')


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
    contract_tag_ids = fields.Many2many('cloudstamp.contract.tag', string='Contract Tags', check_company=True)
    contract_auto_renew = fields.Boolean('Renews Automatically')
    contract_renewal_months = fields.Integer('Renewal Term (months)', default=12)
    origin_model = fields.Char('Prepared From (model)', readonly=True, copy=False)
    origin_id = fields.Many2oneReference('Prepared From (id)', model_field='origin_model', readonly=True, copy=False)
    origin_name = fields.Char('Prepared From', compute='_compute_origin_name')

    def _get_workflow_fields(self):
        return super()._get_workflow_fields() + ORIGIN_FIELDS

    def _compute_origin_name(self):
        for envelope in self:
            origin = envelope._origin_record()
            envelope.origin_name = origin and origin._filtered_access('read').display_name

    def _origin_record(self):
        """The document this send was prepared from, or None."""
        self.ensure_one()
        if not self.origin_model or self.origin_model not in self.env:
            return None
        return self.env[self.origin_model].browse(self.origin_id).exists() or None

    def action_open_origin(self):
        self.ensure_one()
        origin = self._origin_record()
        if not origin:
            return False
        origin.check_access('read')
        return {'type': 'ir.actions.act_window', 'res_model': origin._name, 'res_id': origin.id, 'view_mode': 'form'}

    def _action_completed(self):
        result = super()._action_completed()
        contract = self.env['cloudstamp.contract']._file_from_envelope(self)
        origin = self._origin_record()
        if origin:
            origin._cloudstamp_file_agreement(self, contract)
        return result

    def _end_round(self, state, recipient, details, request_info=None, actor=None):
        result = super()._end_round(state, recipient, details, request_info=request_info, actor=actor)
        origin = self._origin_record()
        if origin and state in ('declined', 'revision'):
            origin._cloudstamp_round_ended(self, state, details.get('reason') or details.get('comment') or '')
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
