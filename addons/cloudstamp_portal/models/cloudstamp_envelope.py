from odoo import models
from odoo.exceptions import UserError


class CloudStampEnvelope(models.Model):
    """The page where a sender places their own seal lives with the other
    pdf.js pages, here."""

    _inherit = 'cloudstamp.envelope'

    def action_place_seal(self):
        """Open the page where the sender clicks the spot for their seal."""
        self.ensure_one()
        self._check_sender_access()
        if self.state != 'draft':
            raise UserError(self.env._('The seal can only be placed while the document is a draft.'))
        if not self.file_ids:
            raise UserError(self.env._('Add at least one PDF.'))
        return {'type': 'ir.actions.act_url', 'url': f'/cloudstamp/envelope/{self.id}/seal', 'target': 'self'}
