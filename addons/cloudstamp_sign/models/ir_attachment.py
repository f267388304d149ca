from odoo import api, models
from odoo.exceptions import AccessError

# Files that are evidence: the uploads, the signed PDFs and the certificate
# of agreement are stored as field attachments of these models.
EVIDENCE_MODELS = ('cloudstamp.envelope.file', 'cloudstamp.envelope')


class IrAttachment(models.Model):
    _inherit = 'ir.attachment'

    @api.model_create_multi
    def create(self, vals_list):
        if not self.env.su and any(self._is_cloudstamp_evidence(vals) for vals in vals_list):
            self._refuse_cloudstamp_evidence()
        return super().create(vals_list)

    def write(self, vals):
        if not self.env.su and (self._holds_cloudstamp_evidence() or self._holds_cloudstamp_evidence(vals)):
            self._refuse_cloudstamp_evidence()
        return super().write(vals)

    def unlink(self):
        if not self.env.su and self._holds_cloudstamp_evidence():
            self._refuse_cloudstamp_evidence()
        return super().unlink()

    @api.model
    def _is_cloudstamp_evidence(self, vals):
        return vals.get('res_model') in EVIDENCE_MODELS and bool(vals.get('res_field'))

    def _holds_cloudstamp_evidence(self, changes=None):
        """Whether any of these attachments is evidence, or would be after ``changes``."""
        changes = changes or {}
        return any(
            self._is_cloudstamp_evidence(
                {
                    'res_model': changes.get('res_model', attachment.res_model),
                    'res_field': changes.get('res_field', attachment.res_field),
                }
            )
            for attachment in self.sudo()
        )

    @api.model
    def _refuse_cloudstamp_evidence(self):
        # The ORM writes these files with sudo (Binary fields do); nobody else may.
        raise AccessError(self.env._('CloudStamp documents are evidence: only the CloudStamp workflow stores them.'))
