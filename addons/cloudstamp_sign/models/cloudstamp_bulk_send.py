import base64
import csv
import io
import logging
import time

from psycopg2 import errors

from odoo import api, fields, models
from odoo.exceptions import UserError

from ..tools import bulk_csv, force_own_user
from ..tools.emails import single_email

_logger = logging.getLogger(__name__)

# What one cron run sends before reporting progress: Odoo runs it again at
# once while rows remain, up to 10 times per pick-up, and a prefork cron
# worker is killed past limit_time_cpu (60 s by default) of CPU per pick-up,
# a bounded run keeps a pick-up well inside it whatever a row costs. Each
# row is its own transaction.
CRON_ROWS_PER_RUN = 10
CRON_SECONDS_PER_RUN = 3
# One ir.cron job runs in one cron worker at a time (Odoo locks its row):
# each of these records is one more worker sending at once.
CRON_XMLIDS = ('cloudstamp_sign.ir_cron_bulk_send', 'cloudstamp_sign.ir_cron_bulk_send_2')
MIN_ACCESS_CODE_LENGTH = 6  # as the recipient pages (cloudstamp_portal) require
# Errors of a claim that lost a race with another worker: try the next row.
_RACE_ERRORS = (errors.SerializationFailure, errors.LockNotAvailable)


class CloudStampBulkSend(models.Model):
    """A bulk send (一括送信): one template, one CSV, one send per valid row.

    Previewed first (every invalid row named with its line number and
    reason), then sent in the background by cron workers, each row in its
    own transaction.
    """

    _name = 'cloudstamp.bulk.send'
    _description = 'CloudStamp Bulk Send'
    _inherit = ['mail.thread', 'cloudstamp.evidence.mixin']
    _order = 'id desc'
    _check_company_auto = True

    _write_once_fields = ('user_id',)

    name = fields.Char(required=True, tracking=True)
    template_id = fields.Many2one(
        'cloudstamp.template', required=True, check_company=True, tracking=True, ondelete='restrict'
    )
    user_id = fields.Many2one(
        'res.users',
        'Sender',
        required=True,
        default=lambda self: self.env.user,
        check_company=True,
        help='Every document of this bulk send is sent in this person’s name.',
    )
    company_id = fields.Many2one('res.company', required=True, default=lambda self: self.env.company)
    csv_file = fields.Binary(
        'CSV File',
        attachment=True,
        copy=False,
        help='One row per send. UTF-8 (with or without BOM) or Shift_JIS (CP932, as Japanese Excel saves). '
        'Access codes are removed from the stored copy once it is read.',
    )
    csv_filename = fields.Char('CSV File Name', copy=False)
    codes_masked = fields.Boolean(
        'Access Codes Removed', readonly=True, copy=False, help='The stored file no longer holds its access codes.'
    )
    encoding = fields.Selection(
        [('utf-8-sig', 'UTF-8 (BOM)'), ('utf-8', 'UTF-8'), ('cp932', 'Shift_JIS (CP932)')],
        readonly=True,
        copy=False,
    )
    state = fields.Selection(
        [
            ('draft', 'Draft'),
            ('ready', 'Previewed'),
            ('running', 'Sending'),
            ('done', 'Done'),
            ('cancelled', 'Cancelled'),
        ],
        default='draft',
        required=True,
        readonly=True,
        copy=False,
        tracking=True,
    )
    line_ids = fields.One2many('cloudstamp.bulk.send.line', 'batch_id', 'Rows', readonly=True)
    line_count = fields.Integer('Row Count', compute='_compute_counts')
    valid_count = fields.Integer('Valid Rows', compute='_compute_counts')
    invalid_count = fields.Integer('Invalid Rows', compute='_compute_counts')
    pending_count = fields.Integer('Waiting', compute='_compute_counts')
    sent_count = fields.Integer('Sent', compute='_compute_counts')
    failed_count = fields.Integer('Failed', compute='_compute_counts')
    progress = fields.Float(compute='_compute_counts', help='Sent or failed rows, out of the valid rows.')
    has_failures = fields.Boolean(compute='_compute_counts', search='_search_has_failures')
    started_date = fields.Datetime('Started On', readonly=True, copy=False)
    done_date = fields.Datetime('Finished On', readonly=True, copy=False)

    def _get_workflow_fields(self):
        return super()._get_workflow_fields() + ('state', 'encoding', 'codes_masked', 'started_date', 'done_date')

    def message_get_followers(self, *args, **kwargs):
        # mail answers this for any record id; a batch's followers are for those who may read it.
        self.check_access('read')
        return super().message_get_followers(*args, **kwargs)

    @api.model_create_multi
    def create(self, vals_list):
        force_own_user(self.env, vals_list)
        for vals in vals_list:
            if not vals.get('name'):
                template = self.env['cloudstamp.template'].browse(vals.get('template_id'))
                vals['name'] = f'{template.name or self.env._("Bulk Send")} {fields.Date.context_today(self)}'
        return super().create(vals_list)

    def write(self, vals):
        if not self.env.su and {'template_id', 'csv_file'} & set(vals):
            if any(batch.state not in ('draft', 'ready') for batch in self):
                raise UserError(self.env._('A bulk send that has started can no longer change its template or file.'))
            # A new file or template: the preview no longer holds.
            previewed = self.filtered(lambda b: b.state == 'ready')
            previewed.sudo().line_ids.unlink()
            previewed.sudo().write({'state': 'draft', 'encoding': False})
            if 'csv_file' in vals:
                self.sudo().write({'codes_masked': False})
        return super().write(vals)

    @api.ondelete(at_uninstall=False)
    def _unlink_except_running(self):
        if not self.env.su and any(batch.state == 'running' for batch in self):
            raise UserError(self.env._('Cancel the bulk send before deleting it.'))

    @api.depends('line_ids.state')
    def _compute_counts(self):
        counts = {
            (batch.id, state): count
            for batch, state, count in self.env['cloudstamp.bulk.send.line']._read_group(
                [('batch_id', 'in', self.ids)], ['batch_id', 'state'], ['__count']
            )
        }
        for batch in self:
            by_state = {state: counts.get((batch.id, state), 0) for state in ('invalid', 'pending', 'sent', 'failed')}
            cancelled = counts.get((batch.id, 'cancelled'), 0)
            batch.invalid_count = by_state['invalid']
            batch.pending_count = by_state['pending']
            batch.sent_count = by_state['sent']
            batch.failed_count = by_state['failed']
            batch.valid_count = by_state['pending'] + by_state['sent'] + by_state['failed'] + cancelled
            batch.line_count = batch.valid_count + by_state['invalid']
            finished = by_state['sent'] + by_state['failed']
            batch.progress = 100.0 * finished / batch.valid_count if batch.valid_count else 0.0
            batch.has_failures = bool(by_state['failed'])

    def _search_has_failures(self, operator, value):
        if operator not in ('=', '!=') or not isinstance(value, bool):
            raise UserError(self.env._('Unsupported search on failures.'))
        wanted = (operator == '=') == value
        return [('line_ids', 'any' if wanted else 'not any', [('state', '=', 'failed')])]

    # ------------------------------------------------------------------
    # Hooks
    # ------------------------------------------------------------------
    @api.model
    def _bulk_metadata_columns(self):
        """CSV columns that fill envelope fields: {column: (field, 'amount' | 'date')}.
        cloudstamp_archive adds the contract's amount and dates."""
        return {}

    # ------------------------------------------------------------------
    # Sender actions (the form's buttons)
    # ------------------------------------------------------------------
    def action_preview(self):
        """Read the CSV: one row per line, each invalid row with its reasons.
        Nothing is sent."""
        self.ensure_one()
        self.check_access('write')
        if self.state not in ('draft', 'ready'):
            raise UserError(self.env._('Only a bulk send that has not started can be previewed again.'))
        template = self.template_id.with_user(self.user_id).with_company(self.company_id)
        template.check_access('read')
        if self.codes_masked:
            raise UserError(
                self.env._('The access codes were removed from the stored file after its preview: upload it again.')
            )
        data = base64.b64decode(self.csv_file or b'')
        open_roles = template.sudo()._open_roles()
        roles = [bulk_csv.Role(role.id, role.name, role.access_code_required) for role in open_roles]
        metadata = self._bulk_metadata_columns()
        languages = self.env['res.lang'].get_installed()
        try:
            parsed = bulk_csv.parse(
                data,
                roles,
                languages,
                metadata_columns={column: kind for column, (_field, kind) in metadata.items()},
                normalize_email=single_email,
                min_code_length=MIN_ACCESS_CODE_LENGTH,
            )
        except bulk_csv.BulkCsvError as error:
            raise UserError(self._file_error_message(error)) from None
        role_names = {role.id: role.name for role in open_roles}
        lines = [
            {
                'batch_id': self.id,
                'line_number': row.line,
                'recipient_summary': '; '.join(
                    f'{values["name"]} <{values["email"]}>' for values in row.roles.values() if values['email']
                )[:500],
                'values': {
                    'roles': {
                        str(key): {k: v for k, v in values.items() if k != 'access_code'}
                        for key, values in row.roles.items()
                    },
                    'title': row.title,
                    'metadata': row.metadata,
                },
                'access_codes': {
                    str(key): values['access_code'] for key, values in row.roles.items() if values['access_code']
                }
                or False,
                'state': 'invalid' if row.problems else 'pending',
                'error': '\n'.join(self._problem_message(p, role_names) for p in row.problems) or False,
            }
            for row in parsed.rows
        ]
        batch = self.sudo()
        batch.line_ids.unlink()
        self.env['cloudstamp.bulk.send.line'].sudo().create(lines)
        batch.write({'state': 'ready', 'encoding': parsed.encoding})
        masked = self._masked_csv(data, parsed.encoding, open_roles)
        if masked is not None:
            # The codes now live only in a field no user reads, until each row is sent.
            batch.write({'csv_file': base64.b64encode(masked), 'codes_masked': True})
        return True

    def action_start(self):
        """Send every valid row in the background."""
        self.check_access('write')
        for batch in self:
            if batch.state != 'ready':
                raise UserError(self.env._('Preview the file first.'))
            if not batch.line_ids.filtered(lambda line: line.state == 'pending'):
                raise UserError(self.env._('There is no valid row to send.'))
        self.sudo().write({'state': 'running', 'started_date': fields.Datetime.now()})
        self._trigger_workers()
        return True

    def action_retry_failed(self):
        """Send the failed rows again (after fixing what failed: the TSA,
        the template...). Rows sent stay sent."""
        self.check_access('write')
        for batch in self:
            if batch.state not in ('running', 'done') or not batch.failed_count:
                raise UserError(self.env._('There is no failed row to send again.'))
        failed = self.sudo().line_ids.filtered(lambda line: line.state == 'failed')
        failed.write({'state': 'pending', 'error': False})
        self.sudo().write({'state': 'running', 'done_date': False})
        self._trigger_workers()
        return True

    def action_cancel(self):
        """Stop: rows not sent yet are not sent. What was sent stays sent."""
        self.check_access('write')
        for batch in self:
            if batch.state not in ('draft', 'ready', 'running'):
                raise UserError(self.env._('This bulk send has already ended.'))
        lines = self.sudo().line_ids.filtered(lambda line: line.state in ('pending', 'invalid'))
        lines.filtered(lambda line: line.state == 'pending').write({'state': 'cancelled'})
        lines.write({'access_codes': False})
        self.sudo().write({'state': 'cancelled', 'done_date': fields.Datetime.now()})
        return True

    def action_view_envelopes(self):
        self.ensure_one()
        self.check_access('read')
        action = self.env['ir.actions.act_window']._for_xml_id('cloudstamp_sign.cloudstamp_envelope_action')
        action.update(domain=[('id', 'in', self.line_ids.envelope_id.ids)], context={})
        return action

    # ------------------------------------------------------------------
    # Messages
    # ------------------------------------------------------------------
    def _file_error_message(self, error):
        params = error.params
        messages = {
            'empty_file': lambda: self.env._('The file is empty.'),
            'no_rows': lambda: self.env._('The file has a header row but no row to send.'),
            'bad_encoding': lambda: self.env._(
                'The file is neither UTF-8 nor Shift_JIS (CP932) text (unreadable byte at position %(position)s). '
                'Save it from Excel as "CSV UTF-8" or "CSV".',
                position=params.get('position'),
            ),
            'bad_csv': lambda: self.env._('Line %(line)s is not valid CSV: %(detail)s', **params),
            'too_many_rows': lambda: self.env._(
                'The file has more than %(max)s rows: split it into several bulk sends.', **params
            ),
            'missing_columns': lambda: self.env._(
                'Columns missing from the header row: %(columns)s', columns=', '.join(params['columns'])
            ),
            'unknown_columns': lambda: self.env._(
                'Unknown columns in the header row: %(columns)s. Expected "<role>:name", "<role>:email", '
                '"<role>:company", "<role>:lang", "<role>:access_code", "title"%(metadata)s.',
                columns=', '.join(params['columns']),
                metadata=''.join(f', "{column}"' for column in self._bulk_metadata_columns()),
            ),
            'duplicate_column': lambda: self.env._('The column %(column)s appears twice.', **params),
            'no_open_role': lambda: self.env._(
                'Every recipient of this template is fixed: a bulk send needs a role filled in per row.'
            ),
        }
        return messages.get(error.code, lambda: error.code)()

    def _problem_message(self, problem, role_names=None):
        """A row's problem in the user's language."""
        params = dict(problem.params)
        columns = {
            'name': self.env._('name'),
            'email': self.env._('email'),
            'access_code': self.env._('access code'),
        }
        if 'column' in params:
            params['column'] = columns.get(params['column'], params['column'])
        messages = {
            'missing_value': lambda: self.env._('%(role)s: the %(column)s is missing.', **params),
            'bad_email': lambda: self.env._('%(role)s: "%(value)s" is not one valid email address.', **params),
            'unknown_lang': lambda: self.env._('%(role)s: unknown or inactive language "%(value)s".', **params),
            'short_access_code': lambda: self.env._(
                '%(role)s: the access code needs at least %(min)s characters.', **params
            ),
            'duplicate_row': lambda: self.env._('Same recipients as line %(line)s.', **params),
            'bad_number': lambda: self.env._('%(column)s: "%(value)s" is not a number.', **params),
            'bad_date': lambda: self.env._('%(column)s: "%(value)s" is not a date (YYYY-MM-DD).', **params),
            'date_order': lambda: self.env._('The contract ends (%(end)s) before it starts (%(start)s).', **params),
            'extra_values': lambda: self.env._('The row has more values than the header has columns.'),
        }
        return messages.get(problem.code, lambda: problem.code)()

    @api.model
    def _masked_csv(self, data, encoding, open_roles):
        """The CSV with its access codes blanked, or None when it has none."""
        text = data.decode(encoding)
        rows = list(csv.reader(io.StringIO(text, newline=''), delimiter=bulk_csv._delimiter(text.split('\n', 1)[0])))
        code_columns = [
            index for index, cell in enumerate(rows[0]) if bulk_csv._key(cell).replace(' ', '_').endswith('access_code')
        ]
        if not code_columns:
            return None
        for row in rows[1:]:
            for index in code_columns:
                if index < len(row) and row[index]:
                    row[index] = '******'
        out = io.StringIO(newline='')
        csv.writer(out, lineterminator='\r\n').writerows(rows)
        return out.getvalue().encode(encoding)

    # ------------------------------------------------------------------
    # Background sending
    # ------------------------------------------------------------------
    def _trigger_workers(self):
        for xmlid in CRON_XMLIDS:
            cron = self.env.ref(xmlid, raise_if_not_found=False)
            if cron:
                cron.sudo()._trigger()

    @api.model
    def _cron_process_bulk_sends(self, limit=CRON_ROWS_PER_RUN, seconds=CRON_SECONDS_PER_RUN):
        """Send waiting rows, each in its own transaction, committed one by
        one. Safe with any number of workers at once: a row is claimed with
        a row lock that the others skip (SKIP LOCKED), and its state changes
        in the transaction that creates and sends its document, so a crash
        leaves it waiting (nothing sent: the mail leaves after the commit)
        or sent, never both."""
        done = 0
        deadline = time.monotonic() + seconds
        for _i in range(limit):
            if done and time.monotonic() > deadline:
                break
            line_id = self._claim_line()
            if line_id is None:
                break
            self.env['cloudstamp.bulk.send.line'].browse(line_id)._process()
            done += 1
        self._close_finished()
        self.env.cr.execute("SELECT count(*) FROM cloudstamp_bulk_send_line WHERE state = 'pending'")
        remaining = self.env.cr.fetchone()[0]
        # Each row is its own transaction; so is this run's bookkeeping.
        self.env.cr.commit()  # pylint: disable=invalid-commit
        # Odoo runs the job again at once while rows wait and this run sent
        # some; rows another worker holds are its own.
        self.env['ir.cron']._notify_progress(done=done, remaining=remaining if done else 0)
        if done and remaining:
            # After its 10 runs a prefork cron worker would sleep up to a
            # minute: a trigger wakes every worker (NOTIFY) at once instead.
            self._trigger_workers()
        return done

    @api.model
    def _claim_line(self):
        """The id of the next waiting row of a running batch, locked for this
        transaction, or None. A commit releases the lock: claim one row per
        transaction."""
        for _attempt in range(5):
            try:
                self.env.cr.execute(
                    """
                    SELECT line.id
                      FROM cloudstamp_bulk_send_line line
                      JOIN cloudstamp_bulk_send batch ON batch.id = line.batch_id
                     WHERE line.state = 'pending' AND batch.state = 'running'
                  ORDER BY line.batch_id, line.line_number
                     LIMIT 1
                       FOR NO KEY UPDATE OF line SKIP LOCKED
                    """,
                    log_exceptions=False,
                )
                row = self.env.cr.fetchone()
                if row is None:
                    self.env.cr.rollback()
                return row and row[0]
            except _RACE_ERRORS:
                # Another worker committed this row after our snapshot: take a fresh one.
                self.env.cr.rollback()
        return None

    @api.model
    def _close_finished(self):
        """Running batches without waiting rows are done: say so in their
        chatter, once (the row lock makes a second worker skip it)."""
        try:
            self.env.cr.execute(
                """
                SELECT batch.id FROM cloudstamp_bulk_send batch
                 WHERE batch.state = 'running'
                   AND NOT EXISTS (SELECT 1 FROM cloudstamp_bulk_send_line line
                                    WHERE line.batch_id = batch.id AND line.state = 'pending')
                   FOR NO KEY UPDATE SKIP LOCKED
                """,
                log_exceptions=False,
            )
            ids = [row[0] for row in self.env.cr.fetchall()]
            for batch in self.sudo().browse(ids):
                batch.write({'state': 'done', 'done_date': fields.Datetime.now()})
                batch._post_done_message()
            # Closing is its own transaction.
            self.env.cr.commit()  # pylint: disable=invalid-commit
        except _RACE_ERRORS:
            self.env.cr.rollback()  # another worker closed it first

    def _post_done_message(self):
        self.ensure_one()
        lang = self.user_id.lang or self.env.lang
        batch = self.with_context(lang=lang)
        body = batch.env._(
            'Bulk send finished: %(sent)s sent, %(failed)s failed, %(invalid)s invalid rows not sent.',
            sent=batch.sent_count,
            failed=batch.failed_count,
            invalid=batch.invalid_count,
        )
        # From OdooBot, so that the sender (a follower) is notified.
        batch.message_post(
            body=body,
            author_id=self.env.ref('base.partner_root').id,
            partner_ids=self.user_id.partner_id.ids,
            subtype_xmlid='mail.mt_note',
        )
