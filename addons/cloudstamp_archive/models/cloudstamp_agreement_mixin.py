import base64
import re

from odoo import Command, fields, models
from odoo.exceptions import UserError

from odoo.addons.cloudstamp_sign.tools import read_field_bytes


class CloudStampAgreementMixin(models.AbstractModel):
    """A business document (quotation, purchase order, invoice) that can be
    sent for agreement and linked to contracts.

    The bridges (cloudstamp_sale, cloudstamp_purchase, cloudstamp_account)
    inherit it on their model, add ``cloudstamp_contract_ids`` (a many2many
    with a relation table of their own, which the contract shares) and say
    which report prints the document and what it states.
    """

    _name = 'cloudstamp.agreement.mixin'
    _description = 'CloudStamp: Document Sent for Agreement'

    # Set by each bridge, with its relation table:
    # cloudstamp_contract_ids = fields.Many2many('cloudstamp.contract', ...)
    cloudstamp_contract_count = fields.Integer(
        'Contract Count',
        compute='_compute_cloudstamp_contract_count',
        groups='cloudstamp_sign.group_cloudstamp_user,cloudstamp_archive.group_cloudstamp_contract_reader',
    )

    def _compute_cloudstamp_contract_count(self):
        for record in self:
            # What the user's own rules let them see of the linked contracts.
            record.cloudstamp_contract_count = len(record.cloudstamp_contract_ids._filtered_access('read'))

    def write(self, vals):
        if 'cloudstamp_contract_ids' not in vals:
            return super().write(vals)
        before = {record.id: record.cloudstamp_contract_ids for record in self}
        result = super().write(vals)
        for record in self:
            now = record.cloudstamp_contract_ids
            record._note_links_on_contracts(now - before[record.id], before[record.id] - now)
        return result

    def _note_links_on_contracts(self, linked, unlinked):
        self.ensure_one()
        link = self._get_html_link()
        for contract in linked.sudo():
            contract.message_post(body=self.env._('Linked to %s', link), author_id=self.env.user.partner_id.id)
        for contract in unlinked.sudo():
            contract.message_post(body=self.env._('Unlinked from %s', link), author_id=self.env.user.partner_id.id)

    # ------------------------------------------------------------------
    # What each bridge says about its document
    # ------------------------------------------------------------------
    def _cloudstamp_report(self):
        """The ir.actions.report that prints this document."""
        raise NotImplementedError

    def _cloudstamp_agreement_values(self):
        """{'partner', 'transaction_date', 'amount', 'currency', 'user'} of this document."""
        raise NotImplementedError

    def _cloudstamp_agreed(self, contract):
        """Hook: the document's send was agreed and filed as ``contract``."""

    # ------------------------------------------------------------------
    # Send for agreement
    # ------------------------------------------------------------------
    def action_cloudstamp_send_for_agreement(self):
        """A draft send of this document's PDF to its partner, for the user
        to complete (more PDFs, a message) and send."""
        self.ensure_one()
        self.check_access('write')
        values = self._cloudstamp_agreement_values()
        partner = values['partner']
        if not partner.email:
            raise UserError(self.env._('%s has no email address to send the document to.', partner.display_name))
        pdf, _kind = (
            self.env['ir.actions.report']
            .with_context(force_report_rendering=True)
            ._render_qweb_pdf(self._cloudstamp_report(), self.ids)
        )
        lang = partner.lang or self.env.lang
        envelope = self.env['cloudstamp.envelope'].create(
            {
                'name': self.display_name,
                'lang': lang,
                'file_ids': [
                    Command.create(
                        {'name': f'{_safe_filename(self.display_name)}.pdf', 'original_file': base64.b64encode(pdf)}
                    )
                ],
                'recipient_ids': [
                    Command.create(
                        {'name': partner.name, 'email': partner.email, 'partner_id': partner.id, 'lang': lang}
                    )
                ],
                'contract_partner_id': partner.commercial_partner_id.id,
                'contract_transaction_date': values['transaction_date'],
                'contract_amount': values['amount'],
                'contract_currency_id': values['currency'].id,
            }
        )
        envelope.sudo().write({'origin_model': self._name, 'origin_id': self.id})
        return {
            'type': 'ir.actions.act_window',
            'res_model': 'cloudstamp.envelope',
            'res_id': envelope.id,
            'view_mode': 'form',
            'views': [(False, 'form')],
        }

    def action_view_cloudstamp_contracts(self):
        self.ensure_one()
        self.check_access('read')
        contracts = self.cloudstamp_contract_ids._filtered_access('read')
        action = self.env['ir.actions.act_window']._for_xml_id('cloudstamp_archive.cloudstamp_contract_action')
        action['domain'] = [('id', 'in', contracts.ids)]
        action['context'] = {}
        if len(contracts) == 1:
            action.update(res_id=contracts.id, view_mode='form', views=[(False, 'form')])
        return action

    # ------------------------------------------------------------------
    # What the workflow tells the document
    # ------------------------------------------------------------------
    def _cloudstamp_file_agreement(self, envelope, contract):
        """The send of this document was agreed: link its contract, tell the
        chatter (with the agreed PDFs when the company wants them there)."""
        self.ensure_one()
        record = self.sudo()
        record.cloudstamp_contract_ids = [Command.link(contract.id)]
        attachments = []
        if envelope.company_id.cloudstamp_post_agreed_pdf:
            attachments = [(file.name, read_field_bytes(file, file._current_field())) for file in envelope.file_ids] + [
                (envelope.agreement_certificate_filename, envelope._agreement_certificate_pdf())
            ]
        # In the sender's language; a link argument makes the message HTML.
        sender_side = record.with_context(lang=envelope.user_id.lang or self.env.lang)
        sender_side.message_post(
            body=sender_side.env._(
                'Every party agreed to %(document)s; filed as contract %(contract)s.',
                document=envelope.name,
                contract=contract._get_html_link(),
            ),
            attachments=attachments,
            author_id=self.env.ref('base.partner_root').id,
        )
        self._cloudstamp_agreed(contract)

    def _cloudstamp_round_ended(self, envelope, state, reason):
        """The send was declined or a revision asked for: a to-do for the
        person in charge of the document, with the reason."""
        self.ensure_one()
        record = self.sudo().with_context(lang=envelope.user_id.lang or self.env.lang)
        env = record.env
        summary = {
            'declined': env._('Declined: %s'),
            'revision': env._('Revision requested: %s'),
        }[state] % (reason or '—')
        user = self._cloudstamp_agreement_values()['user'] or envelope.user_id
        record.activity_schedule('mail.mail_activity_data_todo', summary=summary[:200], note=reason, user_id=user.id)
        record.message_post(body=env._('%(document)s: %(summary)s', document=envelope.name, summary=summary))


def _safe_filename(name):
    return re.sub(r'[\\/:*?"<>|]+', '_', name or 'document').strip() or 'document'
