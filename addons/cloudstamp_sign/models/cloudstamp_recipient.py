from odoo import api, fields, models
from odoo.exceptions import UserError, ValidationError

from odoo.addons.base.models.res_partner import _lang_get

from ..tools.emails import single_email

MAX_FORWARDS = 3  # hops from the recipient the sender named


class CloudStampRecipient(models.Model):
    """A person outside the company who reads and agrees, through a link."""

    _name = 'cloudstamp.recipient'
    _inherit = ['cloudstamp.evidence.mixin']
    _description = 'CloudStamp Recipient'
    _order = 'envelope_id, sequence, id'
    _check_company_auto = True

    _write_once_fields = ('envelope_id',)

    envelope_id = fields.Many2one(
        'cloudstamp.envelope', required=True, index=True, ondelete='cascade', check_company=True
    )
    company_id = fields.Many2one(related='envelope_id.company_id', store=True, index=True, string='Company')
    sequence = fields.Integer('Order', default=10)
    partner_id = fields.Many2one(
        'res.partner',
        'Contact',
        index='btree_not_null',
        check_company=True,
        help='Optional: fills in the name, address, company and language. What was sent stays as it was '
        'sent, even if the contact changes later.',
    )
    name = fields.Char(required=True)
    email = fields.Char(required=True)
    company_name = fields.Char()
    lang = fields.Selection(
        _lang_get,
        string='Language',
        required=True,
        default=lambda self: self._default_lang(),
        help='The pages, mails and messages this recipient sees. Languages without a translation '
        'show the English text.',
    )
    may_forward = fields.Boolean(
        default=True,
        help=f'The recipient may hand their turn to the person with authority, up to {MAX_FORWARDS} times in a row.',
    )
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
        default='waiting',
        required=True,
        readonly=True,
        copy=False,
    )
    forwarded_from_id = fields.Many2one('cloudstamp.recipient', readonly=True, copy=False)
    forward_depth = fields.Integer(readonly=True, copy=False)
    notified_at = fields.Datetime('Last Link Mailed', readonly=True, copy=False)
    agreed_at = fields.Datetime(readonly=True, copy=False)
    forwarded_at = fields.Datetime(readonly=True, copy=False)
    last_ip = fields.Char('IP Address', readonly=True, copy=False)

    @api.model
    def _default_lang(self):
        # Most recipients are Japanese companies, whoever sends.
        return 'ja_JP' if self.env['res.lang']._lang_get('ja_JP') else self.env.lang or 'en_US'

    def _get_workflow_fields(self):
        return super()._get_workflow_fields() + (
            'state',
            'forwarded_from_id',
            'forward_depth',
            'notified_at',
            'agreed_at',
            'forwarded_at',
            'last_ip',
        )

    @api.onchange('partner_id')
    def _onchange_partner_id(self):
        if self.partner_id:
            self.update(self._values_from_partner(self.partner_id))

    @api.model
    def _values_from_partner(self, partner):
        """A recipient's name, address, company and language, taken from a
        contact as it is now (what was sent stays as it was sent)."""
        return {
            'name': partner.name,
            'email': partner.email,
            'company_name': partner.commercial_company_name or False,
            **({'lang': partner.lang} if partner.lang else {}),
        }

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
                raise ValidationError(
                    self.env._(
                        '"%s" is not one valid email address. Enter exactly one address per recipient.',
                        recipient.email,
                    )
                )

    def _evidence_envelopes(self):
        return self.envelope_id

    def _copy_values_for_revision(self):
        """What a revised draft keeps of this recipient."""
        self.ensure_one()
        recipient = self.sudo()
        return {
            'name': recipient.name,
            'email': recipient.email,
            'company_name': recipient.company_name,
            'sequence': recipient.sequence,
            'lang': recipient.lang,
            'may_forward': recipient.may_forward,
            'partner_id': recipient.partner_id.id,
        }

    # ------------------------------------------------------------------
    # Links: the recipient pages (cloudstamp_portal) own links, access codes
    # and terms of use; this addon only asks them for a link to mail.
    # ------------------------------------------------------------------
    @api.model
    def _links_available(self):
        """Whether recipients can be mailed a working link (hook)."""
        return False

    def _new_link(self):
        """A new personal link for the mail about to leave for this recipient
        (hook): the template's context values, and the mail's own values."""
        raise UserError(
            self.env._(
                'Recipients cannot be reached: install "CloudStamp: Recipient Pages" '
                '(cloudstamp_portal), which serves the pages their links open.'
            )
        )

    def _may_be_reminded(self):
        """Whether a reminder may mail this recipient a new link (hook)."""
        return True

    def _check_may_be_reminded(self):
        """Raise with the reason when ``_may_be_reminded`` says no (hook)."""

    def _is_current_turn(self):
        self.ensure_one()
        envelope = self.envelope_id
        return (
            envelope.state == 'sent' and envelope.current_recipient_id == self and self.state in ('notified', 'opened')
        )

    def _check_turn(self):
        if not self._is_current_turn():
            raise UserError(self.env._('This document is not waiting for you any more.'))

    def _lock_row(self, nowait=False):
        """Serialise concurrent requests on one recipient. Under Odoo's
        REPEATABLE READ, a request that lost the race gets a serialisation
        failure here and is retried by Odoo on fresh data: expected, so not
        logged as a bad query."""
        self.env.cr.execute(
            f'SELECT id FROM cloudstamp_recipient WHERE id = %s FOR NO KEY UPDATE{" NOWAIT" if nowait else ""}',
            [self.id],
            log_exceptions=False,
        )
        self.invalidate_recordset()

    # ------------------------------------------------------------------
    # Recipient actions: only the recipient pages call these, after the
    # link (and the access code) were checked. Private: no RPC reaches them.
    # ------------------------------------------------------------------
    def _lock_for_action(self):
        """The recipient row locked and still on its turn."""
        self._lock_row()
        self._check_turn()

    def _action_agree(self, request_info=None, seal=None):
        """Agree; ``seal`` (optional, a plain dict, see _seal_specs) puts
        the recipient's seal on a page as the appearance of this signature."""
        self.ensure_one()
        self._lock_for_action()
        envelope = self.envelope_id
        seals, seal_details = self._seal_specs(seal)
        envelope.file_ids._sign_all(self.email, 'agree', actor_name=self.name, seals=seals)
        # The link stays alive (status page, then the final PDFs and the
        # certificate), but can no longer act: it is no longer this turn.
        self.sudo().write(
            {'state': 'agreed', 'agreed_at': fields.Datetime.now(), 'last_ip': (request_info or {}).get('ip')}
        )
        envelope._log_event('agreed', self.email, seal_details, request_info)
        envelope._advance()

    def _seal_specs(self, seal):
        """The recipient's seal, from their name or their company's name
        (see cloudstamp.envelope.file._seal_specs)."""
        self.ensure_one()
        return self.envelope_id.file_ids._seal_specs(seal, self.name, self.company_name)

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
            raise UserError(self.env._('The sender did not allow forwarding this document.'))
        if self.forward_depth >= MAX_FORWARDS:
            raise UserError(
                self.env._('This document was already forwarded %s times; it cannot be forwarded again.', MAX_FORWARDS)
            )
        name, address = (name or '').strip(), single_email(email or '')
        if not name or not address:
            raise UserError(self.env._('Please enter the name and one valid email address.'))
        if address == self.email:
            raise UserError(self.env._('Please forward to someone else.'))
        envelope = self.envelope_id
        envelope.file_ids._sign_all(self.email, 'forward', actor_name=self.name)
        successor = self.sudo().create(
            {
                'envelope_id': envelope.id,
                'sequence': self.sequence,
                'name': name[:200],
                'email': address,
                'lang': self.lang,
                'may_forward': self.may_forward,
                'forwarded_from_id': self.id,
                'forward_depth': self.forward_depth + 1,
            }
        )
        self.sudo().write(
            {'state': 'forwarded', 'forwarded_at': fields.Datetime.now(), 'last_ip': (request_info or {}).get('ip')}
        )
        self._revoke_link()
        envelope._log_event(
            'forwarded',
            self.email,
            {'to_name': successor.name, 'to_email': successor.email, 'message': message or ''},
            request_info,
        )
        envelope.sudo().current_recipient_id = successor
        successor._notify('cloudstamp_sign.mail_template_forwarded', message=message)
        return successor

    def _revoke_link(self):
        """The recipient's link stops working (hook)."""

    def _notify(self, template_xmlid, message=''):
        """Mail this recipient a new link (the old one dies)."""
        self.ensure_one()
        link_values, mail_values = self._new_link()
        self.sudo().write(
            {'notified_at': fields.Datetime.now(), **({'state': 'notified'} if self.state == 'waiting' else {})}
        )
        template = self.env.ref(template_xmlid).sudo()
        mail_id = template.with_context(personal_message=message, **link_values).send_mail(
            self.id, email_layout_xmlid='mail.mail_notification_light', email_values=mail_values
        )
        # The next recipient should not wait for the mail queue's next run.
        self.env['mail.mail'].sudo().browse(mail_id).send_after_commit()
        self.envelope_id._log_event(
            'notified', 'cloudstamp', {'recipient': self.email, 'mail': template_xmlid.rpartition('mail_template_')[2]}
        )
