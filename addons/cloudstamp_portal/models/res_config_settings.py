from odoo import fields, models


class ResConfigSettings(models.TransientModel):
    _inherit = 'res.config.settings'

    cloudstamp_link_days = fields.Integer(
        'Link validity (days)', related='company_id.cloudstamp_link_days', readonly=False
    )
    cloudstamp_terms = fields.Html('Terms of use', related='company_id.cloudstamp_terms', readonly=False)
