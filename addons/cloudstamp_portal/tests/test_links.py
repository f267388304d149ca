from datetime import timedelta

from freezegun import freeze_time

from odoo import fields
from odoo.exceptions import UserError
from odoo.tests import tagged

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
