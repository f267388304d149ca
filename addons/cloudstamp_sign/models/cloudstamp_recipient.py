import hashlib
import hmac
import secrets
from datetime import timedelta

from odoo import _, api, fields, models
from odoo.exceptions import AccessDenied, UserError

MAX_CODE_ATTEMPTS = 5
_CODE_ITERATIONS = 120_000


def _hash_token(token):
    return hashlib.sha256(token.encode()).hexdigest()


def _hash_code(code, salt):
    return hashlib.pbkdf2_hmac('sha256', code.encode(), salt, _CODE_ITERATIONS).hex()


class CloudStampRecipient(models.Model):
    """A person outside the company who reads and agrees, through a link."""

    _name = 'cloudstamp.recipient'
    _description = 'CloudStamp Recipient'
    _order = 'envelope_id, sequence, id'

    envelope_id = fields.Many2one(
        'cloudstamp.envelope', required=True, index=True, ondelete='cascade')
    sequence = fields.Integer('Order', default=10)
    name = fields.Char(required=True)
    email = fields.Char(required=True)
    company_name = fields.Char('Company')
    lang = fields.Selection(
        [('ja_JP', '日本語'), ('en_US', 'English')], string='Language',
        default='ja_JP', required=True)
    access_code = fields.Char(
        'Access Code', store=False, compute='_compute_access_code',
        inverse='_inverse_access_code',
        help='Optional. Tell it to the recipient yourself, outside CloudStamp.')
    access_code_hash = fields.Char(groups='base.group_system', copy=False)
    has_access_code = fields.Boolean(readonly=True, copy=False)
    may_forward = fields.Boolean('May Forward', default=True)
    state = fields.Selection(
        [
            ('waiting', 'Waiting'),
            ('notified', 'Notified'),
            ('opened', 'Opened'),
            ('agreed', 'Agreed'),
            ('declined', 'Declined'),
            ('revision', 'Revision Requested'),
            ('forwarded', 'Forwarded'),
        ],
        default='waiting', required=True, readonly=True, copy=False)
    token_hash = fields.Char(index=True, copy=False, groups='base.group_system')
    token_expiry = fields.Datetime('Link Expiry', readonly=True, copy=False)
    failed_code_attempts = fields.Integer(readonly=True, copy=False)
    locked = fields.Boolean('Link Locked', readonly=True, copy=False)
    forwarded_from_id = fields.Many2one('cloudstamp.recipient', readonly=True, copy=False)
    forwarded_to_id = fields.Many2one(
        'cloudstamp.recipient', compute='_compute_forwarded_to')
    opened_at = fields.Datetime(readonly=True, copy=False)
    terms_accepted_at = fields.Datetime(readonly=True, copy=False)
    agreed_at = fields.Datetime(readonly=True, copy=False)
    forwarded_at = fields.Datetime(readonly=True, copy=False)
    last_ip = fields.Char('IP Address', readonly=True, copy=False)

    def _compute_access_code(self):
        self.access_code = False

    def _inverse_access_code(self):
        for recipient in self:
            code = (recipient.access_code or '').strip()
            salt = secrets.token_bytes(16)
            recipient.sudo().write({
                'access_code_hash': f'{salt.hex()}${_hash_code(code, salt)}' if code else False,
                'has_access_code': bool(code),
            })

    def _compute_forwarded_to(self):
        for recipient in self:
            recipient.forwarded_to_id = self.search(
                [('forwarded_from_id', '=', recipient.id)], limit=1)

    # ------------------------------------------------------------------
    # Links
    # ------------------------------------------------------------------
    def _issue_link(self):
        """A fresh link token (returned once, stored hashed); older links die."""
        self.ensure_one()
        token = secrets.token_urlsafe(32)  # 256 random bits
        expiry = fields.Datetime.now() + timedelta(days=self.envelope_id._link_validity_days())
        if self.envelope_id.expiry_date:  # a link never outlives its envelope
            expiry = min(expiry, self.envelope_id.expiry_date)
        self.sudo().write({'token_hash': _hash_token(token), 'token_expiry': expiry})
        return token

    def _link_url(self, token):
        base = self.get_base_url()
        return f'{base}/cloudstamp/r/{token}'

    @api.model
    def _from_token(self, token):
        """The recipient whose live link this is, or AccessDenied.

        A link works only for its recipient, only until it expires and only
        while it is that recipient's turn.
        """
        if not token or len(token) > 128:
            raise AccessDenied()
        digest = _hash_token(token)
        recipient = self.sudo().search([('token_hash', '=', digest)], limit=1)
        if not recipient or not hmac.compare_digest(recipient.token_hash, digest):
            raise AccessDenied()
        if recipient.token_expiry and recipient.token_expiry < fields.Datetime.now():
            raise AccessDenied()
        return recipient

    def _is_current_turn(self):
        self.ensure_one()
        envelope = self.envelope_id
        return envelope.state == 'sent' and envelope.current_recipient_id == self \
            and self.state in ('notified', 'opened')

    def _check_turn(self):
        if not self._is_current_turn():
            raise UserError(_('This document is not waiting for you any more.'))

    # ------------------------------------------------------------------
    # Access code
    # ------------------------------------------------------------------
    def _check_access_code(self, code, request_info=None):
        """True when ``code`` is right; five wrong codes lock the link."""
        self.ensure_one()
        recipient = self.sudo()
        if recipient.locked:
            return False
        stored = recipient.access_code_hash or ''
        salt_hex, _sep, expected = stored.partition('$')
        given = _hash_code(code or '', bytes.fromhex(salt_hex or '00'))
        if stored and hmac.compare_digest(given, expected):
            if recipient.failed_code_attempts:
                recipient.write({'failed_code_attempts': 0})
            return True
        attempts = recipient.failed_code_attempts + 1
        recipient.write({'failed_code_attempts': attempts})
        self.env['cloudstamp.event']._append(
            self.envelope_id, 'code_failed', self.email,
            _('Attempt %s', attempts), request_info)
        if attempts >= MAX_CODE_ATTEMPTS:
            recipient._lock(request_info)
        return False

    def _lock(self, request_info=None):
        # The link stays, to show the recipient what to do next; it can no
        # longer pass the code page.
        self.sudo().write({'locked': True})
        envelope = self.envelope_id
        self.env['cloudstamp.event']._append(
            envelope, 'locked', self.email,
            _('Locked after %s wrong access codes', MAX_CODE_ATTEMPTS), request_info)
        envelope._notify_sender('cloudstamp_sign.mail_template_link_locked', self)

    # ------------------------------------------------------------------
    # Recipient actions (called by the recipient pages)
    # ------------------------------------------------------------------
    def _mark_opened(self, request_info=None):
        self.ensure_one()
        if self.state == 'notified':
            self.sudo().write({'state': 'opened', 'opened_at': fields.Datetime.now(),
                               'last_ip': (request_info or {}).get('ip')})
            self.env['cloudstamp.event']._append(self.envelope_id, 'opened', self.email,
                                                 '', request_info)

    def _accept_terms(self, request_info=None):
        self.ensure_one()
        self._check_turn()
        if not self.terms_accepted_at:
            self.sudo().write({'terms_accepted_at': fields.Datetime.now()})
            self.env['cloudstamp.event']._append(
                self.envelope_id, 'terms_accepted', self.email, '', request_info)

    def _lock_for_action(self):
        """Serialise concurrent actions on one recipient: the second waits,
        then sees the first one's result."""
        self.env.cr.execute(
            'SELECT id FROM cloudstamp_recipient WHERE id = %s FOR UPDATE', [self.id])
        self.invalidate_recordset()
        self._check_turn()
        if not self.terms_accepted_at:
            raise UserError(_('Please accept the terms of use first.'))

    def action_agree(self, request_info=None):
        self.ensure_one()
        self._lock_for_action()
        envelope = self.envelope_id
        envelope.document_ids._sign_all(self.email, 'agree', actor_name=self.name)
        # The link stays alive (status page, then the final PDFs and the
        # certificate), but can no longer act: it is no longer this turn.
        self.sudo().write({'state': 'agreed', 'agreed_at': fields.Datetime.now(),
                           'last_ip': (request_info or {}).get('ip')})
        self.env['cloudstamp.event']._append(envelope, 'agreed', self.email, '', request_info)
        envelope._advance()

    def action_decline(self, reason, request_info=None):
        self._stop_round('declined', 'declined', reason, request_info)

    def action_request_revision(self, comment, request_info=None):
        self._stop_round('revision', 'revision_requested', comment, request_info)

    def _stop_round(self, state, event_type, text, request_info):
        """Decline or revision request: this round ends without agreement."""
        self.ensure_one()
        self._lock_for_action()
        self.sudo().write({'state': state})
        self.env['cloudstamp.event']._append(
            self.envelope_id, event_type, self.email, text or '', request_info)
        self.envelope_id._end(state, self, text)

    def action_forward(self, name, email, message='', request_info=None):
        """Hand this turn to the person with authority; they take our place."""
        self.ensure_one()
        self._lock_for_action()
        if not self.may_forward:
            raise UserError(_('The sender did not allow forwarding this document.'))
        email = (email or '').strip()
        if not name or '@' not in email or len(email) > 254:
            raise UserError(_('Please enter the name and a valid email address.'))
        envelope = self.envelope_id
        envelope.document_ids._sign_all(self.email, 'forward', actor_name=self.name)
        successor = self.sudo().create({
            'envelope_id': envelope.id,
            'sequence': self.sequence,
            'name': name.strip()[:200],
            'email': email,
            'lang': self.lang,
            'may_forward': self.may_forward,
            'forwarded_from_id': self.id,
        })
        self.sudo().write({'state': 'forwarded', 'forwarded_at': fields.Datetime.now(),
                           'token_hash': False})
        self.env['cloudstamp.event']._append(
            envelope, 'forwarded', self.email,
            _('Forwarded to %(name)s <%(email)s>: %(message)s',
              name=successor.name, email=successor.email, message=message or ''),
            request_info)
        envelope.sudo().current_recipient_id = successor
        successor._notify('cloudstamp_sign.mail_template_forwarded', message=message)
        return successor

    def _notify(self, template_xmlid, message=''):
        """Mail this recipient a new link (the old one dies)."""
        self.ensure_one()
        token = self._issue_link()
        if self.state == 'waiting':
            self.sudo().state = 'notified'
        template = self.env.ref(template_xmlid).sudo()
        mail_id = template.with_context(link=self._link_url(token), personal_message=message) \
            .send_mail(self.id, email_layout_xmlid='mail.mail_notification_light')
        self.env['mail.mail'].sudo().browse(mail_id)._send_on_commit()
        self.env['cloudstamp.event']._append(self.envelope_id, 'notified', self.email,
                                             template.name or '')
        return token
