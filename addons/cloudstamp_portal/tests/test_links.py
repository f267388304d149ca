from datetime import timedelta

import pytz
from freezegun import freeze_time

from odoo import fields
from odoo.exceptions import UserError
from odoo.tests import new_test_user, tagged

from odoo.addons.cloudstamp_sign.tests.common import CloudStampCase, make_envelope


@tagged('post_install', '-at_install')
class TestLinks(CloudStampCase):
    def test_reminders_skip_locked_links(self):
        locked, waiting = make_envelope(self.env), make_envelope(self.env)
        (locked | waiting).action_send()
        locked.current_recipient_id.sudo().locked = True
        with freeze_time(
            fields.Datetime.now() + timedelta(days=self.env.company.cloudstamp_remind_after_days, hours=1)
        ):
            self.env['cloudstamp.envelope']._cron_remind()
        self.assertNotIn('reminded', locked.event_ids.mapped('event_type'))
        self.assertIn('reminded', waiting.event_ids.mapped('event_type'))
        with self.assertRaisesRegex(UserError, 'locked'):
            locked.action_remind()

    def test_a_link_lives_as_long_as_the_company_says_and_never_past_its_envelope(self):
        self.env.company.cloudstamp_link_days = 2
        envelope = make_envelope(self.env)
        envelope.action_send()
        now = fields.Datetime.now()
        self.assertAlmostEqual(
            envelope.current_recipient_id.token_expiry, now + timedelta(days=2), delta=timedelta(minutes=1)
        )
        self.env.company.cloudstamp_link_days = 30
        envelope.action_remind()
        self.assertEqual(envelope.current_recipient_id.token_expiry, envelope.expiry_date)

    def test_the_mailed_expiry_is_in_the_senders_or_else_the_companys_time_zone(self):
        """Never UTC by default: a sender without a time zone speaks for a
        company in Tokyo, and the recipient reads Tokyo time."""
        self.env.company.partner_id.tz = 'Asia/Tokyo'
        for sender_tz, expected_tz in ((False, 'Asia/Tokyo'), ('Europe/Paris', 'Europe/Paris')):
            sender = new_test_user(
                self.env,
                f'tz-{expected_tz}@cloudstamp.example',
                groups='cloudstamp_sign.group_cloudstamp_user',
                tz=sender_tz,
                lang='en_US',
            )
            envelope = make_envelope(
                self.env(user=sender), recipients=({'name': 'Sato', 'email': 's@x.example', 'lang': 'en_US'},)
            )
            self.assertEqual(envelope.tz, expected_tz)
            envelope.action_send()
            recipient = envelope.current_recipient_id
            mail = self.env['mail.mail'].sudo().search([('model', '=', recipient._name), ('res_id', '=', recipient.id)])
            expiry = pytz.utc.localize(recipient.token_expiry)
            shown = expiry.astimezone(pytz.timezone(expected_tz)).strftime('%H:%M:%S')
            in_utc = expiry.strftime('%H:%M:%S')
            self.assertNotEqual(shown, in_utc)
            self.assertIn(f' {shown}', mail.body_html)
            self.assertNotIn(f' {in_utc}', mail.body_html)
