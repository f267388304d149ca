from odoo import Command, api, fields, models

from odoo.addons.base.models.res_partner import _lang_get


class CloudStampTemplateSend(models.TransientModel):
    """'New from template': the open roles of a template, filled in by the
    sender, become a draft to review and send."""

    _name = 'cloudstamp.template.send'
    _description = 'CloudStamp: New from Template'

    template_id = fields.Many2one('cloudstamp.template', required=True, ondelete='cascade')
    name = fields.Char('Title')
    line_ids = fields.One2many('cloudstamp.template.send.line', 'send_id', 'Recipients')

    @api.model_create_multi
    def create(self, vals_list):
        sends = super().create(vals_list)
        for send in sends:
            template = send.template_id
            send.name = send.name or template.name
            if not send.line_ids:
                send.line_ids = [Command.create({'role_id': role.id}) for role in template._open_roles()]
        return sends

    def action_create_draft(self):
        """The draft send, opened for the sender to review."""
        self.ensure_one()
        envelope = self.template_id._create_envelope(
            {line.role_id.id: line._assignment() for line in self.line_ids}, {'name': self.name}
        )
        # The codes now live only as hashes on the recipients.
        self.line_ids.write({'access_code': False})
        return {
            'type': 'ir.actions.act_window',
            'res_model': 'cloudstamp.envelope',
            'res_id': envelope.id,
            'view_mode': 'form',
            'target': 'current',
        }


class CloudStampTemplateSendLine(models.TransientModel):
    _name = 'cloudstamp.template.send.line'
    _description = 'CloudStamp: New from Template, One Role'
    _order = 'sequence, id'

    send_id = fields.Many2one('cloudstamp.template.send', required=True, ondelete='cascade')
    role_id = fields.Many2one('cloudstamp.template.role', required=True, readonly=True)
    sequence = fields.Integer(related='role_id.sequence')
    partner_id = fields.Many2one('res.partner', 'Contact')
    name = fields.Char()
    email = fields.Char()
    company_name = fields.Char()
    lang = fields.Selection(_lang_get, string='Language')
    access_code_required = fields.Boolean(related='role_id.access_code_required')
    access_code = fields.Char(help='At least 6 characters. Tell it to the recipient yourself, outside CloudStamp.')

    @api.onchange('partner_id')
    def _onchange_partner_id(self):
        if self.partner_id:
            self.update(self.env['cloudstamp.recipient']._values_from_partner(self.partner_id))

    def _assignment(self):
        self.ensure_one()
        return {
            'partner_id': self.partner_id.id,
            'name': self.name,
            'email': self.email,
            'company_name': self.company_name,
            'lang': self.lang,
            'access_code': self.access_code,
        }
