import hashlib
import hmac
import re
import secrets
from datetime import timedelta

from odoo import SUPERUSER_ID, _, api, fields, models
from odoo.exceptions import AccessDenied, UserError, ValidationError

from ..tools import master_key
from ..tools.emails import single_email

MAX_CODE_ATTEMPTS = 5
MIN_CODE_LENGTH = 6  # with five attempts, a guess succeeds at most 5 in 10^6 times
MAX_FORWARDS = 3  # hops from the recipient the sender named
_CODE_ITERATIONS = 120_000
LINK_KEY_PURPOSE = 'recipient-links'
# Stands for the link in stored mail bodies; the link itself is put in only
# when the mail leaves (mail.mail._prepare_outgoing_body), so no stored
# message ever holds a live link.
LINK_PLACEHOLDER_PATH = '/cloudstamp/pending-link/{serial}'
LINK_PLACEHOLDER_RE = re.compile(r'/cloudstamp/pending-link/(\d+)')


def _hash_token(token):
    return hashlib.sha256(token.encode()).hexdigest()


def _hash_code(code, salt):
    return hashlib.pbkdf2_hmac('sha256', code.encode(), salt, _CODE_ITERATIONS).hex()


class CloudStampRecipient(models.Model):
    """A person outside the company who reads and agrees, through a link."""

    _name = 'cloudstamp.recipient'
    _inherit = ['cloudstamp.evidence.mixin']
    _description = 'CloudStamp Recipient'
    _order = 'envelope_id, sequence, id'
    _check_company_auto = True

    _workflow_fields = (
        'state', 'access_code_hash', 'has_access_code', 'link_serial', 'token_hash', 'token_expiry',
        'failed_code_attempts', 'locked', 'forwarded_from_id', 'forward_depth', 'opened_at',
        'terms_accepted_at', 'agreed_at', 'forwarded_at', 'last_ip',
    )
    _write_once_fields = ('envelope_id',)

    envelope_id = fields.Many2one(
        'cloudstamp.envelope', required=True, index=True, ondelete='cascade', check_company=True)
    company_id = fields.Many2one(related='envelope_id.company_id', store=True, index=True, string='Company')
    sequence = fields.Integer('Order', default=10)
    name = fields.Char(required=True)
    email = fields.Char(required=True)
    company_name = fields.Char('Company Name')
    lang = fields.Selection(
        [('ja_JP', '日本語'), ('en_US', 'English')], string='Language',
        default='ja_JP', required=True)
    access_code = fields.Char(
        'Access Code', store=False, compute='_compute_access_code',
        inverse='_inverse_access_code',
        help='Optional, at least 6 characters. Tell it to the recipient yourself, outside CloudStamp.')
    access_code_hash = fields.Char(groups='base.group_system', copy=False)
    has_access_code = fields.Boolean('Access Code Set', readonly=True, copy=False)
    may_forward = fields.Boolean(
        'May Forward', default=True,
        help=f'The recipient may hand their turn to the person with authority, up to {MAX_FORWARDS} times in a row.')
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
    link_serial = fields.Integer(readonly=True, copy=False, groups='base.group_system')
    token_hash = fields.Char(index=True, copy=False, groups='base.group_system')
    token_expiry = fields.Datetime('Link Expiry', readonly=True, copy=False)
    failed_code_attempts = fields.Integer(readonly=True, copy=False)
    locked = fields.Boolean('Link Locked', readonly=True, copy=False)
    forwarded_from_id = fields.Many2one('cloudstamp.recipient', readonly=True, copy=False)
    forward_depth = fields.Integer(readonly=True, copy=False)
    opened_at = fields.Datetime(readonly=True, copy=False)
    terms_accepted_at = fields.Datetime(readonly=True, copy=False)
    agreed_at = fields.Datetime(readonly=True, copy=False)
    forwarded_at = fields.Datetime(readonly=True, copy=False)
    last_ip = fields.Char('IP Address', readonly=True, copy=False)

    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            self._normalize_email_vals(vals)
        return super().create(vals_list)

    def write(self, vals):
        self._normalize_email_vals(vals)
        return super().write(vals)

    @api.model
    def _normalize_email_vals(self, vals):
        if vals.get('email'):
            vals['email'] = single_email(vals['email']) or vals['email']

    @api.constrains('email')
    def _check_email(self):
        for recipient in self:
            if single_email(recipient.email) != recipient.email:
                raise ValidationError(_(
                    '"%s" is not one valid email address. Enter exactly one address per recipient.',
                    recipient.email))

    def _evidence_envelopes(self):
        return self.envelope_id

    def _compute_access_code(self):
        self.access_code = False

    def _inverse_access_code(self):
        for recipient in self:
            code = (recipient.access_code or '').strip()
            if code and len(code) < MIN_CODE_LENGTH:
                raise ValidationError(_('An access code needs at least %s characters.', MIN_CODE_LENGTH))
            salt = secrets.token_bytes(16)
            recipient.sudo().write({
                'access_code_hash': f'{salt.hex()}${_hash_code(code, salt)}' if code else False,
                'has_access_code': bool(code),
            })

    def _copy_values_for_revision(self):
        """What a revised draft keeps of this recipient, access code included."""
        self.ensure_one()
        recipient = self.sudo()
        return {
            'name': recipient.name, 'email': recipient.email, 'company_name': recipient.company_name,
            'sequence': recipient.sequence, 'lang': recipient.lang, 'may_forward': recipient.may_forward,
            'access_code_hash': recipient.access_code_hash, 'has_access_code': recipient.has_access_code,
        }

    # ------------------------------------------------------------------
    # Links
    # ------------------------------------------------------------------
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
        expiry = fields.Datetime.now() + timedelta(days=self.envelope_id._link_validity_days())
        if self.envelope_id.expiry_date:  # a link never outlives its envelope
            expiry = min(expiry, self.envelope_id.expiry_date)
        recipient.write({'link_serial': serial, 'token_hash': _hash_token(self._link_token(serial)),
                         'token_expiry': expiry})
        return serial

    def _link_placeholder_url(self, serial):
        return self.get_base_url() + LINK_PLACEHOLDER_PATH.format(serial=serial)

    def _fill_link_placeholders(self, body, email_to):
        """Put the links into an outgoing mail body. Only a mail addressed to
        this recipient gets their links."""
        self.ensure_one()
        recipient = self.sudo()
        if single_email(email_to or '') != recipient.email:
            return body
        return LINK_PLACEHOLDER_RE.sub(lambda m: f'/cloudstamp/r/{self._link_token(int(m.group(1)))}', body)

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

    def _is_current_turn(self):
        self.ensure_one()
        envelope = self.envelope_id
        return envelope.state == 'sent' and envelope.current_recipient_id == self \
            and self.state in ('notified', 'opened')

    def _may_view(self):
        """The link may show documents: on its turn, or for good once completed."""
        self.ensure_one()
        return not self.locked and (self._is_current_turn() or self.envelope_id.state == 'completed')

    def _check_turn(self):
        if not self._is_current_turn():
            raise UserError(_('This document is not waiting for you any more.'))

    def _lock_row(self, nowait=False):
        """Serialise concurrent requests on one recipient. Under Odoo's
        REPEATABLE READ, a request that lost the race gets a serialisation
        failure here and is retried by Odoo on fresh data: expected, so not
        logged as a bad query."""
        self.env.cr.execute(
            f'SELECT id FROM cloudstamp_recipient WHERE id = %s FOR NO KEY UPDATE{" NOWAIT" if nowait else ""}',
            [self.id], log_exceptions=False)
        self.invalidate_recordset()

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
        salt_hex, _sep, expected = (recipient.access_code_hash or '').partition('$')
        given = _hash_code(code or '', bytes.fromhex(salt_hex or '00'))
        if hmac.compare_digest(given, expected):
            if recipient.failed_code_attempts:
                recipient.write({'failed_code_attempts': 0})
            return True
        attempts = recipient.failed_code_attempts + 1
        recipient.write({'failed_code_attempts': attempts})
        # Whoever typed the code is unknown: the event does not name the recipient as actor.
        self.envelope_id._log_event('code_failed', 'unknown', {'recipient': self.email, 'attempt': attempts},
                                    request_info)
        if attempts >= MAX_CODE_ATTEMPTS:
            recipient.write({'locked': True})
            self.envelope_id._log_event('locked', 'cloudstamp', {'recipient': self.email,
                                                                  'attempts': attempts})
            self.envelope_id._post_sender_notice('cloudstamp_sign.mail_template_link_locked', self)
        return False

    def action_unlock(self):
        """Sender: unlock a link locked by wrong codes, and mail a new one."""
        self.envelope_id._check_sender_access()
        for recipient in self:
            if not recipient.locked:
                raise UserError(_('The link of %s is not locked.', recipient.email))
            recipient.sudo().write({'locked': False, 'failed_code_attempts': 0})
            recipient.envelope_id._log_event('unlocked', recipient.envelope_id._sender_actor(),
                                             {'recipient': recipient.email})
            if recipient._is_current_turn() or recipient.envelope_id.state == 'completed':
                recipient._notify('cloudstamp_sign.mail_template_reminder')
        return True

    # ------------------------------------------------------------------
    # Recipient actions: only the recipient pages call these, after the
    # link (and the access code) were checked. Private: no RPC reaches them.
    # ------------------------------------------------------------------
    def _mark_opened(self, request_info=None):
        """The first deliberate step on the page (not a GET: mail scanners
        fetch links without anyone reading)."""
        self.ensure_one()
        if self.state == 'notified':
            self.sudo().write({'state': 'opened', 'opened_at': fields.Datetime.now(),
                               'last_ip': (request_info or {}).get('ip')})
            self.envelope_id._log_event('opened', self.email, {}, request_info)

    def _accept_terms(self, terms_sha256, request_info=None):
        self.ensure_one()
        self._check_turn()
        self._mark_opened(request_info)
        if not self.terms_accepted_at:
            self.sudo().write({'terms_accepted_at': fields.Datetime.now()})
            self.envelope_id._log_event('terms_accepted', self.email,
                                        {'terms_sha256': terms_sha256, 'lang': self.lang}, request_info)

    def _lock_for_action(self):
        """The recipient row locked, still on its turn, terms accepted."""
        self._lock_row()
        self._check_turn()
        if not self.terms_accepted_at:
            raise UserError(_('Please accept the terms of use first.'))

    def _action_agree(self, request_info=None):
        self.ensure_one()
        self._lock_for_action()
        envelope = self.envelope_id
        envelope.document_ids._sign_all(self.email, 'agree', actor_name=self.name)
        # The link stays alive (status page, then the final PDFs and the
        # certificate), but can no longer act: it is no longer this turn.
        self.sudo().write({'state': 'agreed', 'agreed_at': fields.Datetime.now(),
                           'last_ip': (request_info or {}).get('ip')})
        envelope._log_event('agreed', self.email, {}, request_info)
        envelope._advance()

    def _action_decline(self, reason, request_info=None):
        self._stop_round('declined', {'reason': reason}, request_info)

    def _action_request_revision(self, comment, request_info=None):
        self._stop_round('revision', {'comment': comment}, request_info)

    def _stop_round(self, state, details, request_info):
        """Decline or revision request: this round ends without agreement."""
        self.ensure_one()
        self._lock_for_action()
        self.sudo().write({'state': state})
        self.envelope_id._end_round(state, self, details, request_info)

    def _action_forward(self, name, email, message='', request_info=None):
        """Hand this turn to the person with authority; they take our place."""
        self.ensure_one()
        self._lock_for_action()
        if not self.may_forward:
            raise UserError(_('The sender did not allow forwarding this document.'))
        if self.forward_depth >= MAX_FORWARDS:
            raise UserError(_('This document was already forwarded %s times; it cannot be forwarded again.',
                              MAX_FORWARDS))
        name, address = (name or '').strip(), single_email(email or '')
        if not name or not address:
            raise UserError(_('Please enter the name and one valid email address.'))
        if address == self.email:
            raise UserError(_('Please forward to someone else.'))
        envelope = self.envelope_id
        envelope.document_ids._sign_all(self.email, 'forward', actor_name=self.name)
        successor = self.sudo().create({
            'envelope_id': envelope.id,
            'sequence': self.sequence,
            'name': name[:200],
            'email': address,
            'lang': self.lang,
            'may_forward': self.may_forward,
            'forwarded_from_id': self.id,
            'forward_depth': self.forward_depth + 1,
        })
        self.sudo().write({'state': 'forwarded', 'forwarded_at': fields.Datetime.now(),
                           'token_hash': False, 'last_ip': (request_info or {}).get('ip')})
        envelope._log_event('forwarded', self.email,
                            {'to_name': successor.name, 'to_email': successor.email, 'message': message or ''},
                            request_info)
        envelope.sudo().current_recipient_id = successor
        successor._notify('cloudstamp_sign.mail_template_forwarded', message=message)
        return successor

    def _notify(self, template_xmlid, message=''):
        """Mail this recipient a new link (the old one dies)."""
        self.ensure_one()
        serial = self._issue_link()
        if self.state == 'waiting':
            self.sudo().state = 'notified'
        template = self.env.ref(template_xmlid).sudo()
        mail_id = template.with_context(
            link=self._link_placeholder_url(serial), personal_message=message,
        ).send_mail(self.id, email_layout_xmlid='mail.mail_notification_light',
                    email_values={'cloudstamp_link_recipient_id': self.id})
        self.env['mail.mail'].sudo().browse(mail_id)._send_on_commit()
        self.envelope_id._log_event('notified', 'cloudstamp', {
            'recipient': self.email, 'mail': template_xmlid.rpartition('mail_template_')[2]})
