from odoo import api, fields, models
from odoo.exceptions import AccessError


class CloudStampTeam(models.Model):
    """A group of senders (チーム). Its managers read every send and contract
    of its members (record rules, security/ir_rules.xml); templates can be
    shared with it."""

    _name = 'cloudstamp.team'
    _description = 'CloudStamp Team'
    _inherit = ['mail.thread']
    _order = 'name, id'
    _check_company_auto = True

    name = fields.Char('Team Name', required=True, tracking=True)
    company_id = fields.Many2one('res.company', required=True, default=lambda self: self.env.company, index=True)
    active = fields.Boolean(default=True, tracking=True)
    member_ids = fields.One2many('cloudstamp.team.member', 'team_id', 'Members')
    member_count = fields.Integer(compute='_compute_counts')
    manager_count = fields.Integer(compute='_compute_counts')
    manager_names = fields.Char('Team Managers', compute='_compute_counts')

    _sql_constraints = [
        ('name_company_uniq', 'unique(name, company_id)', 'A team with this name already exists in this company.'),
    ]

    @api.depends('member_ids.is_manager', 'member_ids.user_id')
    def _compute_counts(self):
        for team in self:
            managers = team.member_ids.filtered('is_manager')
            team.member_count = len(team.member_ids)
            team.manager_count = len(managers)
            team.manager_names = ', '.join(managers.user_id.sudo().mapped('name'))

    @api.constrains('company_id')
    def _check_members_company(self):
        # a team moved to another company keeps only members who work there
        self.member_ids._check_user()

    def message_get_followers(self, *args, **kwargs):
        # mail answers this for any record id; a team's followers are for
        # those who may read the team.
        self.check_access('read')
        return super().message_get_followers(*args, **kwargs)

    def copy_data(self, default=None):
        # the name is unique in the company; members are not copied
        vals_list = super().copy_data(default=default)
        if 'name' not in (default or {}):
            for team, vals in zip(self, vals_list, strict=True):
                vals['name'] = self.env._('%s (copy)', team.name)
        return vals_list

    @api.model
    def message_new(self, msg_dict, custom_values=None):
        # The mail gateway would create a team for anyone who writes in:
        # teams are made on the Teams screen by CloudStamp administrators.
        raise AccessError(self.env._('Teams are managed by CloudStamp administrators on the Teams screen.'))

    def _log_membership(self, body):
        """The team's chatter keeps who changed its members, and when."""
        for team in self.sudo():
            team.message_post(body=body, author_id=self.env.user.partner_id.id)
