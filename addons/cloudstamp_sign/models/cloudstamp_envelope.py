import hashlib
import logging
import secrets
from datetime import timedelta
from pathlib import Path

from odoo import Command, api, fields, models
from odoo.exceptions import UserError

from odoo.addons.base.models.res_partner import _lang_get

from cloudstamp_engine import RefusalCode, printed_document_refs
from cloudstamp_engine.config import MB

from ..report import agreement_certificate
from ..tools import field_attachments, force_own_user, read_field_bytes, write_field_bytes
from ..tools.emails import single_email

_logger = logging.getLogger(__name__)

_ID_ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789'  # no 0/O, 1/I
# How each end of a round is recorded, and whom it is mailed to.
_ROUND_END_EVENTS = {
    'declined': 'declined',
    'revision': 'revision_requested',
    'cancelled': 'cancelled',
    'expired': 'expired',
}
_FINAL_EVENTS = dict(_ROUND_END_EVENTS, completed='completed')
# What may still happen after the final event: a link opening the final PDFs.
_ACCESS_EVENTS = ('notified', 'code_failed', 'locked', 'unlocked')
# ... and, for a completed document, the renewals of its archive timestamps.
_AFTER_FINAL_EVENTS = (*_ACCESS_EVENTS, 'evidence_renewed')
# A renewal is due this long before the newest archive timestamp's TSA
# certificate expires (the company may choose a shorter period).
RENEWAL_MARGIN = timedelta(days=30)
MIN_RENEWAL_INTERVAL = timedelta(days=1)
# A recipient's own steps, whose IP addresses the certificate of agreement shows.
_PARTY_STEPS = ('opened', 'terms_accepted', 'agreed', 'forwarded')
# Ends a recipient caused: the notice to the sender and to earlier parties.
_ROUND_END_NOTICES = {
    'declined': ('cloudstamp_sign.mail_template_declined', 'cloudstamp_sign.mt_envelope_declined'),
    'revision': ('cloudstamp_sign.mail_template_revision', 'cloudstamp_sign.mt_envelope_revision'),
}
# State changes followers hear of through tracking.
_TRACKED_STATE_SUBTYPES = {
    'sent': 'cloudstamp_sign.mt_envelope_sent',
    'completed': 'cloudstamp_sign.mt_envelope_completed',
    'expired': 'cloudstamp_sign.mt_envelope_expired',
}


def _new_document_ref():
    """CS-XXXX-XXXX-XXXX-XXXX: 80 random bits, easy to read aloud."""
    chars = ''.join(secrets.choice(_ID_ALPHABET) for _ in range(16))
    return 'CS-' + '-'.join(chars[i : i + 4] for i in range(0, 16, 4))


class CloudStampEnvelope(models.Model):
    """One send (書類): documents, recipients in order, and its evidence."""

    _name = 'cloudstamp.envelope'
    _description = 'CloudStamp Envelope'
    _inherit = ['mail.thread', 'mail.activity.mixin', 'cloudstamp.evidence.mixin']
    _order = 'id desc'
    _check_company_auto = True

    name = fields.Char('Title', required=True, tracking=True)
    document_ref = fields.Char(
        'Document ID', readonly=True, copy=False, index=True, default=lambda self: _new_document_ref()
    )
    user_id = fields.Many2one(
        'res.users', 'Sender', required=True, default=lambda self: self.env.user, tracking=True, check_company=True
    )
    company_id = fields.Many2one('res.company', required=True, default=lambda self: self.env.company)
    file_ids = fields.One2many('cloudstamp.envelope.file', 'envelope_id', 'Files')
    recipient_ids = fields.One2many('cloudstamp.recipient', 'envelope_id', 'Recipients')
    cc_partner_ids = fields.Many2many(
        'res.partner',
        string='CC (共有先)',
        check_company=True,
        help='Receive only the final PDFs when every party has agreed.',
    )
    message = fields.Text()
    lang = fields.Selection(
        _lang_get,
        string='Language',
        default=lambda self: self.env.lang or self.env.user.lang or 'en_US',
        help='The language of the mails to CC people.',
    )
    tz = fields.Char(
        'Time Zone',
        compute='_compute_tz',
        help="The sender's time zone, or else the company's: the times in mails, pages and the certificate.",
    )
    expiry_date = fields.Datetime(
        'Expires On',
        copy=False,
        default=lambda self: fields.Datetime.now() + timedelta(days=self.env.company.cloudstamp_expiry_days),
    )
    state = fields.Selection(
        [
            ('draft', 'Draft'),
            ('sent', 'Waiting'),
            ('finalizing', 'Finalizing'),
            ('completed', 'Completed'),
            ('declined', 'Declined'),
            ('revision', 'Revision Requested'),
            ('cancelled', 'Cancelled'),
            ('expired', 'Expired'),
        ],
        default='draft',
        required=True,
        readonly=True,
        copy=False,
        tracking=True,
        group_expand=True,
    )
    current_recipient_id = fields.Many2one('cloudstamp.recipient', 'Waiting On', readonly=True, copy=False)
    sent_date = fields.Datetime(readonly=True, copy=False)
    completed_date = fields.Datetime(readonly=True, copy=False)
    end_reason = fields.Text('Reason', readonly=True, copy=False)
    template_id = fields.Many2one('cloudstamp.template', readonly=True, index='btree_not_null', check_company=True)
    revised_from_id = fields.Many2one('cloudstamp.envelope', 'Revision Of', readonly=True, copy=False)
    revision_ids = fields.One2many('cloudstamp.envelope', 'revised_from_id', 'Revisions')
    event_ids = fields.One2many('cloudstamp.event', 'envelope_id', 'Audit Trail')
    trail_head = fields.Char(
        'Audit Trail Head',
        readonly=True,
        copy=False,
        help='SHA-256 of the newest audit event, written with each event.',
    )
    agreement_certificate_file = fields.Binary('Certificate of Agreement', attachment=True, readonly=True, copy=False)
    agreement_certificate_filename = fields.Char(compute='_compute_agreement_certificate_filename')
    revision_count = fields.Integer(compute='_compute_revision_count')
    evidence_valid_until = fields.Datetime(
        compute='_compute_evidence_valid_until',
        store=True,
        help='The signed files can be validated, offline, until this date; CloudStamp renews their archive '
        'timestamps before then.',
    )
    # The sender's own seal (印影), the appearance of their "send" signature:
    # placed in draft like the rest of the send, signed in when it is sent.
    sender_seal_file_id = fields.Many2one(
        'cloudstamp.envelope.file',
        'Seal On',
        copy=False,
        ondelete='set null',
        domain="[('envelope_id', '=', id)]",
        help='The file whose page shows your seal when you send. Empty: no seal (it is optional).',
    )
    sender_seal_page = fields.Integer('Seal Page Index', copy=False)  # 0-based, as the engine counts
    sender_seal_x = fields.Float('Seal X (pt)', copy=False)
    sender_seal_y = fields.Float('Seal Y (pt)', copy=False)
    sender_seal_shape = fields.Selection(
        [('round', 'Round'), ('square', 'Square')], 'Seal Shape', default='round', copy=False
    )
    sender_seal_source = fields.Selection(
        [('name', 'Your Name'), ('company', 'Company Name')], 'Seal Text', default='name', copy=False
    )
    sender_seal_summary = fields.Char('My Seal', compute='_compute_sender_seal_summary')

    _sql_constraints = [
        ('document_ref_unique', 'unique(document_ref)', 'The document ID must be unique.'),
    ]

    @api.model_create_multi
    def create(self, vals_list):
        force_own_user(self.env, vals_list)
        return super().create(vals_list)

    @api.depends('user_id.tz', 'company_id.partner_id.tz')
    def _compute_tz(self):
        for envelope in self:
            envelope.tz = envelope.user_id.tz or envelope.company_id.partner_id.tz or 'UTC'

    def _get_workflow_fields(self):
        return super()._get_workflow_fields() + (
            'document_ref',
            'state',
            'current_recipient_id',
            'sent_date',
            'completed_date',
            'end_reason',
            'revised_from_id',
            'agreement_certificate_file',
            'trail_head',
            'evidence_valid_until',
        )

    def _evidence_envelopes(self):
        return self

    def message_get_followers(self, *args, **kwargs):
        # mail answers this for any record id; the followers of a contract
        # are for those who may read it.
        self.check_access('read')
        return super().message_get_followers(*args, **kwargs)

    @api.model
    def _evidence_envelopes_of(self, vals_list):
        return self.browse()

    @api.depends('document_ref')
    def _compute_agreement_certificate_filename(self):
        for envelope in self:
            envelope.agreement_certificate_filename = f'{envelope.document_ref}_certificate.pdf'

    @api.depends('file_ids.evidence_valid_until')
    def _compute_evidence_valid_until(self):
        for envelope in self:
            dates = [date for date in envelope.file_ids.mapped('evidence_valid_until') if date]
            envelope.evidence_valid_until = min(dates) if dates else False

    @api.depends('sender_seal_file_id', 'sender_seal_page')
    def _compute_sender_seal_summary(self):
        for envelope in self:
            envelope.sender_seal_summary = envelope.sender_seal_file_id and self.env._(
                '%(file)s, page %(page)s', file=envelope.sender_seal_file_id.name, page=envelope.sender_seal_page + 1
            )

    @api.constrains(
        'sender_seal_file_id', 'sender_seal_page', 'sender_seal_x', 'sender_seal_y', 'sender_seal_shape', 'file_ids'
    )
    def _check_sender_seal(self):
        # The same checks as when it is signed in (_send), with the sender's name.
        for envelope in self.filtered('sender_seal_file_id'):
            envelope.file_ids._seal_specs(envelope._sender_seal(), envelope.user_id.name, envelope.company_id.name)

    def _sender_seal(self):
        """The seal the sender placed, as _seal_specs takes it; None without one."""
        self.ensure_one()
        if not self.sender_seal_file_id:
            return None
        return {
            'file_id': self.sender_seal_file_id.id,
            'page': self.sender_seal_page,
            'x': self.sender_seal_x,
            'y': self.sender_seal_y,
            'shape': self.sender_seal_shape or 'round',
            'source': self.sender_seal_source or 'name',
        }

    @api.depends('revision_ids')
    def _compute_revision_count(self):
        for envelope in self:
            envelope.revision_count = len(envelope.revision_ids)

    def _check_send_size(self):
        service = self.env['cloudstamp.signing.service']
        limit = service._preflight_limits().max_send_bytes
        for envelope in self:
            if sum(envelope.file_ids.mapped('file_size')) > limit:
                raise UserError(service._refusal_message(RefusalCode.SEND_TOO_LARGE, limit_mb=f'{limit / MB:g}'))

    # ------------------------------------------------------------------
    # Sender actions (public: the form's buttons). Each checks that the
    # caller may manage these envelopes, then runs the workflow as sudo.
    # ------------------------------------------------------------------
    def _check_sender_access(self):
        """Only the envelope's sender and CloudStamp administrators of its
        company act on it: write access, not mere read access."""
        self.check_access('write')

    def action_send(self):
        self._check_sender_access()
        actor = self.env.user._cloudstamp_sender_address()
        for envelope in self:
            envelope._check_ready_to_send()
            envelope.sudo()._send(actor, self.env.user.name)
        return True

    def _check_ready_to_send(self):
        self.ensure_one()
        if self.state != 'draft':
            raise UserError(self.env._('Only a draft can be sent.'))
        if not self.file_ids:
            raise UserError(self.env._('Add at least one PDF.'))
        if not self.recipient_ids:
            raise UserError(self.env._('Add at least one recipient.'))
        if not self.env['cloudstamp.recipient']._links_available():
            self.recipient_ids[:1]._new_link()  # says what is missing
        for partner in self.cc_partner_ids:
            if not single_email(partner.email or ''):
                raise UserError(
                    self.env._(
                        'The CC contact %(name)s needs exactly one valid email address (now: "%(email)s").',
                        name=partner.name,
                        email=partner.email or '',
                    )
                )
        self._check_send_size()

    def _send(self, actor, actor_name):
        # The seal shows the name of whoever signs the send, like the signature.
        seals, seal_details = self.file_ids._seal_specs(self._sender_seal(), actor_name, self.company_id.name)
        self.file_ids._sign_all(actor, 'send', actor_name=actor_name, page_note=self._page_note(), seals=seals)
        # The sender hears of what follows, even when an administrator prepared it.
        self.message_subscribe(partner_ids=self.user_id.partner_id.ids)
        first = self.recipient_ids[0]  # _order: sequence, then id
        self.write({'state': 'sent', 'sent_date': fields.Datetime.now(), 'current_recipient_id': first.id})
        self._log_event('sent', actor, {'by': actor_name, **seal_details})
        first._notify('cloudstamp_sign.mail_template_request')

    def _page_note(self):
        return f'CloudStamp Document ID: {self.document_ref}'

    def action_remind(self):
        self._check_sender_access()
        actor = self.env.user._cloudstamp_sender_address()
        for envelope in self.sudo():
            if envelope.state != 'sent':
                raise UserError(self.env._('Only a document that is waiting can be reminded.'))
            envelope._remind(actor)
        return True

    def _remind(self, actor):
        recipient = self.current_recipient_id
        recipient._check_may_be_reminded()
        recipient._notify('cloudstamp_sign.mail_template_reminder')
        self._log_event('reminded', actor, {'recipient': recipient.email})

    def action_cancel(self):
        self._check_sender_access()
        actor = self.env.user._cloudstamp_sender_address()
        for envelope in self.sudo():
            if envelope.state not in ('draft', 'sent'):
                raise UserError(self.env._('Only a draft or a waiting document can be cancelled.'))
            if envelope.state == 'draft':
                envelope.write({'state': 'cancelled', 'end_reason': self.env._('Cancelled by the sender')})
            else:
                envelope._end_round('cancelled', None, {}, actor=actor)
        return True

    def action_revise(self):
        """A new draft from a finished round, linked to the old one, with the
        same files, recipients and access codes."""
        self.ensure_one()
        self._check_sender_access()
        if self.state not in ('revision', 'declined', 'expired', 'cancelled'):
            raise UserError(self.env._('Only a finished, unsigned round can be revised.'))
        original = self.sudo()
        revised = original.copy(
            {
                'name': original.name,
                'revised_from_id': original.id,
                'file_ids': [Command.create(d._copy_values_for_revision()) for d in original.file_ids],
                'recipient_ids': [
                    Command.create(r._copy_values_for_revision())
                    for r in original.recipient_ids.filtered(lambda r: not r.forwarded_from_id)
                ],
            }
        )
        return {'type': 'ir.actions.act_window', 'res_model': self._name, 'res_id': revised.id, 'view_mode': 'form'}

    def action_view_revisions(self):
        """The drafts revised from this document (the smart button)."""
        self.ensure_one()
        self.check_access('read')
        action = self.env['ir.actions.act_window']._for_xml_id('cloudstamp_sign.cloudstamp_envelope_action')
        action.update(domain=[('revised_from_id', '=', self.id)], context={})
        return action

    def action_verify_trail(self):
        self.ensure_one()
        self.check_access('read')
        problem = self.sudo()._verify_trail()
        if problem:
            message = problem
            kind = 'danger'
        else:
            message = self.env._('The audit trail and the stored documents are intact.')
            kind = 'success'
        return {
            'type': 'ir.actions.client',
            'tag': 'display_notification',
            'params': {'message': message, 'type': kind, 'sticky': bool(problem)},
        }

    def _verify_trail(self):
        """A sentence on the first break in the trail, its anchors or the
        stored files, or ''."""
        self.ensure_one()
        events = self.sudo().event_ids.sorted('sequence')
        problem = events._verify_chain()
        if problem:
            return problem
        if (events[-1:].event_hash or False) != (self.trail_head or False):
            return self.env._(
                'The audit trail does not end where it ended when it was last written: '
                'events are missing or were added outside the workflow.'
            )
        problem = events._verify_anchors(self.company_id)
        if problem:
            return problem
        final_event = _FINAL_EVENTS.get(self.state)
        if final_event and events:
            anchored = events.filtered('anchor_token')[-1:]
            after = events.filtered(lambda e: e.sequence > anchored.sequence)
            if anchored.event_type != final_event or set(after.mapped('event_type')) - set(_AFTER_FINAL_EVENTS):
                return self.env._('The audit trail of a finished document must end with its timestamped final event.')
        document = self.file_ids._verify_stored()
        if document:
            return self.env._('The stored file of %s does not match its recorded SHA-256.', document.name)
        if events and events[-1].file_hashes != self.file_ids._current_hashes():
            return self.env._('The stored documents differ from those the audit trail recorded last.')
        return ''

    # ------------------------------------------------------------------
    # Workflow
    # ------------------------------------------------------------------
    def _sender_actor(self):
        """The address the envelope's own sender signs with."""
        return self.user_id._cloudstamp_sender_address()

    def _log_event(self, event_type, actor, details=None, request_info=None, anchor=False):
        """Append an event to the audit trail; ``details`` are plain values
        (never translated text), rendered in each reader's language."""
        return self.env['cloudstamp.event']._append(self, event_type, actor, details or {}, request_info, anchor=anchor)

    def _advance(self):
        """After an agreement: the next recipient's turn, or finalizing."""
        self.ensure_one()
        pending = self.recipient_ids.filtered(lambda r: r.state == 'waiting')
        if pending:
            self.sudo().current_recipient_id = pending[0]
            pending[0]._notify('cloudstamp_sign.mail_template_request')
        else:
            # The certificate of agreement, its signature, the trail's
            # timestamp and the mails take most of an agreement's time: a cron
            # job does them right after, so the last recipient need not wait.
            self.sudo().write({'state': 'finalizing', 'current_recipient_id': False})
            self.env.ref('cloudstamp_sign.ir_cron_finalize_envelopes').sudo()._trigger()

    @api.model
    def _cron_finalize(self, batch_size=20):
        """Complete the envelopes every party agreed to, a batch at a time;
        one envelope's failure (the TSA away) leaves it for the next run."""
        domain = [('state', '=', 'finalizing')]
        envelopes = self.sudo().search(domain, limit=batch_size, order='id')
        envelopes._each_isolated('complete', lambda e: e._complete())
        done = len(envelopes.filtered(lambda e: e.state == 'completed'))
        remaining = self.sudo().search_count(domain)
        # Odoo runs the job again at once while work remains and this batch did some.
        self.env['ir.cron']._notify_progress(done=done, remaining=remaining if done else 0)

    def _complete(self):
        envelope = self.sudo()
        # B-LTA before anything records the final hashes (trail, certificate, mails).
        envelope.file_ids._extend_all_to_lta()
        envelope.write({'state': 'completed', 'completed_date': fields.Datetime.now(), 'current_recipient_id': False})
        self._log_event('completed', 'cloudstamp', {}, anchor=True)
        certificate = envelope._render_agreement_certificate()
        write_field_bytes(envelope, 'agreement_certificate_file', certificate, envelope.agreement_certificate_filename)
        envelope._send_completion_mails()
        sender_side = self._sender_side()
        sender_side.message_post(
            body=sender_side.env._(
                'Every party agreed. The signed PDFs and the certificate of agreement were sent to everyone.'
            )
        )
        envelope._action_completed()

    def _action_completed(self):
        """Hook: the envelope is complete, its files and certificate stored
        and mailed (the archive files it as a contract)."""

    @api.model
    def _public_verification(self, data):
        """What anyone may learn about an uploaded PDF: the verifier's report,
        the document ID printed on it, whether that ID is a completed document
        of this database and whether the file is byte for byte our final
        version. Nothing else about the document (not its title, nor who
        signed it beyond what the file itself says)."""
        report = self.env['cloudstamp.signing.service']._verify_pdf(data)
        refs = printed_document_refs(data)
        envelope = self.sudo().search([('document_ref', 'in', refs), ('state', '=', 'completed')], limit=1)
        sha256 = hashlib.sha256(data).hexdigest()
        return {
            'report': report,
            'document_ref': refs[-1] if refs else '',
            'known': bool(envelope),
            'identical': bool(envelope) and sha256 in envelope.file_ids._final_versions(),
        }

    def _render_agreement_certificate(self):
        """The certificate of agreement (合意締結証明書), signed as "complete"
        and, like the documents, PAdES B-LTA."""
        self.ensure_one()
        font = self.env['ir.config_parameter'].sudo().get_param('cloudstamp.certificate_font')
        pdf = agreement_certificate.render(
            self._agreement_certificate_data(), Path(font) if font else agreement_certificate.DEFAULT_FONT
        )
        service = self.env['cloudstamp.signing.service']
        signed = service._sign_pdf(
            pdf, self.company_id, 'cloudstamp', 'complete', actor_name='CloudStamp', page_note=self._page_note()
        )
        return service._extend_to_lta(signed, self.company_id)

    def _agreement_certificate_data(self):
        """What the certificate states, from the audit trail rather than from
        the recipients' (workflow-written, but mutable) fields. IP addresses
        are those of each recipient's own steps, never of wrong-code attempts."""
        envelope = self.sudo()
        events = envelope.event_ids.sorted('sequence')
        steps_by_actor = {}
        for event in events:
            steps_by_actor.setdefault(event.actor, {}).setdefault(event.event_type, event)
        parties = []
        for recipient in envelope.recipient_ids:
            steps = steps_by_actor.get(recipient.email, {})
            time_of = lambda kind, steps=steps: steps[kind].event_time if kind in steps else None  # noqa: E731
            parties.append(
                agreement_certificate.CertificateParty(
                    name=recipient.name,
                    company=recipient.company_name or '',
                    email=recipient.email,
                    opened=time_of('opened'),
                    terms_accepted=time_of('terms_accepted'),
                    forwarded=time_of('forwarded'),
                    agreed=time_of('agreed'),
                    ip_addresses=tuple(
                        sorted(
                            {
                                steps[kind].ip_address
                                for kind in _PARTY_STEPS
                                if kind in steps and steps[kind].ip_address
                            }
                        )
                    ),
                )
            )
        sent = events.filtered(lambda e: e.event_type == 'sent')[:1]
        head = events[-1:]
        anchor = events.filtered('anchor_token')[-1:]
        return agreement_certificate.CertificateData(
            document_ref=envelope.document_ref,
            title=envelope.name,
            sender=f'{(sent.details or {}).get("by") or envelope.user_id.name} <{sent.actor}>'
            f' — {envelope.company_id.name}',
            sent=sent.event_time or None,
            completed=envelope.completed_date or None,
            files=tuple(
                agreement_certificate.CertificateFile(
                    name=file.name, pages=file.page_count, sha256=(head.file_hashes or {}).get(str(file.id), '')
                )
                for file in envelope.file_ids
            ),
            parties=tuple(parties),
            event_count=len(events),
            head_hash=head.event_hash or '',
            anchor_time=anchor.anchor_time or None,
            anchor_tsa=anchor.anchor_tsa or '',
            issued=fields.Datetime.now(),
            tz=envelope.tz,
        )

    def _sender_side(self):
        """This envelope as seen by its sender: chatter notes and activities
        are written in the sender's language, whoever's action caused them."""
        return self.sudo().with_context(lang=self.user_id.lang or self.env.lang)

    def _end_round(self, state, recipient, details, request_info=None, actor=None):
        """The round ends without agreement: declined, revision requested,
        cancelled or expired. The last event is timestamped (anchored)."""
        envelope = self.sudo()
        reason = details.get('reason') or details.get('comment') or ''
        envelope.write({'state': state, 'end_reason': reason or False, 'current_recipient_id': False})
        self._log_event(
            _ROUND_END_EVENTS[state],
            actor or (recipient and recipient.email) or 'cloudstamp',
            details,
            request_info,
            anchor=True,
        )
        notice = _ROUND_END_NOTICES.get(state)
        if notice:
            template_xmlid, subtype_xmlid = notice
            envelope._post_sender_notice(template_xmlid, recipient, subtype_xmlid)
            earlier = envelope.recipient_ids.filtered(lambda r: r.state in ('agreed', 'forwarded') and r != recipient)
            for other in earlier:
                self.env.ref(template_xmlid).sudo().with_context(actor=recipient, lang=other.lang).send_mail(
                    envelope.id,
                    email_values={'email_to': other.email, 'recipient_ids': []},
                    email_layout_xmlid='mail.mail_notification_light',
                )
        else:
            sender_side = self._sender_side()
            states = dict(self._fields['state']._description_selection(sender_side.env))
            sender_side.message_post(
                body=sender_side.env._('%(state)s: %(reason)s', state=states[state], reason=reason)
            )

    def _track_subtype(self, init_values):
        self.ensure_one()
        if 'state' in init_values and self.state in _TRACKED_STATE_SUBTYPES:
            return self.env.ref(_TRACKED_STATE_SUBTYPES[self.state])
        return super()._track_subtype(init_values)

    def _post_sender_notice(self, template_xmlid, recipient, subtype_xmlid):
        """Tell the sender and the followers what a recipient did, in the
        sender's language: the notice is posted in the chatter and mailed to
        the followers of ``subtype_xmlid``; the sender gets a to-do."""
        self.ensure_one()
        sender_side = self._sender_side()
        template = self.env.ref(template_xmlid).sudo().with_context(lang=sender_side.env.lang)
        # Written by OdooBot from the template's address, never by the sender:
        # Odoo does not notify a message's author.
        sender_side.with_context(actor=recipient).message_post_with_source(
            template,
            subtype_xmlid=subtype_xmlid,
            email_layout_xmlid='mail.mail_notification_light',
            author_id=self.env.ref('base.partner_root').id,
            email_from=template._render_field('email_from', self.ids)[self.id],
        )
        # The notice above is the sender's mail; Odoo's "activity assigned" mail would repeat it.
        sender_side.with_context(mail_activity_quick_update=True).activity_schedule(
            'mail.mail_activity_data_todo', user_id=self.user_id.id, summary=template.name
        )

    def _send_completion_mails(self):
        """The signed PDFs and the certificate to every party, forwarders and
        CC people included: one mail per language, so the 1 MB attachments
        are encoded and sent once or twice, not per person. Every party is an
        envelope recipient of the SMTP transaction, but the To: header shows
        none of them: nobody learns the others' addresses."""
        template = self.env.ref('cloudstamp_sign.mail_template_completed').sudo()
        attachments = self._final_attachments()
        parties = [(self.user_id.partner_id.email, self.lang)]
        parties += [(r.email, r.lang) for r in self.recipient_ids]
        parties += [(p.email, self.lang) for p in self.cc_partner_ids]
        by_lang, seen = {}, set()
        for address, lang in parties:
            address = single_email(address or '')
            if address and address not in seen:
                seen.add(address)
                by_lang.setdefault(lang or 'en_US', []).append(address)
        for lang, addresses in by_lang.items():
            template.with_context(lang=lang).send_mail(
                self.id,
                email_values={
                    'email_to': ','.join(addresses),
                    'recipient_ids': [],
                    'attachment_ids': [Command.link(a.id) for a in attachments],
                    'headers': repr({'X-Forge-To': 'undisclosed-recipients:;'}),
                },
                email_layout_xmlid='mail.mail_notification_light',
            )

    def _final_attachments(self):
        """The stored files themselves, not copies: nothing is duplicated, and
        mail clean-up never deletes attachments owned by another record."""
        return self.file_ids._signed_attachments() | field_attachments(self, 'agreement_certificate_file')

    def _agreement_certificate_pdf(self):
        return read_field_bytes(self, 'agreement_certificate_file')

    # ------------------------------------------------------------------
    # Crons: one envelope's failure must not stop the others
    # ------------------------------------------------------------------
    def _each_isolated(self, what, action):
        for envelope in self:
            try:
                with self.env.cr.savepoint():
                    action(envelope)
            except Exception:  # noqa: BLE001 - logged; the next envelope still runs
                _logger.exception('CloudStamp: could not %s %s', what, envelope.document_ref)

    @api.model
    def _cron_expire(self):
        overdue = self.sudo().search([('state', '=', 'sent'), ('expiry_date', '<', fields.Datetime.now())])
        overdue._each_isolated('expire', lambda e: e._end_round('expired', None, {}))

    @api.model
    def _cron_renew_evidence(self, batch_size=50):
        """Renew the archive timestamps of completed documents before they
        can no longer be validated, company by company: first replace the
        company's own certificates that are about to expire, so that each
        renewal outlives the timestamp it renews."""
        now = fields.Datetime.now()
        completed = self.sudo()._read_group([('state', '=', 'completed')], ['company_id'])
        done = remaining = 0
        for (company,) in completed:
            try:
                with self.env.cr.savepoint():
                    self.env['cloudstamp.pki.certificate']._rotate_expiring(company)
            except UserError:  # a token that does not answer: renew with what there is
                _logger.exception('CloudStamp: could not replace the expiring certificates of %s', company.name)
            # No date: completed before long-term validation, made B-LTA now.
            due_domain = [
                '|',
                ('evidence_valid_until', '=', False),
                ('evidence_valid_until', '<', now + RENEWAL_MARGIN),
            ]
            if company.cloudstamp_evidence_renewal_days:
                renewed_before = now - timedelta(days=company.cloudstamp_evidence_renewal_days)
                due_domain = ['|', *due_domain, ('file_ids.archive_timestamp_date', '<', renewed_before)]
            domain = [
                ('state', '=', 'completed'),
                ('company_id', '=', company.id),
                *due_domain,
                # Once a day at most, whatever an external TSA's certificate says.
                '|',
                ('file_ids.archive_timestamp_date', '=', False),
                ('file_ids.archive_timestamp_date', '<', now - MIN_RENEWAL_INTERVAL),
            ]
            due = self.sudo().search(domain, limit=batch_size, order='evidence_valid_until, id')
            due._each_isolated('renew the evidence of', lambda e: e._renew_evidence())
            done += len(due) - self.sudo().search_count([*domain, ('id', 'in', due.ids)])
            remaining += self.sudo().search_count(domain)
        # Odoo runs the job again at once while work remains and this batch did some.
        self.env['ir.cron']._notify_progress(done=done, remaining=remaining if done else 0)

    def _renew_evidence(self):
        if all(self.file_ids.mapped('archive_timestamp_date')):
            self.file_ids._renew_all_archive_timestamps()
        else:
            self.file_ids._extend_all_to_lta()
        certificate = self._agreement_certificate_pdf()
        if certificate:
            # Its material and archive timestamp renewed with the documents'.
            renewed = self.env['cloudstamp.signing.service']._extend_to_lta(certificate, self.company_id)
            write_field_bytes(self, 'agreement_certificate_file', renewed, self.agreement_certificate_filename)
        valid_until = self.evidence_valid_until
        self._log_event('evidence_renewed', 'cloudstamp', {'valid_until': fields.Datetime.to_string(valid_until)})
        if valid_until and valid_until < fields.Datetime.now() + RENEWAL_MARGIN:
            # An external TSA whose certificate ends soon: nothing more can be
            # done here than say so, once per run.
            _logger.warning(
                'CloudStamp: the renewed evidence of %s is valid only until %s; '
                'the time stamping authority should renew its certificate.',
                self.document_ref,
                valid_until,
            )

    @api.model
    def _cron_remind(self):
        """Mail a new link to each recipient who has not acted for their
        company's reminder delay since their last link."""
        now = fields.Datetime.now()
        waiting = self.sudo()._read_group([('state', '=', 'sent')], ['company_id'])
        for (company,) in waiting:
            due = self.sudo().search(
                [
                    ('state', '=', 'sent'),
                    ('company_id', '=', company.id),
                    (
                        'current_recipient_id.notified_at',
                        '<',
                        now - timedelta(days=company.cloudstamp_remind_after_days),
                    ),
                ]
            )
            due = due.filtered(lambda e: e.current_recipient_id._may_be_reminded())
            due._each_isolated('remind', lambda e: e._remind(e._sender_actor()))
