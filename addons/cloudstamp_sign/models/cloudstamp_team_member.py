from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError, ValidationError

ADMIN_GROUP = 'cloudstamp_sign.group_cloudstamp_manager'


class CloudStampTeamMember(models.Model):
    """One user in one team. ``is_manager`` is all a team manager is: the
    record rules read it at query time, so a change counts at once."""

    _name = 'cloudstamp.team.member'
    _description = 'CloudStamp Team Member'
    _order = 'team_id, is_manager desc, id'
    _rec_name = 'user_id'

    team_id = fields.Many2one('cloudstamp.team', required=True, ondelete='cascade', index=True)
    user_id = fields.Many2one(
        'res.users',
        required=True,
        ondelete='cascade',
        index=True,
        domain="[('share', '=', False), ('company_ids', 'in', company_id)]",
    )
    is_manager = fields.Boolean(
        'Team Manager', help="Team managers read every document and contract their team's members sent."
    )
    user_active = fields.Boolean('Active User', related='user_id.active', readonly=True)
    user_state = fields.Selection(
        [('active', 'Active'), ('deactivated', 'Deactivated')], 'Status', compute='_compute_user_state'
    )
    login = fields.Char(related='user_id.login', string='Login Email', readonly=True)
    company_id = fields.Many2one(related='team_id.company_id', store=True, index=True, precompute=True)

    _sql_constraints = [
        ('team_user_uniq', 'unique(team_id, user_id)', 'This user is already a member of this team.'),
    ]

    @api.depends('user_active')
    def _compute_user_state(self):
        for member in self:
            member.user_state = 'active' if member.user_active else 'deactivated'

    @api.constrains('user_id', 'team_id')
    def _check_user(self):
        for member in self:
            user = member.user_id.sudo()
            if user.share:
                raise ValidationError(
                    self.env._('%(user)s is not an internal user and cannot join a team.', user=user.name)
                )
            if member.team_id.company_id not in user.company_ids:
                raise ValidationError(
                    self.env._(
                        '%(user)s does not work in %(company)s, the company of the team %(team)s.',
                        user=user.name,
                        company=member.team_id.company_id.name,
                        team=member.team_id.name,
                    )
                )

    @api.model_create_multi
    def create(self, vals_list):
        members = super().create(vals_list)
        for member in members:
            name = member.user_id.sudo().name
            member.team_id._log_membership(
                self.env._('%(user)s joined the team as a team manager.', user=name)
                if member.is_manager
                else self.env._('%(user)s joined the team.', user=name)
            )
        return members

    def write(self, vals):
        res = super().write(vals)
        if 'is_manager' in vals:
            for member in self:
                member.team_id._log_membership(
                    self.env._('%(user)s is now a team manager.', user=member.user_id.sudo().name)
                    if member.is_manager
                    else self.env._('%(user)s is no longer a team manager.', user=member.user_id.sudo().name)
                )
        return res

    def unlink(self):
        for member in self:
            member.team_id._log_membership(self.env._('%(user)s left the team.', user=member.user_id.sudo().name))
        return super().unlink()

    # ------------------------------------------------------------------
    # Deactivating and reactivating a member's user. A CloudStamp
    # administrator is not an Odoo administrator and has no right on
    # res.users: these checks are what lets them do this one thing, sudo.
    # ------------------------------------------------------------------
    @api.model
    def _check_team_administrator(self):
        if not self.env.user.has_group(ADMIN_GROUP):
            raise AccessError(self.env._('Only CloudStamp administrators manage team members.'))

    @api.model
    def _check_user_manageable(self, user):
        """Refuse to create, change or deactivate a user a CloudStamp
        administrator has no authority over: themselves, administrators
        (Odoo's or CloudStamp's), users outside their companies, and users
        who are not internal."""
        self._check_team_administrator()
        me, user = self.env.user, user.sudo()
        if user == me:
            raise UserError(self.env._('You cannot change or deactivate your own user here.'))
        if user._is_superuser() or user._is_system() or user.has_group(ADMIN_GROUP):
            raise AccessError(
                self.env._(
                    '%(user)s is an administrator. Only an Odoo administrator can change or deactivate them.',
                    user=user.name,
                )
            )
        if user.share:
            raise UserError(self.env._('%(user)s is not an internal user.', user=user.name))
        if not user.company_ids <= me.company_ids:
            raise AccessError(
                self.env._(
                    '%(user)s also works in companies you do not manage. Ask an Odoo administrator.',
                    user=user.name,
                )
            )

    def _set_users_active(self, active):
        self._check_team_administrator()
        # write access to the memberships: the caller's companies (rules)
        self.check_access('write')
        for member in self:
            self._check_user_manageable(member.user_id)
        for member in self:
            user = member.user_id.sudo()
            if user.active == active:
                continue
            user.write({'active': active})
            member.team_id._log_membership(
                self.env._('%(user)s was reactivated.', user=user.name)
                if active
                else self.env._('%(user)s was deactivated: they can no longer log in.', user=user.name)
            )

    def action_deactivate(self):
        """The member's user can no longer log in; their documents stay."""
        self._set_users_active(False)
        return True

    def action_reactivate(self):
        self._set_users_active(True)
        return True
