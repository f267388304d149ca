from odoo import fields, models


class ResConfigSettings(models.TransientModel):
    _inherit = 'res.config.settings'

    cloudstamp_confirm_quotation = fields.Boolean(related='company_id.cloudstamp_confirm_quotation', readonly=False)
