from odoo import fields, models


class ResCompany(models.Model):
    _inherit = 'res.company'

    cloudstamp_renewal_notice_days = fields.Integer(
        'CloudStamp Renewal Notice (days)',
        default=30,
        help='Contract managers are warned this many days before a notice deadline or an end date.',
    )
    cloudstamp_retention_years = fields.Integer(
        'CloudStamp Retention (years)',
        default=7,
        help='A contract cannot be deleted until this many years after its transaction date '
        '(the Electronic Bookkeeping Act keeps transaction records for seven years).',
    )

    cloudstamp_post_agreed_pdf = fields.Boolean(
        'CloudStamp: Post Agreed PDFs',
        default=True,
        help='When a send prepared from an order or invoice is agreed, post its signed PDFs and '
        "certificate of agreement in that record's chatter.",
    )

    _sql_constraints = [
        (
            'cloudstamp_renewal_notice_days_positive',
            'CHECK(cloudstamp_renewal_notice_days > 0)',
            'Renewal notices need at least one day.',
        ),
        (
            'cloudstamp_retention_years_minimum',
            'CHECK(cloudstamp_retention_years >= 7)',
            'Contracts must be kept at least seven years.',
        ),
    ]
