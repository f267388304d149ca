import hashlib
import json

from odoo import _, api, fields, models
from odoo.exceptions import UserError


class CloudStampEvent(models.Model):
    """The audit trail of an envelope: append-only rows chained by hash.

    Each row's hash covers its own content and the previous row's hash, so
    changing or removing any row breaks every later link. Rows can be
    created only by the workflow (sudo); ``write`` and ``unlink`` are refused
    in the ORM and, for direct SQL, by a database trigger.
    """

    _name = 'cloudstamp.event'
    _description = 'CloudStamp Audit Event'
    _order = 'envelope_id, sequence'

    envelope_id = fields.Many2one(
        'cloudstamp.envelope', required=True, index=True, ondelete='restrict')
    sequence = fields.Integer(required=True)
    event_type = fields.Selection(
        [
            ('created', 'Created'),
            ('sent', 'Sent'),
            ('notified', 'Link sent'),
            ('opened', 'Opened'),
            ('code_failed', 'Wrong access code'),
            ('locked', 'Link locked'),
            ('terms_accepted', 'Terms accepted'),
            ('agreed', 'Agreed'),
            ('declined', 'Declined'),
            ('revision_requested', 'Revision requested'),
            ('forwarded', 'Forwarded'),
            ('reminded', 'Reminder sent'),
            ('cancelled', 'Cancelled'),
            ('expired', 'Expired'),
            ('completed', 'Completed'),
        ],
        string='Event', required=True)
    event_time = fields.Datetime('Time', required=True, default=fields.Datetime.now)
    actor = fields.Char(required=True, help='A user login or a recipient email.')
    ip_address = fields.Char('IP Address')
    user_agent = fields.Char()
    details = fields.Text()
    document_hashes = fields.Json(
        help='SHA-256 of every document of the envelope after this event.')
    previous_hash = fields.Char(required=True)
    event_hash = fields.Char('Hash', required=True, index=True)

    def init(self):
        # Append only, also for SQL that bypasses the ORM.
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
        """)

    def write(self, vals):
        raise UserError(_('Audit trail events cannot be changed.'))

    def unlink(self):
        raise UserError(_('Audit trail events cannot be deleted.'))

    # ------------------------------------------------------------------
    # Chain
    # ------------------------------------------------------------------
    GENESIS = '0' * 64

    @staticmethod
    def _compute_hash(previous_hash, payload):
        canonical = json.dumps(payload, sort_keys=True, ensure_ascii=False,
                               separators=(',', ':'))
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
            'details': self.details or '',
            'documents': self.document_hashes or {},
        }

    @api.model
    def _append(self, envelope, event_type, actor, details='', request_info=None):
        """Add the next link of ``envelope``'s chain (the envelope row is
        locked, so concurrent events line up)."""
        self.env.cr.execute(
            'SELECT id FROM cloudstamp_envelope WHERE id = %s FOR UPDATE', [envelope.id])
        last = self.sudo().search([('envelope_id', '=', envelope.id)],
                                  order='sequence desc', limit=1)
        request_info = request_info or {}
        vals = {
            'envelope_id': envelope.id,
            'sequence': (last.sequence or 0) + 1,
            'event_type': event_type,
            'event_time': fields.Datetime.now(),
            'actor': actor,
            'ip_address': request_info.get('ip') or '',
            'user_agent': (request_info.get('user_agent') or '')[:500],
            'details': details or '',
            'document_hashes': envelope.document_ids._current_hashes(),
            'previous_hash': last.event_hash or self.GENESIS,
        }
        event = self.sudo().new(vals)
        vals['event_hash'] = self._compute_hash(vals['previous_hash'], event._payload())
        return self.sudo().create(vals)

    def _verify_chain(self):
        """The first broken link of these events (one envelope), or None."""
        previous = self.GENESIS
        for event in self.sorted('sequence'):
            if event.previous_hash != previous:
                return event, _('the link to the previous event is broken')
            if self._compute_hash(previous, event._payload()) != event.event_hash:
                return event, _('the event was changed after it was recorded')
            previous = event.event_hash
        return None
