from odoo import api, fields, models
from odoo.exceptions import AccessError


class CloudStampContractExport(models.TransientModel):
    """Download contracts as one ZIP: the selected ones, or every one
    (archived included), for instance before cancelling the service."""

    _name = 'cloudstamp.contract.export'
    _description = 'Download Contracts'

    scope = fields.Selection(
        [('selected', 'Selected contracts'), ('all', 'All contracts, archived included')],
        required=True,
        default=lambda self: 'selected' if self._default_contract_ids() else 'all',
    )
    contract_ids = fields.Many2many(
        'cloudstamp.contract', string='Contracts', default=lambda self: self._default_contract_ids()
    )
    contract_count = fields.Integer(compute='_compute_contract_count')

    @api.model
    def _default_contract_ids(self):
        if self.env.context.get('active_model') == 'cloudstamp.contract':
            return self.env['cloudstamp.contract'].browse(self.env.context.get('active_ids') or [])
        return self.env['cloudstamp.contract']

    @api.depends('scope', 'contract_ids')
    def _compute_contract_count(self):
        for export in self:
            export.contract_count = len(export._contracts())

    def _contracts(self):
        """The contracts to download, as the user's access rules allow."""
        self.ensure_one()
        Contract = self.env['cloudstamp.contract'].with_context(active_test=False)
        if self.scope == 'all':
            # Every contract is the point ("before cancelling the service");
            # the download reads them in batches.
            return Contract.search([], order='id')  # pylint: disable=no-search-all
        return Contract.search([('id', 'in', self.contract_ids.ids)], order='id')

    @api.model
    def _check_may_export(self):
        if not self.env.user.has_group('cloudstamp_sign.group_cloudstamp_manager'):
            raise AccessError(self.env._('Only CloudStamp administrators download the contract archive.'))

    def action_download(self):
        self.ensure_one()
        self._check_may_export()
        return {'type': 'ir.actions.act_url', 'url': f'/cloudstamp/archive/export/{self.id}', 'target': 'self'}
