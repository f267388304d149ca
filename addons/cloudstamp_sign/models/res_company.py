from odoo import fields, models


class ResCompany(models.Model):
    _inherit = 'res.company'

    cloudstamp_expiry_days = fields.Integer(
        'CloudStamp Default Expiry (days)',
        default=10,
        help='New documents expire this many days after they are prepared, unless the sender changes it.',
    )
    cloudstamp_remind_after_days = fields.Integer(
        'CloudStamp Remind After (days)',
        default=3,
        help='The reminder job mails a new link to a recipient who has not acted for this long.',
    )
    cloudstamp_evidence_renewal_days = fields.Integer(
        'CloudStamp Evidence Renewal Period (days)',
        default=0,
        help='Renew the archive timestamps of completed documents at least this often. '
        '0: only shortly before the certificate of the time stamping authority expires.',
    )

    _sql_constraints = [
        (
            'cloudstamp_evidence_renewal_days_not_negative',
            'CHECK(cloudstamp_evidence_renewal_days >= 0)',
            'The evidence renewal period cannot be negative.',
        ),
        (
            'cloudstamp_expiry_days_positive',
            'CHECK(cloudstamp_expiry_days > 0)',
            'The default expiry must be at least one day.',
        ),
        (
            'cloudstamp_remind_after_days_positive',
            'CHECK(cloudstamp_remind_after_days > 0)',
            'Reminders need a delay of at least one day.',
        ),
    ]
