import base64
import hashlib
import json

from odoo import api, fields, models
from odoo.exceptions import AccessError

from cloudstamp_engine import read_timestamp_token


class CloudStampEvent(models.Model):
    """The audit trail of an envelope: append-only rows chained by hash.

    Each row's hash covers its own content and the previous row's hash, so
    changing or removing any row breaks every later link. Rows can be
    created only by the workflow (sudo); ``write`` and ``unlink`` are refused
    in the ORM and, for direct SQL, by database triggers.

    Someone who owns the database can still lift the triggers and rewrite the
    chain from the first changed row onwards. So the event that ends each
    round (completed, declined, revision requested, cancelled, expired) is
    timestamped by the TSA: its token binds that event's hash, and the time,
    to a key that is not in the database. A rewritten chain no longer
    matches its tokens.

    ``details`` hold plain values (addresses, counts, the recipient's own
    words), never translated sentences: each reader sees them in their
    language (``_describe``).
    """

    _name = 'cloudstamp.event'
    _description = 'CloudStamp Audit Event'
    _order = 'envelope_id, sequence'

    envelope_id = fields.Many2one('cloudstamp.envelope', required=True, index=True, ondelete='restrict')
    # Copied, not related: a stored related field would be rewritten, and
    # rows here are never rewritten.
    company_id = fields.Many2one('res.company', required=True, index=True)
    sequence = fields.Integer(required=True)
    event_type = fields.Selection(
        [
            ('sent', 'Sent'),
            ('notified', 'Link sent'),
            ('opened', 'Opened'),
            ('code_failed', 'Wrong access code'),
            ('locked', 'Link locked'),
            ('unlocked', 'Link unlocked'),
            ('terms_accepted', 'Terms accepted'),
            ('agreed', 'Agreed'),
            ('declined', 'Declined'),
            ('revision_requested', 'Revision requested'),
            ('forwarded', 'Forwarded'),
            ('reminded', 'Reminder sent'),
            ('cancelled', 'Cancelled'),
            ('expired', 'Expired'),
            ('completed', 'Completed'),
            ('evidence_renewed', 'Evidence renewed'),
        ],
        string='Event',
        required=True,
    )
    event_time = fields.Datetime('Time', required=True, default=fields.Datetime.now)
    actor = fields.Char(required=True, help='A user or recipient email, "cloudstamp" or "unknown".')
    ip_address = fields.Char('IP Address')
    user_agent = fields.Char()
    details = fields.Json('Details (values)')
    description = fields.Char('Details', compute='_compute_description')
    file_hashes = fields.Json(help='SHA-256 of every document of the envelope after this event.')
    previous_hash = fields.Char(required=True)
    event_hash = fields.Char('Hash', required=True, index=True)
    anchor_token = fields.Text('Timestamp Token', help="RFC 3161 token over this event's hash (base64 DER).")
    anchor_time = fields.Datetime('Timestamped At')
    anchor_tsa = fields.Char('Time Stamping Authority')

    _sql_constraints = [
        ('sequence_unique', 'unique(envelope_id, sequence)', 'Each event has its own place in the trail.'),
    ]

    def init(self):
        # Append only, also for SQL that bypasses the ORM (row triggers do
        # not fire on TRUNCATE, hence the statement trigger).
        self.env.cr.execute("""
            CREATE OR REPLACE FUNCTION cloudstamp_event_append_only()
            RETURNS trigger AS $$
            BEGIN
                RAISE EXCEPTION 'cloudstamp_event rows are append-only';
            END;
            $$ LANGUAGE plpgsql;
            DROP TRIGGER IF EXISTS cloudstamp_event_append_only ON cloudstamp_event;
            CREATE TRIGGER cloudstamp_event_append_only
                BEFORE UPDATE OR DELETE ON cloudstamp_event
                FOR EACH ROW EXECUTE FUNCTION cloudstamp_event_append_only();
            DROP TRIGGER IF EXISTS cloudstamp_event_no_truncate ON cloudstamp_event;
            CREATE TRIGGER cloudstamp_event_no_truncate
                BEFORE TRUNCATE ON cloudstamp_event
                FOR EACH STATEMENT EXECUTE FUNCTION cloudstamp_event_append_only();
        """)

    # Append-only: never written, so no super().
    def write(self, vals):  # pylint: disable=method-required-super
        raise AccessError(self.env._('Audit trail events cannot be changed.'))

    @api.ondelete(at_uninstall=False)
    def _unlink_never(self):
        # Uninstalling drops the table; the trigger refuses row deletes anyway.
        raise AccessError(self.env._('Audit trail events cannot be deleted.'))

    # ------------------------------------------------------------------
    # Reading
    # ------------------------------------------------------------------
    @api.depends_context('lang')
    @api.depends('event_type', 'details')
    def _compute_description(self):
        for event in self:
            event.description = event._describe()

    def _describe(self):
        """The details in the reader's language (the context's)."""
        self.ensure_one()
        details = self.details or {}
        recipient = details.get('recipient', '')
        match self.event_type:
            case 'sent':
                return self.env._('Sent by %s', details.get('by') or self.actor)
            case 'notified':
                return self.env._('Link mailed to %s', recipient)
            case 'code_failed':
                return self.env._(
                    'Wrong access code for %(recipient)s (attempt %(attempt)s)',
                    recipient=recipient,
                    attempt=details.get('attempt'),
                )
            case 'locked':
                return self.env._(
                    'Link of %(recipient)s locked after %(attempts)s wrong access codes',
                    recipient=recipient,
                    attempts=details.get('attempts'),
                )
            case 'unlocked' | 'reminded':
                return self.env._('For %s', recipient)
            case 'terms_accepted':
                return self.env._('Terms of use accepted (SHA-256 %s)', details.get('terms_sha256', ''))
            case 'declined':
                return self.env._('Reason: %s', details.get('reason', ''))
            case 'revision_requested':
                return self.env._('Comment: %s', details.get('comment', ''))
            case 'evidence_renewed':
                return self.env._(
                    'Archive timestamps renewed; the evidence is valid until %s',
                    details.get('valid_until') or '-',
                )
            case 'forwarded':
                return self.env._(
                    'Forwarded to %(name)s <%(email)s>: %(message)s',
                    name=details.get('to_name', ''),
                    email=details.get('to_email', ''),
                    message=details.get('message', ''),
                )
        return ''

    # ------------------------------------------------------------------
    # Chain
    # ------------------------------------------------------------------
    GENESIS = '0' * 64

    @staticmethod
    def _compute_hash(previous_hash, payload):
        canonical = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(',', ':'))
        return hashlib.sha256(f'{previous_hash}|{canonical}'.encode()).hexdigest()

    def _payload(self):
        self.ensure_one()
        return {
            'envelope': self.envelope_id.id,
            'sequence': self.sequence,
            'type': self.event_type,
            'time': fields.Datetime.to_string(self.event_time),
            'actor': self.actor,
            'ip': self.ip_address or '',
            'user_agent': self.user_agent or '',
            'details': self.details or {},
            'documents': self.file_hashes or {},
        }

    def _export_values(self):
        """This event as it leaves the service (archive exports): what its
        hash covers, the chain link and the timestamp over it."""
        self.ensure_one()
        return dict(
            self._payload(),
            previous_hash=self.previous_hash,
            event_hash=self.event_hash,
            anchor_time=fields.Datetime.to_string(self.anchor_time) or '',
            anchor_tsa=self.anchor_tsa or '',
            anchor_token=self.anchor_token or '',
        )

    @api.model
    def _append(self, envelope, event_type, actor, details, request_info=None, anchor=False):
        """Add the next link of ``envelope``'s chain (the envelope row is
        locked, so concurrent events line up). With ``anchor``, the new
        event's hash is timestamped by the TSA before anything is stored."""
        self.env.cr.execute(  # a lost race is retried by Odoo, not a bad query
            'SELECT id FROM cloudstamp_envelope WHERE id = %s FOR NO KEY UPDATE', [envelope.id], log_exceptions=False
        )
        last = self.sudo().search([('envelope_id', '=', envelope.id)], order='sequence desc', limit=1)
        request_info = request_info or {}
        vals = {
            'envelope_id': envelope.id,
            'company_id': envelope.company_id.id,
            'sequence': (last.sequence or 0) + 1,
            'event_type': event_type,
            'event_time': fields.Datetime.now(),
            'actor': actor,
            'ip_address': request_info.get('ip') or '',
            'user_agent': (request_info.get('user_agent') or '')[:500],
            'details': details,
            'file_hashes': envelope.file_ids._current_hashes(),
            'previous_hash': last.event_hash or self.GENESIS,
        }
        vals['event_hash'] = self._compute_hash(vals['previous_hash'], self.sudo().new(vals)._payload())
        if anchor:
            vals.update(self._anchor_values(vals['event_hash'], envelope.company_id))
        event = self.sudo().create(vals)
        envelope.sudo().trail_head = event.event_hash
        return event

    @api.model
    def _anchor_values(self, event_hash, company):
        token = self.env['cloudstamp.signing.service']._timestamp_digest(bytes.fromhex(event_hash), company)
        # Shown as the TSA claims it; _verify_anchors checks the token.
        claim = read_timestamp_token(token)
        return {
            'anchor_token': base64.b64encode(token).decode(),
            'anchor_time': claim.gen_time.replace(tzinfo=None),
            'anchor_tsa': claim.tsa,
        }

    def _verify_chain(self):
        """A sentence on the first broken link of these events (one
        envelope), or ''."""
        previous = self.GENESIS
        for event in self.sorted('sequence'):
            if event.previous_hash != previous:
                return self.env._(
                    'Audit trail broken at event %(seq)s (%(type)s): the link to the previous event is broken.',
                    seq=event.sequence,
                    type=event.event_type,
                )
            if self._compute_hash(previous, event._payload()) != event.event_hash:
                return self.env._(
                    'Audit trail broken at event %(seq)s (%(type)s): the event was changed after it was recorded.',
                    seq=event.sequence,
                    type=event.event_type,
                )
            previous = event.event_hash
        return ''

    def _verify_anchors(self, company):
        """A sentence on the first timestamp token that does not vouch for
        its event (wrong hash, bad signature, untrusted TSA), or ''."""
        service = self.env['cloudstamp.signing.service']
        for event in self.filtered('anchor_token').sorted('sequence'):
            check = service._verify_timestamp_token(
                base64.b64decode(event.anchor_token), bytes.fromhex(event.event_hash), company
            )
            if not check.valid:
                return self.env._(
                    'The timestamp of event %(seq)s (%(type)s) does not match the audit trail: '
                    'the trail was rewritten after it was timestamped.',
                    seq=event.sequence,
                    type=event.event_type,
                )
            if not check.trusted:
                return self.env._(
                    'The timestamp of event %(seq)s (%(type)s) comes from a time stamping authority '
                    'that is not trusted (%(tsa)s). Add its root certificate in the settings.',
                    seq=event.sequence,
                    type=event.event_type,
                    tsa=check.tsa,
                )
        return ''
