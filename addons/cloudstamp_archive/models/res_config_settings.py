from odoo import fields, models


class ResConfigSettings(models.TransientModel):
    _inherit = 'res.config.settings'

    cloudstamp_renewal_notice_days = fields.Integer(
        'Renewal notice (days)', related='company_id.cloudstamp_renewal_notice_days', readonly=False
    )
    cloudstamp_retention_years = fields.Integer(
        'Retention (years)', related='company_id.cloudstamp_retention_years', readonly=False
    )
    cloudstamp_post_agreed_pdf = fields.Boolean(related='company_id.cloudstamp_post_agreed_pdf', readonly=False)
