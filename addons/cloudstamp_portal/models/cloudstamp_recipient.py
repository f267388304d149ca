import hashlib
import re
from datetime import timedelta

from passlib.context import CryptContext

from odoo import SUPERUSER_ID, api, fields, models
from odoo.exceptions import AccessDenied, UserError, ValidationError

from odoo.addons.cloudstamp_sign.tools import master_key
from odoo.addons.cloudstamp_sign.tools.emails import single_email

MAX_CODE_ATTEMPTS = 5
MIN_CODE_LENGTH = 6  # with five attempts, a guess succeeds at most 5 in 10^6 times
LINK_KEY_PURPOSE = 'recipient-links'
LINK_PATH = '/cloudstamp/r/{token}'
# Stands for the link in stored mail bodies; the link itself is put in only
# when the mail leaves (mail.mail._prepare_outgoing_body), so no stored
# message ever holds a live link.
LINK_PLACEHOLDER_PATH = '/cloudstamp/pending-link/{serial}'
LINK_PLACEHOLDER_RE = re.compile(r'/cloudstamp/pending-link/(\d+)')
# Self-describing hashes ($pbkdf2-sha512$rounds$salt$hash), upgradable like Odoo's passwords.
ACCESS_CODE_CRYPT = CryptContext(['pbkdf2_sha512'], pbkdf2_sha512__rounds=120_000)


def _hash_token(token):
    return hashlib.sha256(token.encode()).hexdigest()


class CloudStampRecipient(models.Model):
    """What the recipient pages add to a recipient: the personal link, the
    access code with its lock-out, the opening and the terms of use."""

    _inherit = 'cloudstamp.recipient'

    access_code = fields.Char(
        store=False,
        compute='_compute_access_code',
        inverse='_inverse_access_code',
        help='Optional, at least 6 characters. Tell it to the recipient yourself, outside CloudStamp.',
    )
    access_code_hash = fields.Char(groups='base.group_system', copy=False)
    has_access_code = fields.Boolean('Access Code Set', readonly=True, copy=False)
    link_serial = fields.Integer(readonly=True, copy=False, groups='base.group_system')
    token_hash = fields.Char(index=True, copy=False, groups='base.group_system')
    token_expiry = fields.Datetime('Link Expiry', readonly=True, copy=False)
    failed_code_attempts = fields.Integer(readonly=True, copy=False)
    locked = fields.Boolean('Link Locked', readonly=True, copy=False)
    opened_at = fields.Datetime(readonly=True, copy=False)
    terms_accepted_at = fields.Datetime(readonly=True, copy=False)

    def _get_workflow_fields(self):
        return super()._get_workflow_fields() + (
            'access_code_hash',
            'has_access_code',
            'link_serial',
            'token_hash',
            'token_expiry',
            'failed_code_attempts',
            'locked',
            'opened_at',
            'terms_accepted_at',
        )

    def _compute_access_code(self):
        self.access_code = False

    def _inverse_access_code(self):
        for recipient in self:
            code = (recipient.access_code or '').strip()
            if code and len(code) < MIN_CODE_LENGTH:
                raise ValidationError(self.env._('An access code needs at least %s characters.', MIN_CODE_LENGTH))
            recipient.sudo().write(
                {
                    'access_code_hash': ACCESS_CODE_CRYPT.hash(code) if code else False,
                    'has_access_code': bool(code),
                }
            )

    def _copy_values_for_revision(self):
        """A revised draft keeps the access code too."""
        values = super()._copy_values_for_revision()
        recipient = self.sudo()
        values.update(access_code_hash=recipient.access_code_hash, has_access_code=recipient.has_access_code)
        return values

    # ------------------------------------------------------------------
    # Links
    # ------------------------------------------------------------------
    @api.model
    def _links_available(self):
        return True

    def _new_link(self):
        serial = self._issue_link()
        return (
            {
                'link': self.get_base_url() + LINK_PLACEHOLDER_PATH.format(serial=serial),
                'link_expiry': self.token_expiry,
                'needs_access_code': self.has_access_code,
            },
            {'cloudstamp_link_recipient_id': self.id},
        )

    def _link_token(self, serial):
        """The token of link number ``serial``: derived from the master key,
        so it is never stored; only its hash is."""
        self.ensure_one()
        database = self.env['ir.config_parameter'].sudo().get_param('database.uuid')
        key = master_key.derive_key(self.env, LINK_KEY_PURPOSE)
        return master_key.keyed_digest(key, f'{database}|{self.id}|{serial}')

    def _issue_link(self):
        """The next link (older ones die); returns its serial number."""
        self.ensure_one()
        recipient = self.sudo()
        serial = recipient.link_serial + 1
        envelope = self.envelope_id
        expiry = fields.Datetime.now() + timedelta(days=envelope.company_id.cloudstamp_link_days)
        if envelope.expiry_date:  # a link never outlives its envelope
            expiry = min(expiry, envelope.expiry_date)
        recipient.write(
            {'link_serial': serial, 'token_hash': _hash_token(self._link_token(serial)), 'token_expiry': expiry}
        )
        return serial

    def _revoke_link(self):
        self.sudo().write({'token_hash': False})

    def _fill_link_placeholders(self, body, email_to):
        """Put the links into an outgoing mail body. Only a mail addressed to
        this recipient gets their links."""
        self.ensure_one()
        recipient = self.sudo()
        if single_email(email_to or '') != recipient.email:
            return body
        return LINK_PLACEHOLDER_RE.sub(lambda m: LINK_PATH.format(token=self._link_token(int(m.group(1)))), body)

    @api.model
    def _from_token(self, token):
        """The recipient whose live link this is, or AccessDenied.

        A link works only for its recipient and only until it expires.
        """
        if not token or len(token) > 128:
            raise AccessDenied()
        # The workflow a link triggers runs as OdooBot, so the chatter and
        # tracking say "OdooBot", not "Public user"; who acted is in the trail.
        recipient = self.with_user(SUPERUSER_ID).search([('token_hash', '=', _hash_token(token))], limit=1)
        if not recipient:
            raise AccessDenied()
        if recipient.token_expiry and recipient.token_expiry < fields.Datetime.now():
            raise AccessDenied()
        return recipient

    def _may_view(self):
        """The link may show documents: on its turn, or for good once completed."""
        self.ensure_one()
        return not self.locked and (self._is_current_turn() or self.envelope_id.state == 'completed')

    def _may_be_reminded(self):
        return super()._may_be_reminded() and not self.locked

    def _check_may_be_reminded(self):
        result = super()._check_may_be_reminded()
        if self.locked:
            raise UserError(
                self.env._(
                    'The link of %s is locked: check the access code with them, then use "Unlock" on their line.',
                    self.email,
                )
            )
        return result

    # ------------------------------------------------------------------
    # Access code
    # ------------------------------------------------------------------
    def _check_access_code(self, code, request_info=None):
        """True when ``code`` is right; five wrong codes lock the link.

        The row lock makes every attempt on this link wait for the previous
        one, so parallel requests cannot test more than five codes.
        """
        self.ensure_one()
        recipient = self.sudo()
        self._lock_row(nowait=True)
        if recipient.locked or not recipient.has_access_code:
            return False
        if ACCESS_CODE_CRYPT.verify(code or '', recipient.access_code_hash):
            if recipient.failed_code_attempts:
                recipient.write({'failed_code_attempts': 0})
            return True
        attempts = recipient.failed_code_attempts + 1
        recipient.write({'failed_code_attempts': attempts})
        # Whoever typed the code is unknown: the event does not name the recipient as actor.
        self.envelope_id._log_event(
            'code_failed', 'unknown', {'recipient': self.email, 'attempt': attempts}, request_info
        )
        if attempts >= MAX_CODE_ATTEMPTS:
            recipient.write({'locked': True})
            self.envelope_id._log_event('locked', 'cloudstamp', {'recipient': self.email, 'attempts': attempts})
            self.envelope_id._post_sender_notice(
                'cloudstamp_portal.mail_template_link_locked', self, 'cloudstamp_portal.mt_envelope_link_locked'
            )
        return False

    def action_unlock(self):
        """Sender: unlock a link locked by wrong codes, and mail a new one."""
        self.envelope_id._check_sender_access()
        for recipient in self:
            if not recipient.locked:
                raise UserError(self.env._('The link of %s is not locked.', recipient.email))
            recipient.sudo().write({'locked': False, 'failed_code_attempts': 0})
            recipient.envelope_id._log_event(
                'unlocked', recipient.envelope_id._sender_actor(), {'recipient': recipient.email}
            )
            if recipient._is_current_turn() or recipient.envelope_id.state == 'completed':
                recipient._notify('cloudstamp_sign.mail_template_reminder')
        return True

    # ------------------------------------------------------------------
    # Steps on the page before an action (private: only the pages call them)
    # ------------------------------------------------------------------
    def _mark_opened(self, request_info=None):
        """The first deliberate step on the page (not a GET: mail scanners
        fetch links without anyone reading)."""
        self.ensure_one()
        if self.state == 'notified':
            self.sudo().write(
                {'state': 'opened', 'opened_at': fields.Datetime.now(), 'last_ip': (request_info or {}).get('ip')}
            )
            self.envelope_id._log_event('opened', self.email, {}, request_info)

    def _terms_of_use(self):
        """The terms this recipient must accept, in their language."""
        self.ensure_one()
        return self.company_id.sudo().with_context(lang=self.lang).cloudstamp_terms or ''

    def _accept_terms(self, terms_sha256, request_info=None):
        self.ensure_one()
        self._check_turn()
        self._mark_opened(request_info)
        if not self.terms_accepted_at:
            self.sudo().write({'terms_accepted_at': fields.Datetime.now()})
            self.envelope_id._log_event(
                'terms_accepted', self.email, {'terms_sha256': terms_sha256, 'lang': self.lang}, request_info
            )

    def _lock_for_action(self):
        """No action before the terms of use are accepted."""
        result = super()._lock_for_action()
        if not self.terms_accepted_at:
            raise UserError(self.env._('Please accept the terms of use first.'))
        return result
