"""Bulk send (一括送信): the CSV preview in every accepted encoding, and the
background sending by cron workers on real, committed transactions."""

# Real concurrent transactions on their own connections, as cron workers run them, must commit.
# pylint: disable=invalid-commit
import base64
import threading
import uuid
from types import SimpleNamespace
from unittest.mock import patch

from odoo import Command, api
from odoo.exceptions import AccessError, UserError
from odoo.sql_db import db_connect
from odoo.tests import TransactionCase, tagged
from odoo.tools import config, mute_logger

from odoo.addons.base.models import ir_mail_server
from odoo.addons.mail.models import mail_mail

from cloudstamp_engine_testing import smtp
from cloudstamp_engine_testing.pdf_samples import contract_pdf

from ..tools import bulk_csv
from .common import new_sender, worker_env

ROLE = '先方担当者'
# Line numbers as a spreadsheet shows them; the header is line 1.
ROWS = [
    'name,email,company,lang,access_code,title',
    '佐藤 一郎,sato@partner.example,株式会社サンプル,日本語,,秘密保持契約書 (佐藤様)',  # 2 ok
    '鈴木 花子,not-an-address,鈴木商事,ja,,',  # 3 bad email
    ',nameless@partner.example,,en,,',  # 4 missing name
    '高橋 健,takahashi@partner.example,,クリンゴン語,,',  # 5 unknown language
    '佐藤 一郎 (2),SATO@partner.example,,,,',  # 6 duplicate of line 2
    '',  # 7 blank: skipped
    'John Smith,john@partner.example,Example Ltd.,English,Sakura2026,',  # 8 ok, with an access code
    '田中 誠,tanaka@partner.example,,,123,',  # 9 access code too short
]
EXPECTED_INVALID = {
    3: 'not one valid email address',
    4: 'the name is missing',
    5: 'unknown or inactive language',
    6: 'Same recipients as line 2',
    9: 'at least 6 characters',
}


def make_template(env, name='秘密保持契約書', roles=(ROLE,), pdf=None, **role_values):
    return env['cloudstamp.template'].create(
        {
            'name': name,
            'file_ids': [Command.create({'name': 'nda.pdf', 'file': base64.b64encode(pdf or contract_pdf(name))})],
            'role_ids': [
                Command.create({'name': role, 'sequence': (i + 1) * 10, **role_values}) for i, role in enumerate(roles)
            ],
        }
    )


@tagged('post_install', '-at_install')
class TestBulkSendPreview(TransactionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env['res.lang']._activate_lang('ja_JP')
        cls.sender = new_sender(cls.env, 'bulk-preview@cloudstamp.example')
        cls.template = make_template(cls.env(user=cls.sender))

    def preview(self, data, template=None):
        batch = (
            self.env['cloudstamp.bulk.send']
            .with_user(self.sender)
            .create(
                {
                    'template_id': (template or self.template).id,
                    'csv_file': base64.b64encode(data),
                    'csv_filename': 'rows.csv',
                }
            )
        )
        batch.action_preview()
        return batch

    def check_preview(self, encoding, data):
        batch = self.preview(data)
        self.assertEqual(batch.encoding, encoding)
        self.assertEqual(batch.state, 'ready')
        lines = batch.line_ids.sorted('line_number')
        self.assertEqual(lines.mapped('line_number'), [2, 3, 4, 5, 6, 8, 9])
        invalid = {line.line_number: line.error for line in lines if line.state == 'invalid'}
        self.assertEqual(set(invalid), set(EXPECTED_INVALID))
        for number, reason in EXPECTED_INVALID.items():
            self.assertIn(reason, invalid[number])
        self.assertEqual((batch.line_count, batch.valid_count, batch.invalid_count), (7, 2, 5))
        first = lines[0]
        self.assertEqual(first.recipient_summary, '佐藤 一郎 <sato@partner.example>')
        role_values = first.values['roles'][str(self.template._open_roles().id)]
        self.assertEqual(
            (role_values['name'], role_values['company_name'], role_values['lang']),
            ('佐藤 一郎', '株式会社サンプル', 'ja_JP'),
        )
        self.assertEqual(first.values['title'], '秘密保持契約書 (佐藤様)')
        self.assertEqual(
            lines.filtered(lambda line: line.line_number == 8).values['roles'],
            {
                str(self.template._open_roles().id): {
                    'name': 'John Smith',
                    'email': 'john@partner.example',
                    'company_name': 'Example Ltd.',
                    'lang': 'en_US',
                }
            },
        )
        return batch

    def test_utf8_with_bom(self):
        self.check_preview('utf-8-sig', '\r\n'.join(ROWS).encode('utf-8-sig'))

    def test_utf8_without_bom(self):
        self.check_preview('utf-8', '\n'.join(ROWS).encode('utf-8'))

    def test_shift_jis_as_japanese_excel_writes(self):
        data = '\r\n'.join(ROWS).encode('cp932')
        with self.assertRaises(UnicodeDecodeError):
            data.decode('utf-8')  # really not UTF-8
        self.check_preview('cp932', data)

    def test_role_columns_and_required_access_code(self):
        template = make_template(
            self.env(user=self.sender), name='業務委託契約書', roles=(ROLE, '当社承認者'), access_code_required=True
        )
        data = '\n'.join(
            [
                f'{ROLE}:name,{ROLE}:email,{ROLE}:access_code,当社承認者:name,当社承認者:email,当社承認者:access_code',
                '佐藤,sato@partner.example,Sakura2026,山田,yamada@cloudstamp.example,Fuji2026x',
                '鈴木,suzuki@partner.example,,山田,yamada@cloudstamp.example,Fuji2026x',
            ]
        ).encode()
        batch = self.preview(data, template)
        lines = batch.line_ids.sorted('line_number')
        self.assertEqual(lines.mapped('state'), ['pending', 'invalid'])
        self.assertIn(f'{ROLE}: the access code is missing', lines[1].error)
        # Plain columns are only for a single open role.
        with self.assertRaisesRegex(UserError, 'Unknown columns in the header row: name, email'):
            self.preview(b'name,email\nA,a@partner.example\n', template)

    def test_file_level_errors_store_nothing(self):
        cases = [
            (b'', 'The file is empty'),
            (b'email,company\na@partner.example,A\n', f'Columns missing from the header row: {ROLE}:name'),
            (b'name,email,amout\nA,a@partner.example,1\n', 'Unknown columns in the header row: amout'),
            ('name,email\n'.encode('utf-16'), 'neither UTF-8 nor Shift_JIS'),
            (b'name,email\n', 'no row to send'),
        ]
        for data, message in cases:
            with self.subTest(message=message):
                batch = (
                    self.env['cloudstamp.bulk.send']
                    .with_user(self.sender)
                    .create({'template_id': self.template.id, 'csv_file': base64.b64encode(data) or False})
                )
                with self.assertRaisesRegex(UserError, message):
                    batch.action_preview()
                self.assertEqual((batch.state, batch.line_ids.ids), ('draft', []))
        with patch.object(bulk_csv, 'MAX_ROWS', 3):
            rows = ['name,email'] + [f'P{i},p{i}@partner.example' for i in range(4)]
            with self.assertRaisesRegex(UserError, 'more than 3 rows'):
                self.preview('\n'.join(rows).encode())

    def test_access_codes_are_hidden_and_rows_read_only(self):
        batch = self.preview('\n'.join(ROWS).encode())
        line = batch.line_ids.filtered(lambda row: row.line_number == 8)
        self.assertEqual(line.sudo().access_codes, {str(self.template._open_roles().id): 'Sakura2026'})
        with self.assertRaises(AccessError):
            line.with_user(self.sender).read(['access_codes'])
        # The stored file no longer holds the code either.
        stored = base64.b64decode(batch.csv_file).decode()
        self.assertNotIn('Sakura2026', stored)
        self.assertIn('******', stored)
        # ... so it cannot be previewed again (the codes would read "******"), nor copied.
        with self.assertRaisesRegex(UserError, 'upload it again'):
            batch.with_user(self.sender).action_preview()
        self.assertFalse(batch.with_user(self.sender).copy().csv_file)
        batch.with_user(self.sender).write({'csv_file': base64.b64encode('\n'.join(ROWS).encode())})
        self.assertEqual((batch.state, batch.codes_masked, batch.line_ids.ids), ('draft', False, []))
        batch.with_user(self.sender).action_preview()
        line = batch.line_ids.filtered(lambda row: row.line_number == 8)
        # Nobody marks a row sent, or a batch done, but the workflow.
        with self.assertRaises(AccessError):
            line.with_user(self.sender).write({'state': 'sent'})
        with self.assertRaises(AccessError):
            batch.with_user(self.sender).write({'state': 'done'})
        with self.assertRaises(AccessError):
            self.env['cloudstamp.bulk.send.line'].with_user(self.sender).create(
                {'batch_id': batch.id, 'state': 'sent', 'line_number': 99}
            )
        # Another sender sees neither the batch nor its rows.
        other = new_sender(self.env, 'bulk-other@cloudstamp.example')
        self.assertFalse(self.env['cloudstamp.bulk.send'].with_user(other).search([('id', '=', batch.id)]))
        self.assertFalse(self.env['cloudstamp.bulk.send.line'].with_user(other).search([('batch_id', '=', batch.id)]))
        # Cancelling forgets the codes.
        batch.with_user(self.sender).action_cancel()
        self.assertFalse(line.sudo().access_codes)

    def test_archive_metadata_columns(self):
        if 'contract_amount' not in self.env['cloudstamp.envelope']._fields:
            self.skipTest('cloudstamp_archive is not installed')
        data = '\n'.join(
            [
                'name,email,amount,date_start,date_end,transaction_date',
                'A,a@partner.example,"￥1,200,000",2026/4/1,2027-03-31,2026年3月15日',
                'B,b@partner.example,abc,2026-02-30,,',
                'C,c@partner.example,,2027-04-01,2026-04-01,',
            ]
        ).encode('cp932')
        lines = self.preview(data).line_ids.sorted('line_number')
        self.assertEqual(
            lines[0].values['metadata'],
            {
                'amount': '1200000',
                'date_start': '2026-04-01',
                'date_end': '2027-03-31',
                'transaction_date': '2026-03-15',
            },
        )
        self.assertIn('"abc" is not a number', lines[1].error)
        self.assertIn('"2026-02-30" is not a date', lines[1].error)
        self.assertIn('ends (2026-04-01) before it starts (2027-04-01)', lines[2].error)


class _WorkerRegistry:
    """What mail's after-commit sending asks of the registry: a cursor of its
    own, handed the registry as tests/common.worker_env does."""

    def __init__(self, registry):
        self.registry = registry

    def cursor(self):
        cr = db_connect(self.registry.db_name).cursor()
        cr.transaction = api.Transaction(self.registry)
        return cr


@tagged('post_install', '-at_install')
class TestBulkSendWorkers(TransactionCase):
    """The cron workers, on their own committed transactions, with request
    mails delivered over SMTP to a catcher after each row's commit."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.catcher = smtp.Catcher().start()
        cls.addClassCleanup(cls.catcher.shutdown)
        registry = cls.registry
        for patcher in (
            # Odoo skips SMTP while a test runs; these tests deliver for real.
            patch.object(ir_mail_server, 'modules', SimpleNamespace(module=SimpleNamespace(current_test=False))),
            patch.dict(config.options, {'smtp_server': '127.0.0.1', 'smtp_port': cls.catcher.port, 'smtp_ssl': False}),
            # The mail leaves after the row's commit on a new cursor; the test
            # runner holds the registry lock that a lookup by name would wait for.
            patch.object(mail_mail, 'Registry', lambda _name: _WorkerRegistry(registry)),
        ):
            patcher.start()
            cls.addClassCleanup(patcher.stop)
        cls.tag = uuid.uuid4().hex[:8]
        with worker_env(registry) as env:
            env['res.lang']._activate_lang('ja_JP')
            sender = new_sender(env, f'bulk-{cls.tag}@cloudstamp.example')
            cls.sender_id = sender.id
            cls.template_id = make_template(env(user=sender), name=f'一括 {cls.tag}').id
            env.cr.commit()

    def make_batch(self, count, invalid=0):
        rows = ['name,email,company,lang'] + [
            f'受信者 {i},r{i}-{self.tag}-{uuid.uuid4().hex[:6]}@partner.example,会社 {i},ja' for i in range(count)
        ]
        rows += [f'Bad {i},bad-{i},,ja' for i in range(invalid)]
        with worker_env(self.registry) as env:
            batch = (
                env['cloudstamp.bulk.send']
                .with_user(self.sender_id)
                .create(
                    {'template_id': self.template_id, 'csv_file': base64.b64encode('\n'.join(rows).encode('utf-8-sig'))}
                )
            )
            batch.action_preview()
            batch.action_start()
            env.cr.commit()
            return batch.id

    def run_worker(self, rounds=1000):
        """One cron worker: run the job until it has nothing left."""
        with worker_env(self.registry) as env:
            for _round in range(rounds):
                if not env['cloudstamp.bulk.send']._cron_process_bulk_sends():
                    break

    def in_thread(self, target, name=None):
        """Run ``target`` in another thread, as a cron worker does: there a
        mail leaves after the commit, not at once as in the test's thread."""
        thread = threading.Thread(target=target, name=name)
        thread.start()
        thread.join(timeout=300)
        self.assertFalse(thread.is_alive())

    def outcome(self, batch_id):
        with worker_env(self.registry) as env:
            batch = env['cloudstamp.bulk.send'].browse(batch_id)
            lines = batch.line_ids.sorted('line_number')
            addresses = [
                values['email']
                for line in lines.filtered(lambda line: line.state != 'invalid')
                for values in line.values['roles'].values()
            ]
            return SimpleNamespace(
                state=batch.state,
                lines={
                    line.line_number: (line.state, line.envelope_id.state or None, line.error or '') for line in lines
                },
                addresses=addresses,
                # Every document made for these addresses, whoever made it.
                envelopes=env['cloudstamp.envelope'].search([('recipient_ids.email', 'in', addresses)]).ids,
                line_envelopes=lines.envelope_id.ids,
                codes=[line.access_codes for line in lines],
                messages=batch.message_ids.mapped('body'),
                notified=len(lines.envelope_id.event_ids.filtered(lambda e: e.event_type == 'notified')),
            )

    def mails_to(self, addresses):
        """How many request mails each address received."""
        received = [rcpt for rcpts, _content in self.catcher.messages for rcpt in rcpts]
        return {address: received.count(address) for address in addresses}

    def test_cron_sends_each_valid_row_once(self):
        batch_id = self.make_batch(10, invalid=2)
        self.in_thread(self.run_worker)
        result = self.outcome(batch_id)
        self.assertEqual(result.state, 'done')
        self.assertEqual([state for state, _env, _err in result.lines.values()], ['sent'] * 10 + ['invalid'] * 2)
        self.assertEqual({env_state for _state, env_state, _err in list(result.lines.values())[:10]}, {'sent'})
        self.assertEqual(self.mails_to(result.addresses), dict.fromkeys(result.addresses, 1))
        self.assertEqual(result.notified, 10)
        self.assertFalse(any(result.codes))
        self.assertTrue(any('10 sent, 0 failed, 2 invalid' in body for body in result.messages), result.messages)

    def test_a_failing_row_does_not_block_the_others(self):
        batch_id = self.make_batch(5)
        line_model = type(self.env['cloudstamp.bulk.send.line'])
        real_send_row = line_model._send_row

        def send_row(line):
            if line.line_number == 3:
                # A refusal as the workflow raises it; its wording is the test's own.
                raise UserError('The time stamping authority does not answer.')  # pylint: disable=translation-required
            if line.line_number == 4:
                real_send_row(line)  # sent, then the row breaks: all of it rolls back
                raise RuntimeError('boom')
            return real_send_row(line)

        logger = 'odoo.addons.cloudstamp_sign.models.cloudstamp_bulk_send_line'
        with patch.object(line_model, '_send_row', send_row), mute_logger(logger):
            self.in_thread(self.run_worker)
        result = self.outcome(batch_id)
        self.assertEqual(result.state, 'done')
        self.assertEqual(
            {number: state for number, (state, _env, _err) in result.lines.items()},
            {2: 'sent', 3: 'failed', 4: 'failed', 5: 'sent', 6: 'sent'},
        )
        self.assertEqual(result.lines[3][2], 'The time stamping authority does not answer.')
        self.assertIn('Unexpected error (RuntimeError)', result.lines[4][2])
        mails = self.mails_to(result.addresses)
        self.assertEqual(sorted(mails.values()), [0, 0, 1, 1, 1])  # the rolled-back row mailed nothing
        self.assertTrue(any('3 sent, 2 failed' in body for body in result.messages), result.messages)
        # Sent again once the cause is gone: only the failed rows.
        with worker_env(self.registry) as env:
            env['cloudstamp.bulk.send'].with_user(self.sender_id).browse(batch_id).action_retry_failed()
            env.cr.commit()
        self.in_thread(self.run_worker)
        result = self.outcome(batch_id)
        self.assertEqual({state for state, _env, _err in result.lines.values()}, {'sent'})
        self.assertEqual(self.mails_to(result.addresses), dict.fromkeys(result.addresses, 1))

    def test_restart_in_the_middle_of_a_batch(self):
        batch_id = self.make_batch(8)

        # A worker sends three rows, then is killed while sending the fourth:
        # its document was created and signed, its mail queued, nothing committed.
        def killed_worker():
            with worker_env(self.registry) as env:
                env['cloudstamp.bulk.send']._cron_process_bulk_sends(limit=3, seconds=600)
            with worker_env(self.registry) as env:
                line_id = env['cloudstamp.bulk.send']._claim_line()
                envelope = env['cloudstamp.bulk.send.line'].sudo().browse(line_id)._send_row()
                self.assertEqual(envelope.state, 'sent')
                # The worker dies here: its connection closes, never committed.

        self.in_thread(killed_worker)
        mid = self.outcome(batch_id)
        self.assertEqual(list(mid.lines.values()).count(('sent', 'sent', '')), 3)
        self.assertEqual(mid.lines[5][0], 'pending')  # the killed worker's row
        self.assertEqual(self.mails_to(mid.addresses[3:4]), {mid.addresses[3]: 0})
        # After the restart, a worker finishes the rest.
        self.in_thread(self.run_worker)
        result = self.outcome(batch_id)
        self.assertEqual(result.state, 'done')
        self.assertEqual({state for state, _env, _err in result.lines.values()}, {'sent'})
        self.assertEqual(len(result.envelopes), len(set(result.line_envelopes)))
        self.assertEqual(self.mails_to(result.addresses), dict.fromkeys(result.addresses, 1))
        self.assertEqual(result.notified, 8)

    def test_two_cron_workers_share_the_work(self):
        batch_id = self.make_batch(16)
        line_model = type(self.env['cloudstamp.bulk.send.line'])
        real_process = line_model._process
        processed = {}

        def process(line):
            processed.setdefault(threading.current_thread().name, []).append(line.id)
            return real_process(line)

        barrier = threading.Barrier(2)

        def worker():
            barrier.wait()
            self.run_worker()

        with patch.object(line_model, '_process', process):
            threads = [threading.Thread(target=worker, name=f'cron-{i}') for i in range(2)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=300)
            self.assertFalse(any(thread.is_alive() for thread in threads))
        result = self.outcome(batch_id)
        self.assertEqual(result.state, 'done')
        first, second = processed.get('cron-0', []), processed.get('cron-1', [])
        self.assertTrue(first and second, processed)  # both worked
        self.assertFalse(set(first) & set(second))  # on different rows
        self.assertEqual(len(first) + len(second), 16)  # each row once
        self.assertEqual(self.mails_to(result.addresses), dict.fromkeys(result.addresses, 1))
        self.assertTrue(any('16 sent' in body for body in result.messages), result.messages)
        self.assertEqual(sum('finished' in body for body in result.messages), 1)  # closed once
