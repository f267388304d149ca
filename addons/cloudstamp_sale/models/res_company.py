from odoo import fields, models


class ResCompany(models.Model):
    _inherit = 'res.company'

    cloudstamp_confirm_quotation = fields.Boolean(
        'CloudStamp: Confirm Agreed Quotations',
        default=True,
        help='When the customer agrees to a quotation sent with CloudStamp, confirm it as a sales order.',
    )
