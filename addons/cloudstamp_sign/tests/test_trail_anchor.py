"""The audit trail survives its own database: the event that ends a round is
timestamped by the TSA, so a chain rewritten with SQL (hashes recomputed,
triggers lifted) no longer matches its tokens."""

import base64
import io
from datetime import timedelta

import psycopg2
import pytz
from pypdf import PdfReader

from odoo import fields
from odoo.tests import tagged
from odoo.tools import mute_logger

from .common import CloudStampCase, finalize, make_envelope, ready_to_agree


def certificate_text(envelope):
    reader = PdfReader(io.BytesIO(base64.b64decode(envelope.agreement_certificate_file)))
    return ''.join(page.extract_text() for page in reader.pages)


@tagged('post_install', '-at_install')
class TestTrailAnchor(CloudStampCase):
    def completed(self):
        recipient = ready_to_agree(make_envelope(self.env))
        recipient._action_agree({'ip': '198.51.100.7', 'user_agent': 'test'})
        envelope = recipient.envelope_id
        finalize(self.env)
        self.assertEqual(envelope.state, 'completed')
        return envelope

    def rewrite_chain(self, envelope, change):
        """What someone who owns the database can do: lift the triggers,
        change a row, recompute every later hash exactly as the code does,
        and move the envelope's head along."""
        Event = self.env['cloudstamp.event']
        self.env.flush_all()
        cr = self.env.cr
        cr.execute('ALTER TABLE cloudstamp_event DISABLE TRIGGER USER')
        change(cr)
        Event.invalidate_model()
        previous = Event.GENESIS
        for event in envelope.event_ids.sorted('sequence'):
            new_hash = Event._compute_hash(previous, event._payload())
            cr.execute(
                'UPDATE cloudstamp_event SET previous_hash = %s, event_hash = %s WHERE id = %s',
                [previous, new_hash, event.id],
            )
            previous = new_hash
        cr.execute('UPDATE cloudstamp_envelope SET trail_head = %s WHERE id = %s', [previous, envelope.id])
        cr.execute('ALTER TABLE cloudstamp_event ENABLE TRIGGER USER')
        self.env.invalidate_all()

    def test_completion_is_timestamped_and_the_certificate_carries_head_and_time(self):
        envelope = self.completed()
        final = envelope.event_ids.sorted('sequence')[-1]
        self.assertEqual((final.event_type, envelope.trail_head), ('completed', final.event_hash))
        check = self.service._verify_timestamp_token(
            base64.b64decode(final.anchor_token), bytes.fromhex(final.event_hash)
        )
        self.assertTrue(check.valid and check.trusted, check.problems)
        self.assertAlmostEqual(check.gen_time.replace(tzinfo=None), final.event_time, delta=timedelta(seconds=5))
        self.assertEqual(final.anchor_time, check.gen_time.replace(tzinfo=None))
        text = certificate_text(envelope).replace('\n', '')
        self.assertIn(final.event_hash, text)
        # the time and the authority of that timestamp, as the TSA stated them
        data = envelope._agreement_certificate_data()
        stamped = pytz.utc.localize(final.anchor_time).astimezone(pytz.timezone(data.tz))
        self.assertIn(stamped.strftime('%Y-%m-%d %H:%M:%S'), text)
        self.assertIn(final.anchor_tsa.replace(' ', ''), text.replace(' ', ''))
        self.assertEqual(envelope._verify_trail(), '')

    def test_a_chain_rewritten_with_sql_no_longer_verifies(self):
        envelope = self.completed()
        agreed = envelope.event_ids.filtered(lambda e: e.event_type == 'agreed')

        def forge_ip(cr):
            cr.execute("UPDATE cloudstamp_event SET ip_address = '203.0.113.66' WHERE id = %s", [agreed.id])

        with mute_logger('odoo.sql_db'):
            self.rewrite_chain(envelope, forge_ip)
        # the chain itself is consistent again: only the timestamp tells
        self.assertEqual(envelope.event_ids._verify_chain(), '')
        self.assertEqual(envelope.trail_head, envelope.event_ids.sorted('sequence')[-1].event_hash)
        self.assertIn('rewritten', envelope._verify_trail())

    def test_every_end_of_a_round_is_timestamped(self):
        ends = {}
        recipient = ready_to_agree(make_envelope(self.env))
        recipient._action_decline('金額が違います')
        ends['declined'] = recipient.envelope_id
        recipient = ready_to_agree(make_envelope(self.env))
        recipient._action_request_revision('第3条')
        ends['revision_requested'] = recipient.envelope_id
        sent = make_envelope(self.env)
        sent.action_send()
        sent.action_cancel()
        ends['cancelled'] = sent
        overdue = make_envelope(self.env)
        overdue.action_send()
        overdue.expiry_date = fields.Datetime.now() - timedelta(minutes=1)
        self.env['cloudstamp.envelope']._cron_expire()
        ends['expired'] = overdue
        for event_type, envelope in ends.items():
            final = envelope.event_ids.sorted('sequence')[-1]
            self.assertEqual(final.event_type, event_type)
            self.assertTrue(final.anchor_token and final.anchor_time, event_type)
            self.assertEqual(envelope._verify_trail(), '', event_type)

    def test_a_missing_tail_is_found(self):
        envelope = self.completed()
        final = envelope.event_ids.sorted('sequence')[-1]
        self.env.flush_all()
        with mute_logger('odoo.sql_db'):
            self.env.cr.execute('ALTER TABLE cloudstamp_event DISABLE TRIGGER USER')
            self.env.cr.execute('DELETE FROM cloudstamp_event WHERE id = %s', [final.id])
            self.env.cr.execute('ALTER TABLE cloudstamp_event ENABLE TRIGGER USER')
        self.env.invalidate_all()
        self.assertIn('does not end where it ended', envelope._verify_trail())
        # and with the head moved back too, the finished document lacks its timestamped end
        self.env.cr.execute(
            'UPDATE cloudstamp_envelope SET trail_head = %s WHERE id = %s',
            [envelope.event_ids.sorted('sequence')[-1].event_hash, envelope.id],
        )
        self.env.invalidate_all()
        self.assertIn('timestamped final event', envelope._verify_trail())

    def test_the_trail_cannot_be_truncated(self):
        self.completed()
        self.env.flush_all()
        with mute_logger('odoo.sql_db'), self.assertRaises(psycopg2.Error), self.env.cr.savepoint():
            self.env.cr.execute('TRUNCATE cloudstamp_event CASCADE')

    def test_events_are_stored_as_values_and_read_in_each_language(self):
        self.env['res.lang']._activate_lang('ja_JP')
        recipient = ready_to_agree(
            make_envelope(
                self.env, recipients=({'name': '佐藤 一郎', 'email': 'sato@partner.example', 'lang': 'ja_JP'},)
            )
        )
        recipient.with_context(lang='ja_JP')._action_forward('Dan Director', 'dan@partner.example', '承認お願いします')
        event = recipient.envelope_id.event_ids.filtered(lambda e: e.event_type == 'forwarded')
        self.assertEqual(
            event.details, {'to_name': 'Dan Director', 'to_email': 'dan@partner.example', 'message': '承認お願いします'}
        )
        english = event.with_context(lang='en_US')._describe()
        japanese = event.with_context(lang='ja_JP')._describe()
        for text in (english, japanese):
            for value in event.details.values():
                self.assertIn(value, text)
        self.assertTrue(english.startswith('Forwarded to'))
        self.assertNotEqual(english, japanese)
        self.assertIn('転送', japanese)
