"""Teams (issue 12): who reads what, and what a CloudStamp administrator,
who is not an Odoo administrator, may do to users. Each role is asked over
the web client's JSON-RPC endpoint (/web/dataset/call_kw) with its own
logged-in session, and the record rules are checked through the ORM too."""

import json
from types import SimpleNamespace
from unittest.mock import patch

from odoo import Command
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import HttpCase, tagged
from odoo.tools import mute_logger

from odoo.addons.base.models import ir_mail_server

from cloudstamp_engine_testing import smtp

from .common import make_envelope, new_sender

ADMIN = 'cloudstamp_sign.group_cloudstamp_manager'
SENDER = 'cloudstamp_sign.group_cloudstamp_user'
REFUSED = ('odoo.exceptions.AccessError', 'odoo.exceptions.UserError', 'odoo.exceptions.ValidationError')
QUIET = ('odoo.http', 'odoo.models', 'odoo.addons.base.models.ir_rule', 'odoo.sql_db')


@tagged('post_install', '-at_install')
class TestTeams(HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        env = cls.env
        cls.company_a = env.company
        cls.company_b = env['res.company'].create({'name': '株式会社ベータ商事'})
        a = {'company_id': cls.company_a.id, 'company_ids': [cls.company_a.id]}
        cls.admin = new_sender(env, 'cs-admin@teams-alpha.example', groups=ADMIN, **a)
        cls.manager = new_sender(env, 'manager@teams-alpha.example', **a)
        cls.member = new_sender(env, 'member@teams-alpha.example', **a)
        cls.leaver = new_sender(env, 'leaver@teams-alpha.example', **a)
        cls.outsider = new_sender(env, 'outsider@teams-alpha.example', **a)
        cls.other_manager = new_sender(env, 'other-manager@teams-alpha.example', **a)
        cls.other_member = new_sender(env, 'other-member@teams-alpha.example', **a)
        cls.admin_b = new_sender(
            env,
            'cs-admin@teams-beta.example',
            groups=ADMIN,
            company_id=cls.company_b.id,
            company_ids=[cls.company_b.id],
        )
        cls.sender_b = new_sender(
            env, 'sales@teams-beta.example', company_id=cls.company_b.id, company_ids=[cls.company_b.id]
        )
        cls.both = new_sender(
            env,
            'both@teams-alpha.example',
            company_id=cls.company_a.id,
            company_ids=[cls.company_a.id, cls.company_b.id],
        )
        cls.odoo_admin = env.ref('base.user_admin')
        cls.plain_internal = new_sender(env, 'internal@teams-alpha.example', groups='base.group_user', **a)
        for user in (cls.admin, cls.admin_b, cls.odoo_admin):
            user.lang = 'en_US'
        as_admin = env(user=cls.admin)
        cls.team = as_admin['cloudstamp.team'].create(
            {
                'name': '第一営業部',
                'member_ids': [
                    Command.create({'user_id': cls.manager.id, 'is_manager': True}),
                    Command.create({'user_id': cls.member.id}),
                    Command.create({'user_id': cls.leaver.id}),
                ],
            }
        )
        cls.other_team = as_admin['cloudstamp.team'].create(
            {
                'name': '第一法務部',
                'member_ids': [
                    Command.create({'user_id': cls.other_manager.id, 'is_manager': True}),
                    Command.create({'user_id': cls.other_member.id}),
                ],
            }
        )
        cls.team_b = env(user=cls.admin_b)['cloudstamp.team'].create({'name': 'Beta Sales'})
        cls.manager_membership = cls.team.member_ids.filtered(lambda m: m.user_id == cls.manager)
        cls.leaver_membership = cls.team.member_ids.filtered(lambda m: m.user_id == cls.leaver)
        # one send per person; the member's is sent, so it has events
        cls.envelopes = {
            user: make_envelope(env(user=user), name=f'契約書 {user.login}')
            for user in (cls.manager, cls.member, cls.leaver, cls.outsider, cls.other_member)
        }
        cls.envelopes[cls.member].action_send()
        cls.env.flush_all()

    # -- helpers --------------------------------------------------------------
    def login(self, user):
        """A session of its own for ``user`` (earlier ones stay open)."""
        self.session = None  # authenticate() would log the previous session out
        self.authenticate(user.login, user.login)
        return self.opener

    def rpc(self, opener, model, method, args, kwargs=None):
        """(result, None) or (None, (error class, message)), as the web client gets them."""
        payload = {
            'jsonrpc': '2.0',
            'method': 'call',
            'id': 1,
            'params': {'model': model, 'method': method, 'args': args, 'kwargs': kwargs or {}},
        }
        with mute_logger(*QUIET):
            response = opener.post(
                f'{self.base_url()}/web/dataset/call_kw/{model}/{method}',
                data=json.dumps(payload),
                headers={'Content-Type': 'application/json'},
            )
        body = response.json()
        if 'error' in body:
            return None, (body['error']['data']['name'], body['error']['data']['message'])
        return body.get('result'), None

    def refused(self, opener, model, method, args, kwargs=None):
        result, error = self.rpc(opener, model, method, args, kwargs)
        self.assertIsNone(result, f'{model}.{method} answered {result!r}')
        self.assertIn(error[0], REFUSED, error)
        return error[1]

    def visible_envelopes(self, opener):
        result, error = self.rpc(opener, 'cloudstamp.envelope', 'search_read', [[]], {'fields': ['name']})
        self.assertIsNone(error)
        return {row['id'] for row in result}

    def ids(self, *users):
        return {self.envelopes[user].id for user in users}

    # -- what each role reads --------------------------------------------------
    def test_a_team_manager_reads_every_send_of_their_members_and_nobody_elses(self):
        manager = self.login(self.manager)
        self.assertEqual(self.visible_envelopes(manager), self.ids(self.manager, self.member, self.leaver))
        sent = self.envelopes[self.member]
        children = {
            'cloudstamp.envelope.file': sent.file_ids,
            'cloudstamp.recipient': sent.recipient_ids,
            'cloudstamp.event': sent.sudo().event_ids,
        }
        for model, records in children.items():
            self.assertTrue(records, model)
            result, error = self.rpc(manager, model, 'read', [records.ids, ['id']])
            self.assertIsNone(error, model)
            self.assertEqual({row['id'] for row in result}, set(records.ids), model)
            # and not the outsider's
            found, error = self.rpc(
                manager, model, 'search', [[('envelope_id', '=', self.envelopes[self.outsider].id)]]
            )
            self.assertEqual(found, [], model)
        self.refused(manager, 'cloudstamp.envelope', 'read', [self.envelopes[self.outsider].ids, ['name']])
        self.refused(manager, 'cloudstamp.envelope', 'read', [self.envelopes[self.other_member].ids, ['name']])

    def test_a_team_manager_cannot_change_or_act_on_their_members_sends(self):
        manager = self.login(self.manager)
        draft, sent = self.envelopes[self.leaver], self.envelopes[self.member]
        self.refused(manager, 'cloudstamp.envelope', 'write', [draft.ids, {'name': '改ざん'}])
        self.refused(manager, 'cloudstamp.envelope', 'unlink', [draft.ids])
        for action in ('action_send', 'action_cancel'):
            self.refused(manager, 'cloudstamp.envelope', action, [draft.ids])
        for action in ('action_remind', 'action_cancel'):
            self.refused(manager, 'cloudstamp.envelope', action, [sent.ids])
        self.refused(manager, 'cloudstamp.envelope', 'message_post', [sent.ids], {'body': 'x'})
        self.refused(manager, 'cloudstamp.recipient', 'write', [sent.recipient_ids.ids, {'name': 'x'}])
        self.refused(manager, 'cloudstamp.envelope.file', 'unlink', [draft.file_ids.ids])
        # a draft "for" a member is the manager's own
        created, error = self.rpc(manager, 'cloudstamp.envelope', 'create', [{'name': 'x', 'user_id': self.member.id}])
        self.assertEqual(self.env['cloudstamp.envelope'].browse(created).user_id, self.manager)
        self.assertEqual(draft.name, f'契約書 {self.leaver.login}')
        self.assertEqual(draft.state, 'draft')
        self.assertEqual(sent.state, 'sent')
        # the manager still acts on their own documents
        result, error = self.rpc(
            manager, 'cloudstamp.envelope', 'write', [self.envelopes[self.manager].ids, {'name': '自分の'}]
        )
        self.assertIsNone(error)

    def test_members_outsiders_other_managers_and_other_companies(self):
        member, outsider, other_manager, admin_b, admin = (
            self.login(u) for u in (self.member, self.outsider, self.other_manager, self.admin_b, self.admin)
        )
        self.assertEqual(self.visible_envelopes(member), self.ids(self.member))
        self.assertEqual(self.visible_envelopes(outsider), self.ids(self.outsider))
        self.assertEqual(self.visible_envelopes(other_manager), self.ids(self.other_member))
        self.assertEqual(self.visible_envelopes(admin_b), set())
        self.assertLessEqual(set().union(*(self.ids(u) for u in self.envelopes)), self.visible_envelopes(admin))
        # teams: members read theirs (template sharing), never change them
        teams, error = self.rpc(member, 'cloudstamp.team', 'search_read', [[]], {'fields': ['name', 'member_count']})
        self.assertEqual([(t['id'], t['member_count']) for t in teams], [(self.team.id, 3)])
        members, error = self.rpc(member, 'cloudstamp.team.member', 'search_read', [[]], {'fields': ['user_id']})
        self.assertEqual({m['id'] for m in members}, set(self.team.member_ids.ids))
        self.refused(member, 'cloudstamp.team', 'write', [self.team.ids, {'name': 'x'}])
        self.refused(member, 'cloudstamp.team.member', 'write', [self.manager_membership.ids, {'is_manager': False}])
        self.refused(
            member, 'cloudstamp.team.member', 'create', [{'team_id': self.team.id, 'user_id': self.outsider.id}]
        )
        self.refused(
            self.login(self.manager),
            'cloudstamp.team.member',
            'write',
            [self.team.member_ids.ids, {'is_manager': True}],
        )
        self.assertEqual(self.rpc(outsider, 'cloudstamp.team', 'search', [[]])[0], [])
        self.refused(outsider, 'cloudstamp.team', 'read', [self.team.ids, ['name']])
        self.refused(outsider, 'cloudstamp.team.member', 'read', [self.team.member_ids.ids, ['user_id']])
        # another company's administrator sees none of A's teams, and A's none of B's
        self.assertEqual(self.rpc(admin_b, 'cloudstamp.team', 'search', [[]])[0], self.team_b.ids)
        self.refused(admin_b, 'cloudstamp.team', 'read', [self.team.ids, ['name']])
        self.refused(admin_b, 'cloudstamp.team.member', 'unlink', [self.team.member_ids.ids])
        self.refused(admin, 'cloudstamp.team', 'read', [self.team_b.ids, ['name']])
        found, error = self.rpc(admin, 'cloudstamp.team', 'search', [[]])
        self.assertLessEqual({self.team.id, self.other_team.id}, set(found))
        self.assertNotIn(self.team_b.id, found)

    def test_a_change_of_membership_counts_at_once(self):
        manager = self.login(self.manager)
        admin = self.login(self.admin)
        self.assertIn(self.envelopes[self.member].id, self.visible_envelopes(manager))
        self.rpc(admin, 'cloudstamp.team.member', 'write', [self.manager_membership.ids, {'is_manager': False}])
        self.assertEqual(self.visible_envelopes(manager), self.ids(self.manager))
        self.rpc(admin, 'cloudstamp.team.member', 'write', [self.manager_membership.ids, {'is_manager': True}])
        self.assertEqual(self.visible_envelopes(manager), self.ids(self.manager, self.member, self.leaver))
        # the outsider joins: their sends show; the member leaves: theirs no longer
        self.rpc(admin, 'cloudstamp.team.member', 'create', [{'team_id': self.team.id, 'user_id': self.outsider.id}])
        member_line = self.team.member_ids.filtered(lambda m: m.user_id == self.member)
        self.rpc(admin, 'cloudstamp.team.member', 'unlink', [member_line.ids])
        self.assertEqual(self.visible_envelopes(manager), self.ids(self.manager, self.leaver, self.outsider))
        # an archived team grants nothing
        self.rpc(admin, 'cloudstamp.team', 'action_archive', [self.team.ids])
        self.assertEqual(self.visible_envelopes(manager), self.ids(self.manager))
        self.rpc(admin, 'cloudstamp.team', 'action_unarchive', [self.team.ids])
        self.assertEqual(self.visible_envelopes(manager), self.ids(self.manager, self.leaver, self.outsider))
        # each change is in the team's chatter
        bodies = ' '.join(self.team.message_ids.mapped('body'))
        for text in ('is no longer a team manager', 'joined the team', 'left the team'):
            self.assertIn(text, bodies)

    # -- deactivating ----------------------------------------------------------
    def test_deactivating_a_member_ends_their_session_and_keeps_their_sends_visible(self):
        leaver = self.login(self.leaver)
        self.assertEqual(self.visible_envelopes(leaver), self.ids(self.leaver))
        manager = self.login(self.manager)
        admin = self.login(self.admin)
        # the member themselves, their manager, another company's administrator: no
        for opener in (leaver, manager, self.login(self.admin_b)):
            self.refused(opener, 'cloudstamp.team.member', 'action_deactivate', [self.leaver_membership.ids])
        self.assertTrue(self.leaver.active)
        result, error = self.rpc(admin, 'cloudstamp.team.member', 'action_deactivate', [self.leaver_membership.ids])
        self.assertIsNone(error)
        self.leaver.invalidate_recordset()
        self.assertFalse(self.leaver.active)
        # their session is over
        result, error = self.rpc(leaver, 'cloudstamp.envelope', 'search', [[]])
        self.assertEqual(error[0], 'odoo.http.SessionExpiredException')
        # their manager still reads what they sent
        self.assertIn(self.envelopes[self.leaver].id, self.visible_envelopes(manager))
        members, error = self.rpc(
            admin, 'cloudstamp.team.member', 'read', [self.leaver_membership.ids, ['user_active', 'user_state']]
        )
        self.assertEqual((members[0]['user_active'], members[0]['user_state']), (False, 'deactivated'))
        self.rpc(admin, 'cloudstamp.team.member', 'action_reactivate', [self.leaver_membership.ids])
        self.leaver.invalidate_recordset()
        self.assertTrue(self.leaver.active)
        self.assertIn('was deactivated', ' '.join(self.team.message_ids.mapped('body')))

    def test_administrators_and_oneself_cannot_be_deactivated(self):
        admin = self.login(self.admin)
        as_admin = self.env(user=self.admin)['cloudstamp.team']
        team = as_admin.create(
            {
                'name': '第一管理部',
                'member_ids': [
                    Command.create({'user_id': user.id})
                    for user in (self.admin, self.odoo_admin, self.both, self.other_manager)
                ],
            }
        )
        line = {m.user_id: m for m in team.member_ids}
        for user, wording in (
            (self.admin, 'your own user'),
            (self.odoo_admin, 'is an administrator'),
            (self.both, 'companies you do not manage'),
        ):
            message = self.refused(admin, 'cloudstamp.team.member', 'action_deactivate', [line[user].ids])
            self.assertIn(wording, message)
            user.invalidate_recordset()
            self.assertTrue(user.active)
        # one refused line refuses the whole call
        self.refused(
            admin,
            'cloudstamp.team.member',
            'action_deactivate',
            [[line[self.other_manager].id, line[self.odoo_admin].id]],
        )
        self.other_manager.invalidate_recordset()
        self.assertTrue(self.other_manager.active)
        # another CloudStamp administrator
        other_admin = new_sender(self.env, 'cs-admin2@teams-alpha.example', groups=ADMIN)
        member = self.env['cloudstamp.team.member'].create({'team_id': team.id, 'user_id': other_admin.id})
        with self.assertRaisesRegex(AccessError, 'is an administrator'):
            member.with_user(self.admin).action_deactivate()

    # -- the Add Member wizard -------------------------------------------------
    def add(self, opener, values):
        """Create the wizard and press Add, as the form does: the error, if any."""
        return self.add_and_press(opener, values)[1]

    def add_and_press(self, opener, values):
        """(the wizard's answer, error) for Add pressed on a new wizard."""
        wizard_id, error = self.rpc(
            opener, 'cloudstamp.team.member.add', 'create', [{'team_id': self.team.id, **values}]
        )
        if error:
            return None, error
        return self.rpc(opener, 'cloudstamp.team.member.add', 'action_add', [[wizard_id]])

    def test_adding_a_new_user_gives_them_the_sender_group_and_an_invitation(self):
        catcher = smtp.Catcher().start()
        self.addCleanup(catcher.server_close)
        self.addCleanup(catcher.shutdown)
        self.env['ir.mail_server'].create(
            {'name': 'catcher', 'smtp_host': '127.0.0.1', 'smtp_port': catcher.port, 'smtp_encryption': 'none'}
        )
        admin = self.login(self.admin)
        values = {'mode': 'new', 'name': '山田 太郎', 'email': ' Yamada@Teams-Alpha.example ', 'is_manager': True}
        # Odoo skips SMTP while a test runs; this one delivers for real.
        with patch.object(ir_mail_server, 'modules', SimpleNamespace(module=SimpleNamespace(current_test=False))):
            answer, error = self.add_and_press(admin, values)
        self.assertIsNone(error)
        self.assertEqual(answer['params']['type'], 'success')
        self.assertIn('yamada@teams-alpha.example', answer['params']['message'])
        user = self.env['res.users'].search([('login', '=', 'yamada@teams-alpha.example')])
        self.assertEqual(user.name, '山田 太郎')
        self.assertEqual(user.email, 'yamada@teams-alpha.example')
        group = self.env.ref(SENDER)
        self.assertEqual(user.groups_id, group | group.trans_implied_ids)
        self.assertFalse(user.has_group(ADMIN))
        self.assertFalse(user._is_system())
        self.assertEqual((user.company_id, user.company_ids), (self.company_a, self.company_a))
        self.assertTrue(self.team.member_ids.filtered(lambda m: m.user_id == user).is_manager)
        # their address is vouched for: the login
        self.assertEqual(user._cloudstamp_sender_address(), 'yamada@teams-alpha.example')
        invitations = [m for rcpts, m in catcher.messages if 'yamada@teams-alpha.example' in rcpts]
        self.assertEqual(len(invitations), 1)
        self.assertIn('/web/signup', smtp.body(smtp.parse(invitations[0])))
        # no mail server answers: the user is added, the administrator told
        catcher.shutdown()
        catcher.server_close()  # nothing listens there any more
        # Delivery attempted for real here too: Odoo's runner would skip it and call it sent.
        with patch.object(ir_mail_server, 'modules', SimpleNamespace(module=SimpleNamespace(current_test=False))):
            answer, error = self.add_and_press(
                admin, {'mode': 'new', 'name': '鈴木 花子', 'email': 'suzuki@teams-alpha.example'}
            )
        self.assertIsNone(error)
        self.assertEqual(answer['params']['type'], 'warning')
        self.assertIn('no invitation could be mailed', answer['params']['message'])
        self.assertTrue(self.env['res.users'].search([('login', '=', 'suzuki@teams-alpha.example')]))

    def test_a_new_user_needs_a_name_and_one_unused_address(self):
        admin = self.login(self.admin)
        self.env['res.users'].create({'name': '退職者', 'login': 'gone@teams-alpha.example', 'active': False})
        for email, wording in (
            ('MEMBER@teams-alpha.example', 'already exists'),
            ('gone@teams-alpha.example', 'already exists'),  # an archived user keeps their login
            ('', 'not a valid email address'),
            ('not an address', 'not a valid email address'),
            ('a@teams-alpha.example, b@teams-alpha.example', 'not a valid email address'),
        ):
            answer, error = self.add_and_press(admin, {'mode': 'new', 'name': '別人', 'email': email})
            self.assertEqual(error[0], 'odoo.exceptions.UserError', email)
            self.assertIn(wording, error[1])
        answer, error = self.add_and_press(admin, {'mode': 'new', 'name': ' ', 'email': 'blank@teams-alpha.example'})
        self.assertIn("new user's name", error[1])
        self.assertEqual(self.env['res.users'].search_count([('name', '=', '別人')]), 0)

    def test_adding_an_existing_user(self):
        admin = self.login(self.admin)
        # an internal user without CloudStamp: gets the Sender group only
        groups_before = self.plain_internal.groups_id
        self.assertIsNone(self.add(admin, {'mode': 'existing', 'user_id': self.plain_internal.id}))
        self.plain_internal.invalidate_recordset()
        self.assertEqual(self.plain_internal.groups_id - groups_before, self.env.ref(SENDER))
        self.assertIn(self.plain_internal, self.team.member_ids.user_id)
        # a sender of another team: just joins
        self.assertIsNone(self.add(admin, {'mode': 'existing', 'user_id': self.other_member.id}))
        # already a member
        self.assertIn('already a member', self.add(admin, {'mode': 'existing', 'user_id': self.member.id})[1])

    def test_the_wizard_refuses_what_a_cloudstamp_administrator_may_not_do(self):
        admin = self.login(self.admin)
        odoo_admin_groups = self.odoo_admin.groups_id
        self.odoo_admin.groups_id -= self.env.ref(SENDER) | self.env.ref(ADMIN)
        portal = new_sender(self.env, 'portal@teams-alpha.example', groups='base.group_portal')
        for user, wording in (
            (self.odoo_admin, 'is an administrator'),  # giving them a group would change an Odoo administrator
            (self.sender_b, 'does not work in'),
            (portal, 'not an internal user'),
        ):
            error = self.add(admin, {'mode': 'existing', 'user_id': user.id})
            self.assertIsNotNone(error, user.login)
            self.assertIn(wording, error[1])
            self.assertNotIn(user, self.team.member_ids.user_id)
        self.odoo_admin.invalidate_recordset()
        self.assertFalse(self.odoo_admin.has_group(SENDER))
        self.odoo_admin.groups_id = odoo_admin_groups
        # not a CloudStamp administrator: no wizard at all, not even through a team manager
        for user in (self.manager, self.member):
            error = self.add(self.login(user), {'mode': 'new', 'name': 'x', 'email': 'x@teams-alpha.example'})
            self.assertEqual(error[0], 'odoo.exceptions.AccessError')
        # another company's administrator cannot add to A's team
        error = self.add(self.login(self.admin_b), {'mode': 'existing', 'user_id': self.outsider.id})
        self.assertIn(error[0], REFUSED)
        self.assertFalse(self.env['res.users'].search([('login', '=', 'x@teams-alpha.example')]))
        self.assertNotIn(self.outsider, self.team.member_ids.user_id)

    def test_the_wizard_checks_even_when_called_directly(self):
        """The checks live in the model: a wizard made for another team, or
        called by someone who only reads teams, is refused."""
        wizard = (
            self.env['cloudstamp.team.member.add']
            .with_user(self.admin)
            .create({'team_id': self.team_b.id, 'mode': 'new', 'name': 'x', 'email': 'x2@teams-beta.example'})
        )
        with self.assertRaises(AccessError):
            wizard.action_add()
        Members = self.env['cloudstamp.team.member']
        with self.assertRaises(ValidationError):
            Members.create({'team_id': self.team.id, 'user_id': self.sender_b.id})
        with self.assertRaises(UserError):
            Members.with_user(self.admin)._check_user_manageable(self.admin)
        with self.assertRaises(AccessError):
            Members.with_user(self.manager)._check_user_manageable(self.member)
        # a duplicated team gets a free name and no members
        copy = self.team.with_user(self.admin).copy()
        self.assertEqual((copy.name, copy.member_ids), ('第一営業部 (copy)', Members))
