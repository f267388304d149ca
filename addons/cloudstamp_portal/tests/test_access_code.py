"""Five wrong access codes lock a link, also when the guesses arrive in
parallel (security review finding 6). Real transactions on separate
connections, committed, as two Odoo workers would run them."""

# Real concurrent transactions on their own connections, as workers run them, must commit.
# pylint: disable=invalid-commit
import random
import threading
import time

from psycopg2 import errors

from odoo.tests import tagged
from odoo.tools import mute_logger

from odoo.addons.cloudstamp_sign.tests.common import CloudStampCase, make_envelope, worker_env

CODE = 'Sakura2026'
RETRIED = (errors.LockNotAvailable, errors.SerializationFailure)


@tagged('post_install', '-at_install')
class TestAccessCodeUnderConcurrency(CloudStampCase):
    def setUp(self):
        super().setUp()
        with worker_env(self.registry) as env:
            envelope = make_envelope(
                env, recipients=({'name': 'A', 'email': 'a@partner.example', 'access_code': CODE},)
            )
            envelope.action_send()
            self.recipient_id = envelope.recipient_ids.id
            env.cr.commit()

    def check_as_odoo_would(self, code, seen=None):
        """One request: retried on serialisation failures, as Odoo's HTTP
        layer does. ``seen`` receives how many wrong codes this transaction
        found recorded when it checked (exact: the row lock serialises them)."""
        # Each hash takes ~0.15 s under the row lock: twenty parallel guesses
        # on two cores need room to line up.
        for _attempt in range(300):
            with worker_env(self.registry) as env:
                try:
                    result = env['cloudstamp.recipient'].browse(self.recipient_id)._check_access_code(code)
                    env.flush_all()
                    if seen is not None:
                        env.cr.execute(
                            'SELECT count(*) FROM cloudstamp_event e JOIN cloudstamp_recipient r '
                            "ON r.envelope_id = e.envelope_id WHERE r.id = %s AND e.event_type = 'code_failed'",
                            [self.recipient_id],
                        )
                        seen.append(env.cr.fetchone()[0])
                    env.cr.commit()
                    return result
                except RETRIED:
                    env.cr.rollback()
            time.sleep(random.uniform(0, 0.05))
        raise AssertionError('never got through')

    def read_state(self):
        with worker_env(self.registry) as env:
            recipient = env['cloudstamp.recipient'].browse(self.recipient_id)
            events = recipient.envelope_id.event_ids.sorted('sequence')
            return (
                recipient.locked,
                [e.details['attempt'] for e in events if e.event_type == 'code_failed'],
                len(events.filtered(lambda e: e.event_type == 'locked')),
            )

    def test_a_transaction_that_read_before_the_lock_cannot_pass_after_it(self):
        with worker_env(self.registry) as slow_env, mute_logger('odoo.sql_db'):
            recipient = slow_env['cloudstamp.recipient'].browse(self.recipient_id)
            self.assertFalse(recipient.locked)  # the snapshot is taken here
            for attempt in range(5):
                self.assertFalse(self.check_as_odoo_would(f'wrong-{attempt}'))
            try:
                result = recipient._check_access_code(CODE)
            except RETRIED:
                result = None  # Odoo would retry; see below
            self.assertIsNot(result, True)
            slow_env.cr.rollback()
        self.assertFalse(self.check_as_odoo_would(CODE))
        self.assertEqual(self.read_state(), (True, [1, 2, 3, 4, 5], 1))

    def test_parallel_guesses_test_at_most_five_codes(self):
        codes = [f'wrong-{i:02d}' for i in range(19)] + [CODE]
        random.shuffle(codes)
        barrier = threading.Barrier(len(codes))
        results, seen_by_right_code = {}, []

        def guess(code):
            barrier.wait()
            results[code] = self.check_as_odoo_would(code, seen_by_right_code if code == CODE else None)

        with mute_logger('odoo.sql_db', 'odoo.addons.mail'):
            threads = [threading.Thread(target=guess, args=(code,)) for code in codes]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=300)
        self.assertEqual(len(results), 20)
        self.assertFalse(any(ok for code, ok in results.items() if code != CODE))
        locked, attempts, lock_events = self.read_state()
        # Wrong codes count 1, 2, 3… and stop at 5 with the lock. The right
        # code resets the count, and gets in only while fewer than five wrong
        # codes were counted before it.
        before_right = seen_by_right_code[-1]
        runs = [attempts[:before_right], attempts[before_right:]] if results[CODE] else [attempts]
        for run in runs:
            self.assertEqual(run, list(range(1, len(run) + 1)), attempts)
            self.assertLessEqual(len(run), 5, attempts)
        if results[CODE]:
            self.assertLess(before_right, 5, attempts)
        else:
            self.assertEqual(attempts, [1, 2, 3, 4, 5])
        self.assertEqual(locked, len(runs[-1]) == 5)
        self.assertEqual(lock_events, int(locked))
        # of 19 wrong codes, at most 9 were ever compared (4 before the right one, 5 after)
        self.assertLessEqual(len(attempts), 9)
