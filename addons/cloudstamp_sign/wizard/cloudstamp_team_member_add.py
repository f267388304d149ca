from odoo import Command, api, fields, models
from odoo.exceptions import AccessError, UserError

from ..tools.emails import single_email

USER_GROUP = 'cloudstamp_sign.group_cloudstamp_user'


class CloudStampTeamMemberAdd(models.TransientModel):
    """Adds a member to a team: a new user, created with the Sender group
    and nothing else, or an existing internal user of the team's company.

    CloudStamp administrators have no right on res.users: the wizard checks
    what they may do, then creates or changes the user as superuser."""

    _name = 'cloudstamp.team.member.add'
    _description = 'CloudStamp: Add a Team Member'

    team_id = fields.Many2one('cloudstamp.team', required=True, ondelete='cascade')
    company_id = fields.Many2one(related='team_id.company_id')
    mode = fields.Selection([('new', 'New user'), ('existing', 'Existing user')], 'Add', required=True, default='new')
    name = fields.Char()
    email = fields.Char(help='Also their login. An invitation to choose a password is sent to it.')
    user_id = fields.Many2one(
        'res.users',
        domain="[('share', '=', False), ('company_ids', 'in', company_id), ('id', 'not in', member_user_ids)]",
    )
    member_user_ids = fields.Many2many('res.users', string='Current Members', compute='_compute_member_user_ids')
    is_manager = fields.Boolean(
        'Team Manager', help="Team managers read every document and contract their team's members sent."
    )

    @api.depends('team_id')
    def _compute_member_user_ids(self):
        for wizard in self:
            wizard.member_user_ids = wizard.team_id.member_ids.user_id

    def action_add(self):
        self.ensure_one()
        members = self.env['cloudstamp.team.member']
        members._check_team_administrator()
        # the team must be one the caller manages (access rights and company rules)
        self.team_id.check_access('write')
        if self.team_id.company_id not in self.env.user.company_ids:
            raise AccessError(self.env._('You do not manage the company of this team.'))
        user = self._new_user() if self.mode == 'new' else self._existing_user()
        members.create({'team_id': self.team_id.id, 'user_id': user.id, 'is_manager': self.is_manager})
        close = {'type': 'ir.actions.act_window_close'}
        if self.mode != 'new':
            return close
        # auth_signup cancels the invitation when the mail cannot leave: say so.
        invited = user.partner_id._fields.get('signup_type') and user.partner_id.signup_type == 'signup'
        if invited:
            message = self.env._(
                '%(user)s was added. An invitation to choose a password was mailed to %(email)s.',
                user=user.name,
                email=user.email,
            )
        else:
            message = self.env._(
                '%(user)s was added, but no invitation could be mailed to %(email)s. Ask an Odoo administrator '
                'to check the outgoing mail server and to send them a password reset.',
                user=user.name,
                email=user.email,
            )
        return {
            'type': 'ir.actions.client',
            'tag': 'display_notification',
            'params': {
                'message': message,
                'type': 'success' if invited else 'warning',
                'sticky': not invited,
                'next': close,
            },
        }

    def _new_user(self):
        name = (self.name or '').strip()
        if not name:
            raise UserError(self.env._("Enter the new user's name."))
        login = single_email(self.email or '')
        if not login:
            raise UserError(
                self.env._(
                    '"%(email)s" is not a valid email address: enter exactly one address.', email=self.email or ''
                )
            )
        Users = self.env['res.users'].sudo().with_context(active_test=False)
        if Users.search_count([('login', '=ilike', login)], limit=1):
            raise UserError(
                self.env._(
                    'A user with the login %(login)s already exists. Choose "Existing user" if they work in your '
                    'company, or ask an Odoo administrator.',
                    login=login,
                )
            )
        company = self.team_id.company_id
        me = self.env.user
        # Exactly the Sender group (Odoo adds what it implies: an internal user).
        # auth_signup, when installed, mails them an invitation to set a password;
        # a mail that cannot leave cancels the invitation instead of failing.
        return Users.with_context(lang=me.lang or self.env.lang).create(
            {
                'name': name,
                'login': login,
                'email': login,
                'company_id': company.id,
                'company_ids': [Command.set(company.ids)],
                'groups_id': [Command.set(self.env.ref(USER_GROUP).ids)],
                'lang': me.lang or self.env.lang,
                'tz': me.tz or False,
            }
        )

    def _existing_user(self):
        if not self.user_id:
            raise UserError(self.env._('Choose the user to add.'))
        user = self.user_id.sudo()
        if user in self.team_id.member_ids.user_id:
            raise UserError(self.env._('%(user)s is already a member of this team.', user=user.name))
        if user.share:
            raise UserError(self.env._('%(user)s is not an internal user.', user=user.name))
        if self.team_id.company_id not in user.company_ids:
            raise UserError(
                self.env._(
                    '%(user)s does not work in %(company)s.', user=user.name, company=self.team_id.company_id.name
                )
            )
        if not user.has_group(USER_GROUP):
            # Giving them the Sender group changes the user: only for users
            # the administrator has authority over.
            self.env['cloudstamp.team.member']._check_user_manageable(user)
            user.write({'groups_id': [Command.link(self.env.ref(USER_GROUP).id)]})
        return user
