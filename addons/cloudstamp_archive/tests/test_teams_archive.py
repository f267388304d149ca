"""A team manager reads the archived contracts of their members' sends, and
no one else's, and changes none of them (issue 12)."""

import json

from odoo import Command
from odoo.tests import HttpCase, tagged
from odoo.tools import mute_logger

from odoo.addons.cloudstamp_sign.tests.common import make_envelope, new_sender


@tagged('post_install', '-at_install')
class TestTeamContracts(HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        env = cls.env
        cls.admin = new_sender(env, 'cs-admin@teams-archive.example', groups='cloudstamp_sign.group_cloudstamp_manager')
        cls.manager = new_sender(env, 'manager@teams-archive.example')
        cls.member = new_sender(env, 'member@teams-archive.example')
        cls.outsider = new_sender(env, 'outsider@teams-archive.example')
        cls.other_manager = new_sender(env, 'other-manager@teams-archive.example')
        cls.team = env(user=cls.admin)['cloudstamp.team'].create(
            {
                'name': '第一営業部',
                'member_ids': [
                    Command.create({'user_id': cls.manager.id, 'is_manager': True}),
                    Command.create({'user_id': cls.member.id}),
                ],
            }
        )
        env(user=cls.admin)['cloudstamp.team'].create(
            {
                'name': '第一法務部',
                'member_ids': [Command.create({'user_id': cls.other_manager.id, 'is_manager': True})],
            }
        )
        # The workflow files a contract for each completed send; here, directly.
        cls.contracts = {}
        for user, name, active in (
            (cls.outsider, '契約書 outsider', True),
            (cls.member, '旧契約書 member', False),  # archived: still the member's, still read
            (cls.member, '契約書 member', True),
        ):
            envelope = make_envelope(env(user=user), name=name)
            cls.contracts[user] = (
                env['cloudstamp.contract']
                .sudo()
                .create(
                    {
                        'name': name,
                        'envelope_id': envelope.id,
                        'company_id': envelope.company_id.id,
                        'active': active,
                    }
                )
            )

    def rpc(self, user, model, method, args, kwargs=None):
        self.authenticate(user.login, user.login)
        payload = {
            'jsonrpc': '2.0',
            'method': 'call',
            'id': 1,
            'params': {'model': model, 'method': method, 'args': args, 'kwargs': kwargs or {}},
        }
        with mute_logger('odoo.http', 'odoo.addons.base.models.ir_rule'):
            body = self.url_open(
                f'/web/dataset/call_kw/{model}/{method}',
                data=json.dumps(payload),
                headers={'Content-Type': 'application/json'},
            ).json()
        return body.get('result'), body.get('error', {}).get('data', {}).get('name')

    def test_a_team_manager_reads_their_members_contracts_only(self):
        member_contracts = (
            self.env['cloudstamp.contract']
            .with_context(active_test=False)
            .search([('envelope_id.user_id', '=', self.member.id)])
        )
        self.assertEqual(len(member_contracts), 2)
        found, error = self.rpc(
            self.manager,
            'cloudstamp.contract',
            'search_read',
            [[('active', 'in', (True, False))]],
            {'fields': ['name']},
        )
        self.assertIsNone(error)
        self.assertEqual({row['id'] for row in found}, set(member_contracts.ids))
        for user in (self.outsider, self.other_manager):
            found, error = self.rpc(
                user, 'cloudstamp.contract', 'search', [[('envelope_id.user_id', '=', self.member.id)]]
            )
            self.assertEqual(found, [], user.login)
            result, error = self.rpc(user, 'cloudstamp.contract', 'read', [member_contracts.ids, ['name']])
            self.assertEqual(error, 'odoo.exceptions.AccessError', user.login)
        result, error = self.rpc(
            self.manager, 'cloudstamp.contract', 'read', [self.contracts[self.outsider].ids, ['name']]
        )
        self.assertEqual(error, 'odoo.exceptions.AccessError')

    def test_a_team_manager_changes_none_of_them(self):
        contract = self.contracts[self.member]
        for method, args in (
            ('write', [contract.ids, {'name': '改ざん'}]),
            ('action_archive', [contract.ids]),
            ('message_post', [contract.ids]),
            ('unlink', [contract.ids]),
        ):
            kwargs = {'body': 'x'} if method == 'message_post' else {}
            result, error = self.rpc(self.manager, 'cloudstamp.contract', method, args, kwargs)
            self.assertEqual(error, 'odoo.exceptions.AccessError', method)
        contract.invalidate_recordset()
        self.assertEqual((contract.name, contract.active), ('契約書 member', True))
        # the member still changes their own
        result, error = self.rpc(self.member, 'cloudstamp.contract', 'write', [contract.ids, {'note': '<p>更新</p>'}])
        self.assertIsNone(error)

    def test_a_contract_shows_once_its_sender_joins_and_hides_when_they_leave(self):
        outsider_contract = self.contracts[self.outsider].with_user(self.manager)
        self.assertFalse(outsider_contract.has_access('read'))
        line = (
            self.env['cloudstamp.team.member']
            .with_user(self.admin)
            .create({'team_id': self.team.id, 'user_id': self.outsider.id})
        )
        self.assertTrue(outsider_contract.has_access('read'))
        self.assertFalse(outsider_contract.has_access('write'))
        line.unlink()
        self.assertFalse(outsider_contract.has_access('read'))
