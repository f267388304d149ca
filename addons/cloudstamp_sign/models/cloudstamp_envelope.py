import secrets
from datetime import timedelta

from odoo import _, api, fields, models
from odoo.exceptions import UserError

from ..engine import PreflightRefusal, RefusalCode
from ..tools import field_attachments, read_field_bytes, write_field_bytes

_ID_ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789'  # no 0/O, 1/I


def _new_document_ref():
    """CS-XXXX-XXXX-XXXX-XXXX: 80 random bits, easy to read aloud."""
    chars = ''.join(secrets.choice(_ID_ALPHABET) for _ in range(16))
    return 'CS-' + '-'.join(chars[i:i + 4] for i in range(0, 16, 4))


class CloudStampEnvelope(models.Model):
    """One send (書類): documents, recipients in order, and its evidence."""

    _name = 'cloudstamp.envelope'
    _description = 'CloudStamp Envelope'
    _inherit = ['mail.thread', 'mail.activity.mixin']
    _order = 'id desc'

    name = fields.Char('Title', required=True, tracking=True)
    document_ref = fields.Char(
        'Document ID', readonly=True, copy=False, index=True,
        default=lambda self: _new_document_ref())
    user_id = fields.Many2one(
        'res.users', 'Sender', required=True, default=lambda self: self.env.user,
        tracking=True)
    company_id = fields.Many2one(
        'res.company', required=True, default=lambda self: self.env.company)
    document_ids = fields.One2many('cloudstamp.document', 'envelope_id', 'Documents')
    recipient_ids = fields.One2many('cloudstamp.recipient', 'envelope_id', 'Recipients')
    cc_partner_ids = fields.Many2many(
        'res.partner', string='CC (共有先)',
        help='Receive only the final PDFs when every party has agreed.')
    message = fields.Text('Message')
    lang = fields.Selection(
        [('ja_JP', '日本語'), ('en_US', 'English')], string='Language',
        default=lambda self: 'ja_JP' if (self.env.lang or self.env.user.lang or '').startswith('ja')
        else 'en_US')
    expiry_date = fields.Datetime(
        'Expires On', copy=False,
        default=lambda self: fields.Datetime.now() + timedelta(days=self._default_expiry_days()))
    state = fields.Selection(
        [
            ('draft', 'Draft'),
            ('sent', 'Waiting'),
            ('completed', 'Completed'),
            ('declined', 'Declined'),
            ('revision', 'Revision Requested'),
            ('cancelled', 'Cancelled'),
            ('expired', 'Expired'),
        ],
        default='draft', required=True, readonly=True, copy=False, tracking=True,
        group_expand=True)
    current_recipient_id = fields.Many2one(
        'cloudstamp.recipient', 'Waiting On', readonly=True, copy=False)
    sent_date = fields.Datetime(readonly=True, copy=False)
    completed_date = fields.Datetime(readonly=True, copy=False)
    end_reason = fields.Text('Reason', readonly=True, copy=False)
    revised_from_id = fields.Many2one('cloudstamp.envelope', 'Revision Of', readonly=True, copy=False)
    revision_ids = fields.One2many('cloudstamp.envelope', 'revised_from_id', 'Revisions')
    event_ids = fields.One2many('cloudstamp.event', 'envelope_id', 'Audit Trail')
    certificate_file = fields.Binary('Certificate of Agreement', attachment=True, readonly=True, copy=False)
    certificate_filename = fields.Char(compute='_compute_certificate_filename')
    document_count = fields.Integer(compute='_compute_counts')
    recipient_count = fields.Integer(compute='_compute_counts')

    _sql_constraints = [
        ('document_ref_unique', 'unique(document_ref)', 'The document ID must be unique.'),
    ]

    @api.model
    def _default_expiry_days(self):
        return int(self.env['ir.config_parameter'].sudo().get_param('cloudstamp.expiry_days', 10))

    def _link_validity_days(self):
        return int(self.env['ir.config_parameter'].sudo().get_param('cloudstamp.link_days', 10))

    def _compute_certificate_filename(self):
        for envelope in self:
            envelope.certificate_filename = f'{envelope.document_ref}_certificate.pdf'

    @api.depends('document_ids', 'recipient_ids')
    def _compute_counts(self):
        for envelope in self:
            envelope.document_count = len(envelope.document_ids)
            envelope.recipient_count = len(envelope.recipient_ids)

    def _check_send_size(self):
        limits = self.env['cloudstamp.signing.service']._preflight_limits()
        for envelope in self:
            if sum(envelope.document_ids.mapped('file_size')) > limits.max_send_bytes:
                raise UserError(PreflightRefusal(
                    RefusalCode.SEND_TOO_LARGE, '', limits.max_send_bytes,
                ).message(self.env.lang or 'en_US'))

    # ------------------------------------------------------------------
    # Sender actions
    # ------------------------------------------------------------------
    def action_send(self):
        for envelope in self:
            if envelope.state != 'draft':
                raise UserError(_('Only a draft can be sent.'))
            if not envelope.document_ids:
                raise UserError(_('Add at least one PDF.'))
            if not envelope.recipient_ids:
                raise UserError(_('Add at least one recipient.'))
            envelope.document_ids._sign_all(
                envelope.user_id.email or envelope.user_id.login, 'send',
                actor_name=envelope.user_id.name,
                page_note=f'CloudStamp Document ID: {envelope.document_ref}')
            first = envelope.recipient_ids.sorted(lambda r: (r.sequence, r.id))[0]
            envelope.write({'state': 'sent', 'sent_date': fields.Datetime.now(),
                            'current_recipient_id': first.id})
            envelope._log_event('sent', envelope._sender_actor())
            first._notify('cloudstamp_sign.mail_template_request')
        return True

    def action_remind(self):
        for envelope in self:
            if envelope.state != 'sent':
                raise UserError(_('Only a document that is waiting can be reminded.'))
            recipient = envelope.current_recipient_id
            recipient._notify('cloudstamp_sign.mail_template_reminder')
            envelope._log_event('reminded', envelope._sender_actor(), recipient.email)
        return True

    def action_cancel(self):
        for envelope in self:
            if envelope.state not in ('draft', 'sent'):
                raise UserError(_('Only a draft or a waiting document can be cancelled.'))
            envelope._end('cancelled', None, _('Cancelled by the sender'))
        return True

    def action_revise(self):
        """A new draft from a revision request, linked to the old one."""
        self.ensure_one()
        if self.state not in ('revision', 'declined', 'expired', 'cancelled'):
            raise UserError(_('Only a finished, unsigned round can be revised.'))
        revised = self.copy({
            'name': self.name,
            'revised_from_id': self.id,
            'document_ids': [(0, 0, {'name': d.name, 'original_file': d.original_file,
                                     'sequence': d.sequence}) for d in self.document_ids],
            'recipient_ids': [
                (0, 0, {'name': r.name, 'email': r.email, 'company_name': r.company_name,
                        'sequence': r.sequence, 'lang': r.lang, 'may_forward': r.may_forward})
                for r in self.recipient_ids.filtered(lambda r: not r.forwarded_from_id)],
        })
        return {'type': 'ir.actions.act_window', 'res_model': self._name,
                'res_id': revised.id, 'view_mode': 'form'}

    def action_verify_trail(self):
        self.ensure_one()
        problem = self._verify_trail()
        if problem:
            message = problem
            kind = 'danger'
        else:
            message = _('The audit trail and the stored documents are intact.')
            kind = 'success'
        return {'type': 'ir.actions.client', 'tag': 'display_notification',
                'params': {'message': message, 'type': kind, 'sticky': bool(problem)}}

    def _verify_trail(self):
        """A sentence on the first break in the trail or stored files, or ''."""
        self.ensure_one()
        broken = self.sudo().event_ids._verify_chain()
        if broken:
            event, reason = broken
            return _('Audit trail broken at event %(seq)s (%(type)s): %(reason)s',
                     seq=event.sequence, type=event.event_type, reason=reason)
        document = self.document_ids._verify_stored()
        if document:
            return _('The stored file of %s does not match its recorded SHA-256.', document.name)
        last = self.sudo().event_ids.sorted('sequence')[-1:]
        if last and last.document_hashes and last.document_hashes != self.document_ids._current_hashes():
            return _('The stored documents differ from those the audit trail recorded last.')
        return ''

    # ------------------------------------------------------------------
    # Workflow
    # ------------------------------------------------------------------
    def _sender_actor(self):
        return self.user_id.email or self.user_id.login

    def _log_event(self, event_type, actor, details='', request_info=None):
        return self.env['cloudstamp.event']._append(self, event_type, actor, details, request_info)

    def _advance(self):
        """After an agreement: the next recipient's turn, or completion."""
        self.ensure_one()
        pending = self.recipient_ids.filtered(lambda r: r.state == 'waiting') \
            .sorted(lambda r: (r.sequence, r.id))
        if pending:
            self.sudo().current_recipient_id = pending[0]
            pending[0]._notify('cloudstamp_sign.mail_template_request')
        else:
            self._complete()

    def _complete(self):
        self.sudo().write({'state': 'completed', 'completed_date': fields.Datetime.now(),
                           'current_recipient_id': False})
        self._log_event('completed', 'cloudstamp')
        certificate = self.env['cloudstamp.certificate.report']._render_signed(self)
        write_field_bytes(self, 'certificate_file', certificate, self.certificate_filename)
        self._send_completion_mails()
        self.message_post(body=_('Every party agreed. The signed PDFs and the certificate '
                                 'of agreement were sent to everyone.'))

    def _end(self, state, recipient, reason):
        self.sudo().write({'state': state, 'end_reason': reason or '',
                           'current_recipient_id': False})
        event_type = {'declined': 'declined', 'revision': 'revision_requested',
                      'cancelled': 'cancelled', 'expired': 'expired'}[state]
        if not recipient:
            self._log_event(event_type, self._sender_actor() if state == 'cancelled' else 'cloudstamp',
                            reason or '')
        template = {'declined': 'cloudstamp_sign.mail_template_declined',
                    'revision': 'cloudstamp_sign.mail_template_revision'}.get(state)
        if template:
            self._notify_sender(template, recipient)
            earlier = self.recipient_ids.filtered(
                lambda r: r.state in ('agreed', 'forwarded') and r != recipient)
            for other in earlier:
                self.env.ref(template).sudo().with_context(actor=recipient).send_mail(
                    self.id, email_values={'email_to': other.email, 'recipient_ids': []},
                    email_layout_xmlid='mail.mail_notification_light')
        self.message_post(body=_('%(state)s: %(reason)s',
                                 state=dict(self._fields['state'].selection)[state],
                                 reason=reason or ''))

    def _notify_sender(self, template_xmlid, recipient):
        self.ensure_one()
        template = self.env.ref(template_xmlid).sudo()
        template.with_context(actor=recipient).send_mail(
            self.id, email_layout_xmlid='mail.mail_notification_light')
        self.message_post(body=_('%(name)s <%(email)s>: %(what)s', name=recipient.name,
                                 email=recipient.email, what=template.name))
        self.activity_schedule('mail.mail_activity_data_todo', user_id=self.user_id.id,
                               summary=template.name)

    def _send_completion_mails(self):
        """The signed PDFs and the certificate to every party, forwarders and
        CC people included: one mail per language, all parties addressed, so
        the 1 MB attachments are encoded and sent once or twice, not per person."""
        template = self.env.ref('cloudstamp_sign.mail_template_completed').sudo()
        attachments = self._final_attachments()
        parties = [(self.user_id.partner_id.email, self.lang)]
        parties += [(r.email, r.lang) for r in self.recipient_ids]
        parties += [(p.email, self.lang) for p in self.cc_partner_ids if p.email]
        by_lang, seen = {}, set()
        for address, lang in parties:
            if address and address.lower() not in seen:
                seen.add(address.lower())
                by_lang.setdefault(lang or 'en_US', []).append(address)
        for lang, addresses in by_lang.items():
            template.with_context(lang=lang).send_mail(
                self.id, email_values={'email_to': ','.join(addresses), 'recipient_ids': [],
                                       'attachment_ids': [(4, a.id) for a in attachments]},
                email_layout_xmlid='mail.mail_notification_light')

    def _final_attachments(self):
        """The stored files themselves, not copies: nothing is duplicated, and
        mail clean-up never deletes attachments owned by another record."""
        return self.document_ids._signed_attachments() | field_attachments(self, 'certificate_file')

    def _certificate_pdf(self):
        return read_field_bytes(self, 'certificate_file')

    # ------------------------------------------------------------------
    # Crons
    # ------------------------------------------------------------------
    @api.model
    def _cron_expire(self):
        overdue = self.search([('state', '=', 'sent'), ('expiry_date', '<', fields.Datetime.now())])
        for envelope in overdue:
            envelope._end('expired', None, _('The expiry date passed'))

    @api.model
    def _cron_remind(self):
        days = int(self.env['ir.config_parameter'].sudo().get_param('cloudstamp.remind_after_days', 3))
        due = self.search([('state', '=', 'sent')])
        threshold = fields.Datetime.now() - timedelta(days=days)
        for envelope in due:
            last_notice = max(envelope.sudo().event_ids.filtered(
                lambda e: e.event_type in ('notified', 'reminded')).mapped('event_time') or [envelope.sent_date])
            if last_notice and last_notice < threshold:
                envelope.action_remind()
