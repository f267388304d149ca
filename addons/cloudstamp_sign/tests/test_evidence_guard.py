"""Evidence is written by the workflow only: no user, administrators
included, changes it through the ORM (RPC goes through the same ORM; see
tests/test_rpc_surface.py for the calls over HTTP)."""

import base64
import hashlib

from odoo import Command, fields
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import Form, tagged

from cloudstamp_engine_testing.pdf_samples import contract_pdf

from ..tools import field_attachments
from .common import CloudStampCase, make_envelope, new_sender, ready_to_agree

REFUSED = AccessError


@tagged('post_install', '-at_install')
class TestEvidenceGuard(CloudStampCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.u1 = new_sender(cls.env, 'u1@cloudstamp.example')
        cls.u2 = new_sender(cls.env, 'u2@cloudstamp.example')
        cls.manager = new_sender(cls.env, 'boss@cloudstamp.example', groups='cloudstamp_sign.group_cloudstamp_manager')
        cls.admin = cls.env.ref('base.user_admin')
        cls.admin.email = 'admin@cloudstamp.example'

    def sent_envelope(self, user):
        envelope = make_envelope(self.env(user=user))
        envelope.action_send()
        return envelope

    def test_children_cannot_change_envelope(self):
        """Security review finding 1: moving one's own recipient or file into
        someone else's envelope would leak it or inject a PDF into it."""
        theirs = self.sent_envelope(self.u2)
        mine = make_envelope(self.env(user=self.u1))
        for record in (mine.recipient_ids, mine.file_ids):
            for target in (theirs, make_envelope(self.env(user=self.u1))):
                with self.assertRaises(REFUSED), self.env.cr.savepoint():
                    record.with_user(self.u1).write({'envelope_id': target.id})
        self.assertEqual(theirs.sudo().recipient_ids.mapped('email'), ['sato@partner.example'])
        self.assertEqual(len(theirs.sudo().file_ids), 1)
        self.assertEqual(mine.recipient_ids.envelope_id, mine)

    def test_nobody_writes_evidence_after_sending_administrators_included(self):
        """Finding 3: states, times, hashes, files and tokens of a sent envelope."""
        envelope = self.sent_envelope(self.u1)
        recipient, document = envelope.recipient_ids, envelope.file_ids
        before = (
            envelope.state,
            document.current_sha256,
            recipient.state,
            len(envelope.sudo().event_ids),
            self.signatures(envelope),
        )
        writes = [
            (envelope, {'state': 'completed'}),
            (envelope, {'current_recipient_id': False}),
            (envelope, {'name': 'Changed title'}),
            (envelope, {'document_ref': 'CS-FAKE'}),
            (envelope, {'agreement_certificate_file': base64.b64encode(b'%PDF-1.4')}),
            (document, {'current_sha256': '0' * 64}),
            (document, {'signed_file': base64.b64encode(contract_pdf('偽物'))}),
            (document, {'original_file': base64.b64encode(contract_pdf('偽物'))}),
            (document, {'name': 'other.pdf'}),
            (recipient, {'terms_accepted_at': fields.Datetime.now()}),
            (recipient, {'state': 'agreed'}),
            (recipient, {'locked': True}),
            (recipient, {'email': 'attacker@evil.example'}),
            (recipient, {'access_code': 'NewCode123'}),
        ]
        for user in (self.u1, self.manager, self.admin):
            for record, vals in writes:
                with (
                    self.subTest(user=user.login, model=record._name, vals=list(vals)),
                    self.assertRaises(REFUSED),
                    self.env.cr.savepoint(),
                ):
                    record.with_user(user).write(vals)
            for record in (document, recipient):
                with self.assertRaises(REFUSED), self.env.cr.savepoint():
                    record.with_user(user).unlink()
            with self.assertRaises(REFUSED), self.env.cr.savepoint():
                self.env['cloudstamp.envelope.file'].with_user(user).create(
                    {
                        'envelope_id': envelope.id,
                        'name': 'late.pdf',
                        'original_file': base64.b64encode(contract_pdf('後から')),
                    }
                )
            with self.assertRaises(REFUSED), self.env.cr.savepoint():
                self.env['cloudstamp.recipient'].with_user(user).create(
                    {'envelope_id': envelope.id, 'name': 'Eve', 'email': 'eve@evil.example'}
                )
        envelope.invalidate_recordset()
        self.assertEqual(
            before,
            (
                envelope.state,
                document.current_sha256,
                recipient.state,
                len(envelope.sudo().event_ids),
                self.signatures(envelope),
            ),
        )
        self.assertEqual(envelope.sudo()._verify_trail(), '')

    def test_a_sent_envelope_cannot_be_deleted(self):
        envelope = self.sent_envelope(self.u1)
        for user in (self.manager, self.admin):
            with self.assertRaises(REFUSED), self.env.cr.savepoint():
                envelope.with_user(user).unlink()
        self.assertTrue(envelope.exists())

    def test_workflow_fields_are_refused_even_in_a_draft(self):
        draft = make_envelope(self.env(user=self.u1))
        for record, vals in (
            (draft, {'state': 'completed'}),
            (draft, {'sent_date': fields.Datetime.now()}),
            (draft.recipient_ids, {'terms_accepted_at': fields.Datetime.now()}),
            (draft.recipient_ids, {'has_access_code': True}),
            (draft.file_ids, {'current_sha256': '0' * 64}),
        ):
            with self.assertRaises(AccessError), self.env.cr.savepoint():
                record.with_user(self.u1).write(vals)
        with self.assertRaises(AccessError), self.env.cr.savepoint():
            self.env['cloudstamp.recipient'].with_user(self.u1).create(
                {'envelope_id': draft.id, 'name': 'X', 'email': 'x@partner.example', 'state': 'agreed'}
            )

    def test_a_draft_is_edited_freely_through_the_form(self):
        form = Form(self.env['cloudstamp.envelope'].with_user(self.u1))
        form.name = '業務委託契約書'
        with form.file_ids.new() as line:
            line.original_file = base64.b64encode(contract_pdf())
            line.name = 'contract.pdf'
        with form.recipient_ids.new() as line:
            line.name = '山田 太郎'
            line.email = 'Yamada Taro <Yamada@Client.example>'
            line.access_code = 'Sakura2026'
        envelope = form.save()
        self.assertEqual(envelope.user_id, self.u1)
        self.assertEqual(envelope.recipient_ids.email, 'yamada@client.example')
        self.assertTrue(envelope.recipient_ids.has_access_code)
        envelope.with_user(self.u1).write(
            {
                'name': '業務委託契約書(改)',
                'recipient_ids': [Command.create({'name': 'Ken', 'email': 'ken@partner.example'})],
            }
        )
        envelope.recipient_ids[1].with_user(self.u1).unlink()
        envelope.with_user(self.u1).action_send()
        self.assertEqual(envelope.state, 'sent')

    def test_evidence_files_cannot_be_reached_through_attachments(self):
        envelope = self.sent_envelope(self.u1)
        document = envelope.file_ids
        signed = field_attachments(document, 'signed_file')
        self.assertTrue(signed)
        fake = base64.b64encode(contract_pdf('偽物'))
        for user in (self.u1, self.admin):
            Attachment = self.env['ir.attachment'].with_user(user)
            for action in (
                lambda user=user: signed.with_user(user).write({'datas': fake}),
                lambda user=user: signed.with_user(user).unlink(),
                # a second attachment for the same field would shadow the real one
                lambda Attachment=Attachment: Attachment.create(
                    {
                        'name': 'x.pdf',
                        'datas': fake,
                        'res_model': 'cloudstamp.envelope.file',
                        'res_id': document.id,
                        'res_field': 'signed_file',
                    }
                ),
            ):
                with self.assertRaises(AccessError), self.env.cr.savepoint():
                    action()
            chatter_file = Attachment.create(
                {'name': 'note.pdf', 'datas': fake, 'res_model': 'cloudstamp.envelope', 'res_id': envelope.id}
            )
            with self.assertRaises(AccessError), self.env.cr.savepoint():
                chatter_file.write({'res_field': 'agreement_certificate_file'})
        self.assertEqual(self.signatures(envelope), [('send', 'u1@cloudstamp.example')])
        self.assertEqual(envelope._verify_trail(), '')

    def test_a_sender_sends_in_their_own_name_with_a_vouched_address(self):
        """Finding 17: users may change their own name and email, so neither
        can say who sent; non-administrators cannot send for someone else."""
        draft = self.env['cloudstamp.envelope'].with_user(self.u1).create({'name': 'x', 'user_id': self.u2.id})
        self.assertEqual(draft.user_id, self.u1)
        self.u1.with_user(self.u1).write({'email': 'ceo@cloudstamp.example', 'name': '代表取締役'})
        envelope = self.sent_envelope(self.u1)
        self.assertEqual(self.signatures(envelope), [('send', 'u1@cloudstamp.example')])
        self.assertEqual(envelope.sudo().event_ids[0].actor, 'u1@cloudstamp.example')
        # the address administrators vouch for wins over the login
        self.u1.sudo().cloudstamp_sender_email = 'sales-1@cloudstamp.example'
        self.assertEqual(self.signatures(self.sent_envelope(self.u1)), [('send', 'sales-1@cloudstamp.example')])
        with self.assertRaises(AccessError):
            self.u1.with_user(self.u1).write({'cloudstamp_sender_email': 'ceo@cloudstamp.example'})
        # a login that is not an address, and no vouched address: no sending
        nameless = new_sender(self.env, 'tanaka')
        with self.assertRaisesRegex(UserError, 'sender email'):
            make_envelope(self.env(user=nameless)).action_send()
        # a CloudStamp administrator may prepare a document for a sender
        prepared = self.env['cloudstamp.envelope'].with_user(self.manager).create({'name': 'y', 'user_id': self.u2.id})
        self.assertEqual(prepared.user_id, self.u2)

    def test_the_trail_checks_the_stored_bytes(self):
        recipient = ready_to_agree(make_envelope(self.env))
        envelope = recipient.envelope_id
        document = envelope.file_ids
        # a hash edited behind the workflow's back no longer vouches for the file
        with self.env.cr.savepoint():
            document.sudo().write({'current_sha256': '0' * 64})
            self.assertIn(document.name, envelope._verify_trail())
        document.invalidate_recordset()
        # a file swapped on disk is found, and the next event does not absorb it
        attachment = field_attachments(document, 'signed_file')
        attachment.write({'raw': contract_pdf('差し替え / Swapped')})
        events = len(envelope.event_ids)
        with self.assertRaisesRegex(UserError, 'changed outside CloudStamp'), self.env.cr.savepoint():
            recipient._action_agree()
        self.assertEqual((len(envelope.event_ids), recipient.state), (events, 'opened'))  # not agreed
        self.assertNotEqual(hashlib.sha256(document._current_pdf()).hexdigest(), document.current_sha256)
        self.assertIn(document.name, envelope._verify_trail())

    def test_revise_keeps_every_access_code(self):
        """Finding 10."""
        envelope = make_envelope(
            self.env(user=self.u1),
            recipients=(
                {'name': 'A', 'email': 'a@partner.example', 'access_code': 'Sakura2026'},
                {'name': 'B', 'email': 'b@partner.example'},
            ),
        )
        recipient = ready_to_agree(envelope)
        recipient._action_request_revision('第3条を修正してください')
        action = envelope.with_user(self.u1).action_revise()
        revised = self.env['cloudstamp.envelope'].browse(action['res_id'])
        self.assertEqual(revised.user_id, self.u1)
        self.assertEqual(revised.recipient_ids.mapped('has_access_code'), [True, False])
        self.assertEqual(
            revised.recipient_ids[0].sudo().access_code_hash, envelope.recipient_ids[0].sudo().access_code_hash
        )

    def test_access_codes_have_a_minimum_length(self):
        with self.assertRaisesRegex(ValidationError, '6'):
            make_envelope(
                self.env(user=self.u1), recipients=({'name': 'A', 'email': 'a@partner.example', 'access_code': '1234'},)
            )
