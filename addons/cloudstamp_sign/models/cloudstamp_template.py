from datetime import timedelta

from odoo import Command, api, fields, models
from odoo.exceptions import UserError, ValidationError

from odoo.addons.base.models.res_partner import _lang_get

from ..tools import force_own_user


class CloudStampTemplate(models.Model):
    """PDFs, recipient roles and settings saved once and recalled at each send.

    A send copies everything it takes from its template: changing the
    template later never changes a send already made from it.
    """

    _name = 'cloudstamp.template'
    _description = 'CloudStamp Template'
    _inherit = ['mail.thread']
    _order = 'sequence, name, id'
    _check_company_auto = True

    name = fields.Char('Template Name', required=True, tracking=True)
    sequence = fields.Integer(default=10)
    active = fields.Boolean(default=True, tracking=True)
    user_id = fields.Many2one(
        'res.users', 'Owner', required=True, default=lambda self: self.env.user, tracking=True, check_company=True
    )
    company_id = fields.Many2one('res.company', required=True, default=lambda self: self.env.company)
    share = fields.Selection(
        [('personal', 'Only Me'), ('team', 'My Team'), ('company', 'Whole Company')],
        'Shared With',
        required=True,
        default='personal',
        tracking=True,
        help='Who may send from this template. Only its owner and CloudStamp administrators change it.',
    )
    team_id = fields.Many2one('cloudstamp.team', check_company=True, tracking=True)
    file_ids = fields.One2many('cloudstamp.template.file', 'template_id', 'Files', copy=True)
    role_ids = fields.One2many('cloudstamp.template.role', 'template_id', 'Recipient Roles', copy=True)
    cc_partner_ids = fields.Many2many(
        'res.partner',
        string='CC (共有先)',
        check_company=True,
        help='Receive only the final PDFs when every party has agreed.',
    )
    message = fields.Text(help='The note every recipient reads in the request mail.')
    expiry_days = fields.Integer(
        'Expires After (days)',
        default=lambda self: self.env.company.cloudstamp_expiry_days,
        help='Each send from this template expires this many days after it is created.',
    )
    lang = fields.Selection(_lang_get, string='Language', help='The language of the mails to CC people.')
    envelope_ids = fields.One2many('cloudstamp.envelope', 'template_id', 'Sends', readonly=True)
    envelope_count = fields.Integer('Send Count', compute='_compute_envelope_count')
    open_role_count = fields.Integer('Roles Filled at Send', compute='_compute_open_role_count')

    @api.model_create_multi
    def create(self, vals_list):
        force_own_user(self.env, vals_list)
        return super().create(vals_list)

    def message_get_followers(self, *args, **kwargs):
        # mail answers this for any record id; a template's followers are for
        # those who may read it.
        self.check_access('read')
        return super().message_get_followers(*args, **kwargs)

    @api.constrains('share', 'team_id')
    def _check_team(self):
        for template in self:
            if template.share == 'team' and not template.team_id:
                raise ValidationError(self.env._('Choose the team this template is shared with.'))

    @api.constrains('expiry_days')
    def _check_expiry_days(self):
        for template in self:
            if template.expiry_days < 1:
                raise ValidationError(self.env._('A send must stay open for at least one day.'))

    def _compute_envelope_count(self):
        counts = dict(
            self.env['cloudstamp.envelope']._read_group([('template_id', 'in', self.ids)], ['template_id'], ['__count'])
        )
        for template in self:
            template.envelope_count = counts.get(template, 0)

    @api.depends('role_ids.partner_id')
    def _compute_open_role_count(self):
        for template in self:
            template.open_role_count = len(template._open_roles())

    def _open_roles(self):
        """The roles the sender fills in at each send, in order."""
        return self.role_ids.filtered(lambda role: not role.partner_id).sorted(lambda r: (r.sequence, r.id))

    # ------------------------------------------------------------------
    # Sender actions
    # ------------------------------------------------------------------
    def action_new_envelope(self):
        """'New from template': the sender completes the open roles, then
        reviews the draft and sends."""
        self.ensure_one()
        self.check_access('read')
        send = self.env['cloudstamp.template.send'].create({'template_id': self.id})
        return {
            'type': 'ir.actions.act_window',
            'name': self.env._('New from Template'),
            'res_model': 'cloudstamp.template.send',
            'res_id': send.id,
            'view_mode': 'form',
            'target': 'new',
        }

    def action_view_envelopes(self):
        self.ensure_one()
        self.check_access('read')
        action = self.env['ir.actions.act_window']._for_xml_id('cloudstamp_sign.cloudstamp_envelope_action')
        action.update(domain=[('template_id', '=', self.id)], context={})
        return action

    # ------------------------------------------------------------------
    # Making a draft: used by the wizard and by bulk sends
    # ------------------------------------------------------------------
    def _create_envelope(self, assignments, values=None):
        """A draft send from this template, in the caller's name.

        ``assignments``: {role id: {'name', 'email', 'company_name', 'lang',
        'access_code'}} for the roles filled in at send time; a fixed role may
        be left out. ``values``: more envelope values (a title, metadata).
        Everything is copied, so the draft no longer depends on the template.
        """
        self.ensure_one()
        self.check_access('read')
        # Read as superuser: a shared template's files belong to its owner.
        vals = self.sudo()._prepare_envelope_values({int(role): given for role, given in (assignments or {}).items()})
        vals.update(values or {})
        return self.env['cloudstamp.envelope'].create(vals)

    def _prepare_envelope_values(self, assignments):
        """The values of a draft envelope; raises naming every role left empty."""
        self.ensure_one()
        missing = [
            role.name
            for role in self._open_roles()
            if not (assignments.get(role.id) or {}).get('name') or not (assignments.get(role.id) or {}).get('email')
        ]
        if missing:
            raise UserError(self.env._('Fill in the name and address of: %(roles)s.', roles=', '.join(missing)))
        vals = {
            'name': self.name,
            'template_id': self.id,
            'message': self.message,
            'cc_partner_ids': [Command.set(self.cc_partner_ids.ids)],
            'expiry_date': fields.Datetime.now() + timedelta(days=self.expiry_days),
            'file_ids': [Command.create(document._envelope_file_values()) for document in self.file_ids],
            'recipient_ids': [
                Command.create(role._recipient_values(assignments.get(role.id) or {}))
                for role in self.role_ids.sorted(lambda r: (r.sequence, r.id))
            ],
        }
        if self.lang:
            vals['lang'] = self.lang
        return vals
