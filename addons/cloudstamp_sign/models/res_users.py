from odoo import fields, models
from odoo.exceptions import UserError

from ..tools.emails import single_email


class ResUsers(models.Model):
    _inherit = 'res.users'

    # Users may edit their own name and email (SELF_WRITEABLE_FIELDS), so
    # neither can say who signed. This address is set by administrators only.
    cloudstamp_sender_email = fields.Char(
        'CloudStamp Sender Email',
        groups='base.group_system',
        help='The address recorded in the signatures of the documents this user sends. '
        'Only administrators set it. Empty: the login, when it is an email address.',
    )

    # The teams a user belongs to; the team managers' record rules walk it.
    cloudstamp_team_member_ids = fields.One2many(
        'cloudstamp.team.member', 'user_id', 'CloudStamp Teams', groups='cloudstamp_sign.group_cloudstamp_user'
    )

    def _cloudstamp_sender_address(self):
        """The address a send or reminder by this user is signed with: one an
        administrator vouched for, never one the user typed about themselves."""
        self.ensure_one()
        user = self.sudo()
        address = single_email(user.cloudstamp_sender_email or '') or single_email(user.login or '')
        if not address and user._is_system():
            # Administrators may set any user's address, their own included.
            address = single_email(user.email or '')
        if not address:
            raise UserError(
                self.env._(
                    'Your CloudStamp sender email is not set. Ask an administrator to set it on your user '
                    '(Settings > Users > CloudStamp Sender Email).'
                )
            )
        return address
