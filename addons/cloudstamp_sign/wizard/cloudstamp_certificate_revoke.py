from odoo import api, fields, models
from odoo.exceptions import AccessError

from cloudstamp_engine import RevocationReason

from ..models.cloudstamp_pki_certificate import REVOCATION_REASONS


class CloudStampCertificateRevoke(models.TransientModel):
    """Revoke the company's own signing certificate (a key that may have
    leaked, a company that ceased operating): its CRL lists it from now on,
    and new signatures use a new certificate."""

    _name = 'cloudstamp.certificate.revoke'
    _description = 'Revoke the CloudStamp Signing Certificate'

    company_id = fields.Many2one('res.company', required=True, default=lambda self: self.env.company, readonly=True)
    signer_subject = fields.Char('Certificate', compute='_compute_signer')
    signer_serial = fields.Char('Serial Number', compute='_compute_signer')
    reason = fields.Selection(
        selection=REVOCATION_REASONS,
        required=True,
        default=RevocationReason.KEY_COMPROMISE.value,
    )
    compromised_since = fields.Datetime(
        'Revoked Since',
        required=True,
        default=fields.Datetime.now,
        help='Signatures made with this certificate after this time fail validation. For a key that may have '
        'leaked, the earliest time it may have leaked.',
    )

    @api.depends('company_id')
    def _compute_signer(self):
        for wizard in self:
            signer = self.env['cloudstamp.pki.certificate']._current('signer', wizard.company_id)
            wizard.signer_subject = signer.subject
            wizard.signer_serial = signer.serial_number

    def action_revoke(self):
        self.ensure_one()
        # The access rights already keep others out; this is the evidence's own guard.
        if not self.env.user.has_group('base.group_system'):
            raise AccessError(self.env._('Only administrators may revoke the signing certificate.'))
        self.env['cloudstamp.pki.certificate']._revoke_signer(self.company_id, self.reason, self.compromised_since)
        return {
            'type': 'ir.actions.client',
            'tag': 'display_notification',
            'params': {
                'message': self.env._(
                    'The signing certificate was revoked. New signatures use a new certificate; '
                    'archive timestamps renewed from now on carry the revocation.'
                ),
                'type': 'warning',
                'sticky': True,
                'next': {'type': 'ir.actions.act_window_close'},
            },
        }
