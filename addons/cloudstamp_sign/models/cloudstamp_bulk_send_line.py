import logging

from odoo import fields, models
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tools import create_index

from .cloudstamp_bulk_send import _RACE_ERRORS

_logger = logging.getLogger(__name__)


class CloudStampBulkSendLine(models.Model):
    """One row of a bulk send's CSV and its outcome.

    Users only read rows (the access rights grant nothing else): the
    preview creates them and the workflow records each outcome, as
    superuser, so nobody can mark a row sent.
    """

    _name = 'cloudstamp.bulk.send.line'
    _description = 'CloudStamp Bulk Send Row'
    _order = 'batch_id, line_number, id'
    _rec_name = 'recipient_summary'
    _check_company_auto = True

    batch_id = fields.Many2one(
        'cloudstamp.bulk.send', 'Bulk Send', required=True, index=True, ondelete='cascade', check_company=True
    )
    company_id = fields.Many2one(related='batch_id.company_id', store=True, index=True, string='Company')
    line_number = fields.Integer('Line', readonly=True, help='The line in the file; the header is line 1.')
    recipient_summary = fields.Char('Recipients', readonly=True)
    values = fields.Json(readonly=True, help='What the row gives for each role, its title and its metadata.')
    # Never readable by users; erased as soon as the row is sent or the batch cancelled.
    access_codes = fields.Json(readonly=True, groups='base.group_system')
    state = fields.Selection(
        [
            ('invalid', 'Invalid'),
            ('pending', 'Waiting'),
            ('sent', 'Sent'),
            ('failed', 'Failed'),
            ('cancelled', 'Cancelled'),
        ],
        required=True,
        readonly=True,
        default='pending',
    )
    error = fields.Text('Reason', readonly=True)
    envelope_id = fields.Many2one('cloudstamp.envelope', 'Document', readonly=True, check_company=True)
    envelope_state = fields.Selection(related='envelope_id.state', string='Document Status')
    processed_date = fields.Datetime('Processed On', readonly=True)

    def init(self):
        # The workers' claim query reads only waiting rows, however many were sent before.
        create_index(
            self.env.cr,
            'cloudstamp_bulk_send_line_pending_idx',
            'cloudstamp_bulk_send_line',
            ['batch_id', 'line_number'],
            where="state = 'pending'",
        )

    def _process(self):
        """Create and send this claimed row's document in the batch sender's
        name, and commit. A failure is rolled back (nothing of it stays,
        no mail leaves) and recorded in a fresh transaction."""
        self.ensure_one()
        cr = self.env.cr
        line = self.sudo()
        try:
            envelope = line._send_row()
            line.write(
                {
                    'state': 'sent',
                    'envelope_id': envelope.id,
                    'access_codes': False,
                    'error': False,
                    'processed_date': fields.Datetime.now(),
                }
            )
            # One transaction per row; the request mail leaves after this commit.
            cr.commit()  # pylint: disable=invalid-commit
        except Exception as error:  # noqa: BLE001 - recorded on the row; the next row still runs
            cr.rollback()
            if not isinstance(error, (UserError, ValidationError, AccessError)):
                _logger.exception('CloudStamp: bulk send row %s failed', self.id)
            line._record_failure(error)

    def _send_row(self):
        self.ensure_one()
        batch = self.batch_id
        owner = batch.user_id
        env = self.env(user=owner.id, su=False, context=dict(self.env.context, lang=owner.lang))
        template = batch.template_id.with_env(env).with_company(batch.company_id)
        values = self.values or {}
        codes = self.access_codes or {}
        assignments = {
            int(role_id): dict(given, access_code=codes.get(role_id, '')) for role_id, given in values['roles'].items()
        }
        extra = {'name': values['title']} if values.get('title') else {}
        metadata = batch._bulk_metadata_columns()
        for column, value in (values.get('metadata') or {}).items():
            if column in metadata:
                extra[metadata[column][0]] = value
        envelope = template._create_envelope(assignments, extra)
        envelope.action_send()
        return envelope

    def _record_failure(self, error):
        """Mark the row failed with the reason, in the sender's language,
        unless another worker took it up meanwhile."""
        lang = self.batch_id.user_id.lang or self.env.lang
        if isinstance(error, (UserError, ValidationError, AccessError)):
            reason = str(error.args[0]) if error.args else str(error)
        else:
            reason = self.with_context(lang=lang).env._(
                'Unexpected error (%(error)s); the server log has the details.', error=type(error).__name__
            )
        cr = self.env.cr
        try:
            cr.execute(
                "SELECT id FROM cloudstamp_bulk_send_line WHERE id = %s AND state = 'pending' "
                'FOR NO KEY UPDATE SKIP LOCKED',
                [self.id],
                log_exceptions=False,
            )
            if cr.fetchone():
                self.sudo().write(
                    {
                        'state': 'failed',
                        'error': reason,  # access codes kept: the row may be sent again
                        'processed_date': fields.Datetime.now(),
                    }
                )
                # The failure, in its own transaction.
                cr.commit()  # pylint: disable=invalid-commit
            else:
                cr.rollback()
        except _RACE_ERRORS:
            cr.rollback()
