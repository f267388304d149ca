import base64

# Real concurrent transactions on their own connections, as workers run them, must commit.
# pylint: disable=invalid-commit
import threading
from datetime import timedelta
from unittest.mock import patch

import psycopg2
from freezegun import freeze_time

from odoo import Command, fields
from odoo.exceptions import AccessError, UserError
from odoo.tests import tagged
from odoo.tools import mute_logger

from cloudstamp_engine_testing.pdf_samples import contract_pdf

from .common import RECIPIENT, CloudStampCase, finalize, make_envelope, ready_to_agree, worker_env


@tagged('post_install', '-at_install')
class TestEnvelopeEvidence(CloudStampCase):
    def test_events_are_append_only_even_for_administrators(self):
        envelope = make_envelope(self.env)
        envelope.action_send()
        event = envelope.event_ids[0]
        admin_env = self.env(user=self.env.ref('base.user_admin'))
        for target in (event, event.with_env(admin_env), event.sudo()):
            with self.assertRaises(AccessError):
                target.write({'actor': 'someone@else.example'})
            with self.assertRaises(AccessError):
                target.unlink()
        with mute_logger('odoo.sql_db'), self.assertRaises(psycopg2.Error), self.env.cr.savepoint():
            self.env.cr.execute("UPDATE cloudstamp_event SET actor = 'x' WHERE id = %s", [event.id])
        with mute_logger('odoo.sql_db'), self.assertRaises(psycopg2.Error), self.env.cr.savepoint():
            self.env.cr.execute('DELETE FROM cloudstamp_event WHERE id = %s', [event.id])

    def test_trail_verification_finds_a_changed_event_and_a_swapped_pdf(self):
        recipient = ready_to_agree(make_envelope(self.env))
        envelope = recipient.envelope_id
        recipient._action_agree()
        # the last agreement leaves the rest to the cron job, triggered at once
        self.assertEqual(envelope.state, 'finalizing')
        cron = self.env.ref('cloudstamp_sign.ir_cron_finalize_envelopes')
        self.assertTrue(self.env['ir.cron.trigger'].search([('cron_id', '=', cron.id)]))
        self.assertFalse(envelope.agreement_certificate_file)
        finalize(self.env)
        self.assertEqual(envelope.state, 'completed')
        self.assertEqual(envelope._verify_trail(), '')
        events = envelope.event_ids.sorted('sequence')
        self.assertEqual(events[0].previous_hash, '0' * 64)
        for earlier, later in zip(events, events[1:], strict=False):
            self.assertEqual(later.previous_hash, earlier.event_hash)

        # a row changed behind the ORM's back (trigger lifted, as an attacker with
        # database access would) is reported with its position
        self.env.flush_all()
        self.env.cr.execute('SAVEPOINT tamper')
        self.env.cr.execute('ALTER TABLE cloudstamp_event DISABLE TRIGGER cloudstamp_event_append_only')
        self.env.cr.execute("UPDATE cloudstamp_event SET ip_address = '203.0.113.9' WHERE id = %s", [events[2].id])
        self.env.cr.execute('ALTER TABLE cloudstamp_event ENABLE TRIGGER cloudstamp_event_append_only')
        self.env['cloudstamp.event'].invalidate_model()
        self.assertIn(f'event {events[2].sequence}', envelope._verify_trail())
        self.env.cr.execute('ROLLBACK TO SAVEPOINT tamper')
        self.env['cloudstamp.event'].invalidate_model()
        self.assertEqual(envelope._verify_trail(), '')

        # a stored PDF swapped for another file
        document = envelope.file_ids
        document.sudo().write({'signed_file': base64.b64encode(contract_pdf('偽物 / Fake'))})
        self.assertIn(document.name, envelope._verify_trail())

    def test_a_failure_while_signing_leaves_the_envelope_as_it_was(self):
        first = dict(RECIPIENT)
        second = {'name': 'Ken', 'email': 'ken@partner.example'}
        recipient = ready_to_agree(make_envelope(self.env, (first, second)))
        envelope = recipient.envelope_id
        before = {
            'state': envelope.state,
            'hashes': envelope.file_ids._current_hashes(),
            'files': envelope.file_ids.mapped('signed_file'),
            'events': len(envelope.event_ids),
            'recipient': recipient.state,
            'turn': envelope.current_recipient_id,
        }
        # The TSA goes away mid-flow: no signature may be added without its timestamp.
        self.env['ir.config_parameter'].sudo().set_param('cloudstamp.tsa_url', 'http://127.0.0.1:9/tsa')
        with self.assertRaises(UserError), self.env.cr.savepoint():
            recipient._action_agree()
        self.env['ir.config_parameter'].sudo().set_param('cloudstamp.tsa_url', '')
        envelope.invalidate_recordset()
        recipient.invalidate_recordset()
        self.assertEqual(envelope.state, before['state'])
        self.assertEqual(envelope.file_ids._current_hashes(), before['hashes'])
        self.assertEqual(envelope.file_ids.mapped('signed_file'), before['files'])
        self.assertEqual(len(envelope.event_ids), before['events'])
        self.assertEqual(recipient.state, before['recipient'])
        self.assertEqual(envelope.current_recipient_id, before['turn'])
        # and the same turn still works afterwards
        recipient._action_agree()
        self.assertEqual(recipient.state, 'agreed')

    def test_the_same_turn_cannot_be_completed_twice(self):
        recipient = ready_to_agree(make_envelope(self.env))
        recipient._action_agree()
        for action in (
            recipient._action_agree,
            lambda: recipient._action_decline('late'),
            lambda: recipient._action_forward('X', 'x@example.jp'),
        ):
            with self.assertRaises(UserError):
                action()
        report = self.service._verify_pdf(base64.b64decode(recipient.envelope_id.file_ids.signed_file))
        self.assertEqual([s.action for s in report.signatures], ['send', 'agree'])


@tagged('post_install', '-at_install')
class TestConcurrentAgreement(CloudStampCase):
    """Real concurrent transactions on separate connections (committed data)."""

    def test_two_agree_requests_at_once_give_exactly_one_signature(self):
        with worker_env(self.registry) as env:
            recipient_id = ready_to_agree(make_envelope(env)).id
            env.cr.commit()

        barrier = threading.Barrier(2)
        outcomes = []

        def agree():
            with worker_env(self.registry) as env:
                recipient = env['cloudstamp.recipient'].browse(recipient_id)
                barrier.wait()
                try:
                    recipient._action_agree()
                    env.cr.commit()
                    outcomes.append('agreed')
                except (UserError, psycopg2.Error) as exc:
                    env.cr.rollback()
                    outcomes.append(type(exc).__name__)

        with mute_logger('odoo.sql_db'):
            threads = [threading.Thread(target=agree) for _ in range(2)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=120)
        self.assertEqual(outcomes.count('agreed'), 1, outcomes)

        with worker_env(self.registry) as env:
            envelope = env['cloudstamp.recipient'].browse(recipient_id).envelope_id
            data = base64.b64decode(envelope.file_ids.signed_file)
            report = env['cloudstamp.signing.service']._verify_pdf(data)
            self.assertEqual([s.action for s in report.signatures], ['send', 'agree'])
            self.assertEqual(envelope.state, 'finalizing')
            # committed data: leave no envelope for later tests' cron runs
            finalize(env)
            self.assertEqual(envelope.state, 'completed')
            env.cr.commit()
            self.assertEqual(len(envelope.event_ids.filtered(lambda e: e.event_type == 'agreed')), 1)


@tagged('post_install', '-at_install')
class TestCrons(CloudStampCase):
    def test_reminder_cron_follows_the_company_delay_and_replaces_the_link(self):
        self.env.company.cloudstamp_remind_after_days = 3
        envelope = make_envelope(self.env)
        envelope.action_send()
        recipient = envelope.current_recipient_id
        old_hash = recipient.sudo().token_hash
        sent = fields.Datetime.now()
        with freeze_time(sent + timedelta(days=2, hours=23)):
            self.env['cloudstamp.envelope']._cron_remind()
        self.assertEqual(recipient.sudo().token_hash, old_hash)  # not due yet
        with freeze_time(sent + timedelta(days=3, hours=1)):
            self.env['cloudstamp.envelope']._cron_remind()
        self.assertNotEqual(recipient.sudo().token_hash, old_hash)
        self.assertIn('reminded', envelope.event_ids.mapped('event_type'))

    def test_business_defaults_are_per_company_and_checked(self):
        self.env.company.cloudstamp_expiry_days = 30
        envelope = make_envelope(self.env)
        self.assertAlmostEqual(
            envelope.expiry_date, fields.Datetime.now() + timedelta(days=30), delta=timedelta(minutes=1)
        )
        with self.assertRaises(psycopg2.errors.CheckViolation), mute_logger('odoo.sql_db'):
            with self.env.cr.savepoint():
                self.env.company.cloudstamp_remind_after_days = -1
                self.env.company.flush_recordset()

    def test_finalizing_waits_out_a_tsa_outage(self):
        recipient = ready_to_agree(make_envelope(self.env))
        recipient._action_agree()
        envelope = recipient.envelope_id
        params = self.env['ir.config_parameter'].sudo()
        params.set_param('cloudstamp.tsa_url', 'http://127.0.0.1:9/tsa')
        with mute_logger(
            'odoo.addons.cloudstamp_sign.models.cloudstamp_envelope',
            'odoo.addons.cloudstamp_sign.models.cloudstamp_signing_service',
        ):
            finalize(self.env)
        self.assertEqual(envelope.state, 'finalizing')
        self.assertFalse(envelope.agreement_certificate_file)
        self.assertNotIn('completed', envelope.event_ids.mapped('event_type'))
        params.set_param('cloudstamp.tsa_url', '')
        finalize(self.env)  # the next run
        self.assertEqual(envelope.state, 'completed')
        self.assertEqual(envelope._verify_trail(), '')

    def test_one_failing_envelope_does_not_stop_a_cron(self):
        broken, fine = make_envelope(self.env), make_envelope(self.env)
        (broken | fine).action_send()
        Envelope = type(self.env['cloudstamp.envelope'])
        original = Envelope._end_round

        def end_round(envelope, *args, **kwargs):
            if envelope == broken:
                raise RuntimeError('mail server exploded')
            return original(envelope, *args, **kwargs)

        with (
            patch.object(Envelope, '_end_round', end_round),
            mute_logger('odoo.addons.cloudstamp_sign.models.cloudstamp_envelope'),
        ):
            with freeze_time(max((broken | fine).mapped('expiry_date')) + timedelta(hours=1)):
                self.env['cloudstamp.envelope']._cron_expire()
        self.assertEqual((broken.state, fine.state), ('sent', 'expired'))
        self.assertEqual(broken._verify_trail(), '')

    def test_expiry_cron_only_touches_overdue_waiting_envelopes(self):
        overdue, current = make_envelope(self.env), make_envelope(self.env)
        (overdue | current).action_send()
        overdue.expiry_date = fields.Datetime.now() + timedelta(days=1)
        with freeze_time(fields.Datetime.now() + timedelta(days=2)):
            self.env['cloudstamp.envelope']._cron_expire()
        self.assertEqual((overdue.state, current.state), ('expired', 'sent'))
        self.assertEqual(overdue._verify_trail(), '')


@tagged('post_install', '-at_install')
class TestUploads(CloudStampCase):
    def test_a_refused_upload_stores_nothing_and_speaks_the_users_language(self):
        envelope = self.env['cloudstamp.envelope'].create({'name': '見積書'})
        documents, attachments = self.env['cloudstamp.envelope.file'], self.env['ir.attachment'].sudo()
        before = (
            documents.search_count([]),
            attachments.search_count([('res_model', '=', 'cloudstamp.envelope.file')]),
        )
        for data, words in ((b'PK\x03\x04 a zip file', 'PDFファイルではありません'), (contract_pdf()[:300], '破損')):
            with self.assertRaisesRegex(UserError, words), self.env.cr.savepoint():
                documents.with_context(lang='ja_JP').create(
                    {'envelope_id': envelope.id, 'name': 'upload.pdf', 'original_file': base64.b64encode(data)}
                )
        self.assertEqual(
            before,
            (documents.search_count([]), attachments.search_count([('res_model', '=', 'cloudstamp.envelope.file')])),
        )

    def test_a_send_over_the_total_limit_is_refused(self):
        self.env['ir.config_parameter'].sudo().set_param('cloudstamp.max_send_mb', 0.02)
        half = base64.b64encode(contract_pdf(padding_bytes=12 * 1024))  # each alone is fine
        with self.assertRaisesRegex(UserError, 'limit per send'):
            self.env['cloudstamp.envelope'].create(
                {
                    'name': 'x',
                    'file_ids': [Command.create({'name': f'{i}.pdf', 'original_file': half}) for i in range(2)],
                }
            )
