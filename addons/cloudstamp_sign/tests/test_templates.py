"""Templates: PDFs and recipient roles saved once, recalled at each send,
shared with a team or the company, and copied, never referenced, by a send."""

import base64
import hashlib

from odoo import Command
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import Form, tagged

from cloudstamp_engine_testing.pdf_samples import contract_pdf, encrypted_pdf

from ..tools import read_field_bytes
from .common import CloudStampCase, new_sender

NDA = contract_pdf('秘密保持契約書 / NDA')


@tagged('post_install', '-at_install')
class TestTemplates(CloudStampCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        env = cls.env
        cls.owner = new_sender(env, 'owner@cloudstamp.example', name='山田 花子')
        cls.colleague = new_sender(env, 'colleague@cloudstamp.example')
        cls.outsider = new_sender(env, 'outsider@cloudstamp.example')
        cls.admin = new_sender(env, 'cs-admin@cloudstamp.example', groups='cloudstamp_sign.group_cloudstamp_manager')
        cls.approver = env['res.partner'].create(
            {'name': '鈴木 部長', 'email': 'suzuki@cloudstamp.example', 'lang': 'ja_JP'}
        )
        cls.cc = env['res.partner'].create({'name': '法務部', 'email': 'legal@cloudstamp.example'})
        cls.team = env['cloudstamp.team'].create(
            {
                'name': '営業一課',
                'member_ids': [
                    Command.create({'user_id': cls.owner.id, 'is_manager': True}),
                    Command.create({'user_id': cls.colleague.id}),
                ],
            }
        )
        cls.template = (
            env['cloudstamp.template']
            .with_user(cls.owner)
            .create(
                {
                    'name': '秘密保持契約書（標準）',
                    'message': 'ご確認ください。',
                    'expiry_days': 14,
                    'lang': 'ja_JP',
                    'cc_partner_ids': [Command.set(cls.cc.ids)],
                    'file_ids': [Command.create({'name': 'nda.pdf', 'file': base64.b64encode(NDA)})],
                    'role_ids': [
                        Command.create({'sequence': 1, 'name': '先方担当者', 'access_code_required': True}),
                        Command.create(
                            {'sequence': 2, 'name': '当社承認者', 'partner_id': cls.approver.id, 'may_forward': False}
                        ),
                    ],
                }
            )
        )
        cls.counterpart = {
            'name': '佐藤 一郎',
            'email': 'sato@partner.example',
            'company_name': '株式会社パートナー',
            'lang': 'en_US',
            'access_code': 'Sakura2026',
        }

    def new_from_template(self, template=None, user=None, **given):
        """What 'New from template' does: the wizard, filled in, makes the draft."""
        template = (template or self.template).with_user(user or self.owner)
        action = template.action_new_envelope()
        send = self.env['cloudstamp.template.send'].with_user(user or self.owner).browse(action['res_id'])
        for line in send.line_ids:
            line.write(dict(self.counterpart, **given))
        result = send.action_create_draft()
        return self.env['cloudstamp.envelope'].with_user(user or self.owner).browse(result['res_id'])

    def test_a_template_fills_a_draft_in_role_order(self):
        envelope = self.new_from_template()
        self.assertEqual(envelope.state, 'draft')
        self.assertEqual(envelope.user_id, self.owner)
        self.assertEqual(envelope.template_id, self.template)
        self.assertEqual(envelope.name, '秘密保持契約書（標準）')
        self.assertEqual(envelope.message, 'ご確認ください。')
        self.assertEqual(envelope.cc_partner_ids, self.cc)
        self.assertEqual(envelope.lang, 'ja_JP')
        days = (envelope.expiry_date - envelope.create_date).total_seconds() / 86400
        self.assertAlmostEqual(days, 14, delta=0.01)
        first, second = envelope.recipient_ids
        self.assertEqual(
            (first.name, first.email, first.company_name, first.lang, first.may_forward),
            ('佐藤 一郎', 'sato@partner.example', '株式会社パートナー', 'en_US', True),
        )
        self.assertEqual(
            (second.partner_id, second.email, second.may_forward), (self.approver, 'suzuki@cloudstamp.example', False)
        )
        if 'has_access_code' in first._fields:
            self.assertTrue(first.has_access_code)
            self.assertFalse(second.has_access_code)
        self.assertEqual(
            hashlib.sha256(read_field_bytes(envelope.file_ids, 'original_file')).digest(), hashlib.sha256(NDA).digest()
        )
        # The wizard keeps no access code once the draft holds its hash.
        self.assertFalse(self.env['cloudstamp.template.send.line'].sudo().search([('access_code', '!=', False)]))
        envelope.action_send()
        self.assertEqual(envelope.state, 'sent')
        self.assertEqual(self.signatures(envelope), [('send', 'owner@cloudstamp.example')])

    def test_open_roles_and_required_codes_are_named(self):
        with self.assertRaisesRegex(UserError, '先方担当者'):
            self.new_from_template(name='', email='')
        with self.assertRaisesRegex(UserError, '先方担当者'):
            self.new_from_template(access_code='')
        self.assertFalse(self.template.envelope_ids)

    def test_changing_the_template_never_changes_a_send(self):
        envelope = self.new_from_template()
        envelope.action_send()

        def sent():
            envelope.invalidate_recordset()
            return (
                envelope.name,
                envelope.message,
                envelope.recipient_ids.mapped('name'),
                envelope.recipient_ids.mapped('email'),
                envelope.file_ids._current_hashes(),
                envelope.file_ids.original_sha256,
            )

        before = sent()
        other = contract_pdf('別の契約書')
        self.template.with_user(self.owner).write(
            {
                'name': '改訂版',
                'message': '変更しました',
                'file_ids': [Command.update(self.template.file_ids.id, {'file': base64.b64encode(other)})],
                'role_ids': [Command.update(self.template.role_ids[1].id, {'name': '承認者'})],
            }
        )
        self.approver.write({'name': '鈴木 本部長', 'email': 'suzuki.new@cloudstamp.example'})
        self.template.with_user(self.owner).file_ids.unlink()
        self.assertEqual(sent(), before)
        self.assertFalse(envelope.file_ids._verify_stored())

    def test_template_files_are_preflighted_when_saved(self):
        template = self.env['cloudstamp.template'].with_user(self.owner)
        for data in (b'not a pdf', encrypted_pdf('user', 'owner')):
            with self.assertRaises(UserError), self.env.cr.savepoint():
                template.create(
                    {'name': 'broken', 'file_ids': [Command.create({'name': 'x.pdf', 'file': base64.b64encode(data)})]}
                )
        self.assertFalse(template.search([('name', '=', 'broken')]))
        with self.assertRaises(UserError):
            self.template.with_user(self.owner).file_ids.write({'file': base64.b64encode(b'%PDF-1.7 broken')})
        self.assertEqual(self.template.file_ids.sha256, hashlib.sha256(NDA).hexdigest())
        self.assertEqual(self.template.file_ids.page_count, 1)

    def test_sharing_decides_who_sends_from_a_template(self):
        Template = self.env['cloudstamp.template']
        visible = lambda user: Template.with_user(user).search([]) & self.template  # noqa: E731
        self.assertEqual(visible(self.owner), self.template)
        self.assertFalse(visible(self.colleague))
        self.assertFalse(visible(self.outsider))
        self.assertEqual(visible(self.admin), self.template)

        self.template.with_user(self.owner).write({'share': 'team', 'team_id': self.team.id})
        self.assertEqual(visible(self.colleague), self.template)
        self.assertFalse(visible(self.outsider))
        # A team member sends from it in their own name, but cannot change it.
        envelope = self.new_from_template(user=self.colleague)
        self.assertEqual(envelope.user_id, self.colleague)
        with self.assertRaises(AccessError):
            self.template.with_user(self.colleague).write({'name': 'mine now'})
        with self.assertRaises(AccessError):
            self.template.role_ids.with_user(self.colleague).write({'partner_id': False})
        with self.assertRaises(AccessError):
            self.template.file_ids.with_user(self.colleague).unlink()

        # Leaving the team takes the template away at once.
        self.team.member_ids.filtered(lambda m: m.user_id == self.colleague).unlink()
        self.assertFalse(visible(self.colleague))

        self.template.with_user(self.owner).write({'share': 'company'})
        self.assertEqual(visible(self.outsider), self.template)
        with self.assertRaises(AccessError):
            self.template.with_user(self.outsider).unlink()

    def test_a_team_share_needs_a_team(self):
        with self.assertRaises(ValidationError):
            self.template.with_user(self.owner).write({'share': 'team', 'team_id': False})

    def test_senders_own_their_templates_administrators_push_them(self):
        mine = self.env['cloudstamp.template'].with_user(self.outsider).create({'name': 'x', 'user_id': self.owner.id})
        self.assertEqual(mine.user_id, self.outsider)
        pushed = (
            self.env['cloudstamp.template']
            .with_user(self.admin)
            .create({'name': '全社標準 NDA', 'share': 'company', 'user_id': self.admin.id})
        )
        self.assertIn(pushed, self.env['cloudstamp.template'].with_user(self.outsider).search([]))

    def test_the_form_offers_the_open_roles(self):
        action = self.template.with_user(self.owner).action_new_envelope()
        send = Form(self.env['cloudstamp.template.send'].with_user(self.owner).browse(action['res_id']))
        self.assertEqual(len(send.line_ids), 1)
        with send.line_ids.edit(0) as line:
            line.partner_id = self.cc
            self.assertEqual(line.email, 'legal@cloudstamp.example')
            line.access_code = 'Sakura2026'
        envelope = self.env['cloudstamp.envelope'].browse(send.save().action_create_draft()['res_id'])
        self.assertEqual(envelope.recipient_ids[0].partner_id, self.cc)
