from odoo import Command, fields, models

# What a template sets on each send, and what the send files on its contract.
TEMPLATE_DEFAULTS = ('contract_type_id', 'contract_tag_ids', 'contract_auto_renew', 'contract_renewal_months')


class CloudStampTemplate(models.Model):
    """The archive's defaults for every send made from a template."""

    _inherit = 'cloudstamp.template'

    contract_type_id = fields.Many2one('cloudstamp.contract.type', check_company=True)
    contract_tag_ids = fields.Many2many('cloudstamp.contract.tag', string='Contract Tags', check_company=True)
    contract_auto_renew = fields.Boolean('Renews Automatically')
    contract_renewal_months = fields.Integer('Renewal Term (months)', default=12)

    def _prepare_envelope_values(self, assignments):
        vals = super()._prepare_envelope_values(assignments)
        vals.update(
            contract_type_id=self.contract_type_id.id,
            contract_tag_ids=[Command.set(self.contract_tag_ids.ids)],
            contract_auto_renew=self.contract_auto_renew,
            contract_renewal_months=self.contract_renewal_months,
        )
        return vals
