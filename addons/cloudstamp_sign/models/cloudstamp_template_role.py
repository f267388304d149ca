from odoo import api, fields, models
from odoo.exceptions import UserError

from .cloudstamp_recipient import MAX_FORWARDS


class CloudStampTemplateRole(models.Model):
    """A recipient of a template, in order: a fixed contact, or a role the
    sender fills in at each send (先方担当者, 当社承認者)."""

    _name = 'cloudstamp.template.role'
    _description = 'CloudStamp Template Role'
    _order = 'template_id, sequence, id'
    _check_company_auto = True

    template_id = fields.Many2one(
        'cloudstamp.template', required=True, index=True, ondelete='cascade', check_company=True
    )
    company_id = fields.Many2one(related='template_id.company_id', store=True, index=True)
    sequence = fields.Integer('Order', default=10)
    name = fields.Char('Role', required=True, help='e.g. 先方担当者 or 当社承認者')
    partner_id = fields.Many2one(
        'res.partner',
        'Fixed Contact',
        check_company=True,
        help='Leave empty to fill in the person at each send.',
    )
    may_forward = fields.Boolean(
        default=True,
        help=f'The recipient may hand their turn to the person with authority, up to {MAX_FORWARDS} times in a row.',
    )
    access_code_required = fields.Boolean(
        help='The sender must set an access code for this role at each send, and tell it to the recipient '
        'outside CloudStamp.',
    )

    @api.model
    def _access_codes_supported(self):
        """Access codes belong to the recipient pages (cloudstamp_portal)."""
        return 'access_code' in self.env['cloudstamp.recipient']._fields

    def _recipient_values(self, given):
        """A recipient of a new send: the fixed contact as it is today, or
        what the sender filled in for this role."""
        self.ensure_one()
        partner = self.partner_id
        if partner:
            values = {'partner_id': partner.id, **self.env['cloudstamp.recipient']._values_from_partner(partner)}
        else:
            values = {
                'partner_id': given.get('partner_id') or False,
                'name': given.get('name'),
                'email': given.get('email'),
                'company_name': given.get('company_name') or False,
                **({'lang': given['lang']} if given.get('lang') else {}),
            }
        values.update(sequence=self.sequence, may_forward=self.may_forward)
        code = (given.get('access_code') or '').strip()
        if self.access_code_required and not code:
            raise UserError(self.env._('The role %s needs an access code.', self.name))
        if code and self._access_codes_supported():
            values['access_code'] = code
        return values
