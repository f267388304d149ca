import io
import logging

import pypdf
from dateutil.relativedelta import relativedelta

from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError
from odoo.tools import SQL

from odoo.addons.cloudstamp_sign.tools import read_field_bytes

from ..tools import fulltext

_logger = logging.getLogger(__name__)

# Filled in by the workflow when a contract is filed; nobody edits them.
WORKFLOW_FIELDS = ('envelope_id', 'document_ref', 'date_signed', 'source', 'company_id')


class CloudStampContract(models.Model):
    """One agreed contract, kept for search, renewal and the tax records.

    Created when a send completes (or, later, by importing a PDF signed
    elsewhere). Its files are the envelope's and never change; its business
    metadata (counterparty, amount, dates) can be completed by accounting.
    """

    _name = 'cloudstamp.contract'
    _description = 'CloudStamp Contract'
    _inherit = ['mail.thread', 'mail.activity.mixin']
    _order = 'date_signed desc, id desc'
    _check_company_auto = True

    name = fields.Char('Title', required=True, tracking=True)
    document_ref = fields.Char('Document ID', readonly=True, index=True, copy=False)
    envelope_id = fields.Many2one(
        'cloudstamp.envelope', 'Sent Document', readonly=True, ondelete='restrict', index='btree_not_null', copy=False
    )
    source = fields.Selection(
        [('signed', 'Signed with CloudStamp'), ('imported', 'Imported')],
        required=True,
        default='signed',
        readonly=True,
    )
    company_id = fields.Many2one('res.company', required=True, readonly=True, default=lambda self: self.env.company)
    active = fields.Boolean(default=True, tracking=True)
    partner_id = fields.Many2one(
        'res.partner',
        'Counterparty',
        index=True,
        tracking=True,
        check_company=True,
        help='The other party, as the tax records name it.',
    )
    party_ids = fields.Many2many('res.partner', string='Parties', check_company=True)
    contract_type_id = fields.Many2one('cloudstamp.contract.type', 'Type', index=True, tracking=True)
    transaction_date = fields.Date(
        index=True,
        tracking=True,
        help='The date of the transaction, a search key of the Electronic Bookkeeping Act.',
    )
    currency_id = fields.Many2one(
        'res.currency', required=True, default=lambda self: self.env.company.currency_id, tracking=True
    )
    amount = fields.Monetary(
        index=True, tracking=True, help='The amount of the transaction, a search key of the Electronic Bookkeeping Act.'
    )
    date_signed = fields.Datetime('Signed On', readonly=True, index=True)
    date_start = fields.Date('Start', tracking=True)
    date_end = fields.Date('End', index=True, tracking=True)
    auto_renew = fields.Boolean('Renews Automatically', tracking=True)
    renewal_months = fields.Integer('Renewal Term (months)', default=12, tracking=True)
    notice_date = fields.Date('Notice Deadline', tracking=True, help='The last day to give notice of termination.')
    user_id = fields.Many2one(
        'res.users',
        'Contract Manager',
        default=lambda self: self.env.user,
        tracking=True,
        check_company=True,
        help='Who is warned before the notice deadline and the end date.',
    )
    tag_ids = fields.Many2many('cloudstamp.contract.tag', string='Tags')
    note = fields.Html()
    file_ids = fields.One2many(related='envelope_id.file_ids', string='Files')
    party_email = fields.Char(
        compute='_compute_party_email',
        search='_search_party_email',
        help='Search by the email address of any party who received the document.',
    )
    renewal_state = fields.Selection(
        [('running', 'Running'), ('to_renew', 'To Renew'), ('expired', 'Expired')],
        'Renewal Status',
        default='running',
        readonly=True,
        index=True,
        tracking=True,
        help='Updated daily: "To Renew" from the notice period before the notice deadline or the end date.',
    )
    retention_end = fields.Date(
        compute='_compute_retention_end',
        store=True,
        help='The contract may not be deleted before this date.',
    )
    content = fields.Char(
        'Full Text',
        compute='_compute_content',
        search='_search_content',
        help='Words of the PDFs themselves, Japanese or English.',
    )
    # The dates last warned about, so each deadline is announced once.
    notice_warned_on = fields.Date(readonly=True, copy=False)
    end_warned_on = fields.Date(readonly=True, copy=False)

    _sql_constraints = [
        ('envelope_unique', 'unique(envelope_id)', 'A sent document is filed as one contract only.'),
        (
            'dates_in_order',
            'CHECK(date_end IS NULL OR date_start IS NULL OR date_end >= date_start)',
            'A contract cannot end before it starts.',
        ),
        ('renewal_months_positive', 'CHECK(renewal_months > 0)', 'The renewal term must be at least one month.'),
    ]

    @api.depends('transaction_date', 'date_signed', 'company_id.cloudstamp_retention_years')
    def _compute_retention_end(self):
        for contract in self:
            start = contract.transaction_date or (contract.date_signed and contract.date_signed.date())
            years = contract.company_id.cloudstamp_retention_years or 7
            contract.retention_end = start and start + relativedelta(years=years)

    @api.private  # Odoo's install hook; never an RPC endpoint
    def init(self):
        # Kept beside the ORM's columns: a tsvector of the PDFs' tokens (see
        # tools/fulltext.py) and its GIN index.
        self.env.cr.execute(
            SQL(
                'ALTER TABLE cloudstamp_contract ADD COLUMN IF NOT EXISTS content_tsv tsvector;'
                ' CREATE INDEX IF NOT EXISTS cloudstamp_contract_content_tsv_index'
                ' ON cloudstamp_contract USING gin (content_tsv)'
            )
        )

    def _compute_content(self):
        self.content = False

    def _search_content(self, operator, value):
        if operator not in ('ilike', 'like', '=ilike', '=like', '=') or not isinstance(value, str):
            raise UserError(self.env._('Search the full text with the words to find.'))
        literal = fulltext.tsquery_literal(value)
        if not literal:
            return [('id', '=', False)]
        query = self.with_context(active_test=False)._search([])
        query.add_where(SQL('%s @@ %s::tsquery', SQL.identifier(query.table, 'content_tsv'), literal))
        return [('id', 'in', query)]

    def _index_pdfs(self, pdfs):
        """Make the text of ``pdfs`` (bytes) searchable for this contract."""
        self.ensure_one()
        text = '\n'.join(_pdf_text(pdf) for pdf in pdfs)
        self.env.cr.execute(
            SQL(
                'UPDATE cloudstamp_contract SET content_tsv = %s::tsvector WHERE id = %s',
                fulltext.tsvector_literal(text),
                self.id,
            )
        )

    def _compute_party_email(self):
        for contract in self:
            contract.party_email = ', '.join(contract.sudo().envelope_id.recipient_ids.mapped('email'))

    def _search_party_email(self, operator, value):
        # Readers may search contracts without reading the envelopes behind them.
        recipients = self.env['cloudstamp.recipient'].sudo()._search([('email', operator, value)])
        envelopes = self.env['cloudstamp.envelope'].sudo()._search([('recipient_ids', 'in', recipients)])
        return [('envelope_id', 'in', envelopes)]

    # ------------------------------------------------------------------
    # The workflow's fields, and retention
    # ------------------------------------------------------------------
    @api.model_create_multi
    def create(self, vals_list):
        if not self.env.su and any(set(vals) & set(WORKFLOW_FIELDS) for vals in vals_list):
            raise AccessError(self.env._('Contracts are filed by the CloudStamp workflow.'))
        return super().create(vals_list)

    def write(self, vals):
        if not self.env.su and set(vals) & set(WORKFLOW_FIELDS):
            raise AccessError(self.env._('Only the CloudStamp workflow sets where a contract comes from.'))
        return super().write(vals)

    def message_get_followers(self, *args, **kwargs):
        # mail answers this for any record id; followers are for those who may read it.
        self.check_access('read')
        return super().message_get_followers(*args, **kwargs)

    @api.model
    def message_new(self, msg_dict, custom_values=None):
        # Contracts are filed by the workflow, never created from an incoming mail.
        raise AccessError(self.env._('Contracts are filed by the CloudStamp workflow.'))

    @api.ondelete(at_uninstall=False)
    def _unlink_after_retention(self):
        today = fields.Date.context_today(self)
        kept = self.filtered(lambda c: not c.retention_end or c.retention_end > today)
        if kept:
            raise UserError(
                self.env._(
                    '%(name)s must be kept until %(date)s. Archive it instead.',
                    name=kept[0].name,
                    date=kept[0].retention_end or '—',
                )
            )

    @api.model
    def _file_from_envelope(self, envelope):
        """The contract of a completed envelope, with what its sender filled in."""
        envelope.ensure_one()
        partners = envelope.recipient_ids.partner_id
        contract = self.sudo().create(
            {
                'name': envelope.name,
                'document_ref': envelope.document_ref,
                'envelope_id': envelope.id,
                'source': 'signed',
                'company_id': envelope.company_id.id,
                'date_signed': envelope.completed_date,
                'user_id': envelope.user_id.id,
                'partner_id': envelope.contract_partner_id.id or partners[:1].commercial_partner_id.id,
                'party_ids': [fields.Command.set(partners.ids)],
                'contract_type_id': envelope.contract_type_id.id,
                'transaction_date': envelope.contract_transaction_date
                or fields.Date.context_today(self, envelope.completed_date),
                'amount': envelope.contract_amount,
                'currency_id': envelope.contract_currency_id.id or envelope.company_id.currency_id.id,
                'date_start': envelope.contract_date_start,
                'date_end': envelope.contract_date_end,
            }
        )
        contract._index_pdfs(read_field_bytes(file, file._current_field()) for file in envelope.file_ids)
        return contract

    def action_open_envelope(self):
        self.ensure_one()
        self.check_access('read')
        return {
            'type': 'ir.actions.act_window',
            'res_model': 'cloudstamp.envelope',
            'res_id': self.envelope_id.id,
            'view_mode': 'form',
        }

    # ------------------------------------------------------------------
    # Renewal
    # ------------------------------------------------------------------
    def _track_subtype(self, init_values):
        self.ensure_one()
        if 'renewal_state' in init_values and self.renewal_state == 'to_renew':
            return self.env.ref('cloudstamp_archive.mt_contract_to_renew')
        if 'renewal_state' in init_values and self.renewal_state == 'expired':
            return self.env.ref('cloudstamp_archive.mt_contract_expired')
        return super()._track_subtype(init_values)

    @api.model
    def _cron_renewal(self):
        """Daily: roll auto-renewing contracts forward, warn before each
        notice deadline and end date, and keep the renewal status current."""
        today = fields.Date.context_today(self)
        contracts = self.sudo().search([('date_end', '!=', False)])
        contracts.filtered(lambda c: c.auto_renew and c.date_end < today)._roll_forward(today)
        for contract in contracts:
            contract._warn_before_deadlines(today)
            contract._update_renewal_state(today)

    def _roll_forward(self, today):
        for contract in self:
            step = relativedelta(months=contract.renewal_months)
            values = {
                'date_end': contract.date_end,
                'notice_date': contract.notice_date,
                'date_start': contract.date_start,
            }
            while values['date_end'] < today:
                values = {key: date and date + step for key, date in values.items()}
            contract.write(values)

    def _warn_before_deadlines(self, today):
        self.ensure_one()
        horizon = today + relativedelta(days=self.company_id.cloudstamp_renewal_notice_days)
        for date_field, warned_field, summary in (
            ('notice_date', 'notice_warned_on', self.env._('Notice deadline on %s')),
            ('date_end', 'end_warned_on', self.env._('Contract ends on %s')),
        ):
            deadline = self[date_field]
            if deadline and today <= deadline <= horizon and self[warned_field] != deadline:
                manager = self.user_id or self.envelope_id.user_id
                self.with_context(mail_activity_quick_update=True).activity_schedule(
                    'mail.mail_activity_data_todo',
                    date_deadline=deadline,
                    summary=summary % fields.Date.to_string(deadline),
                    user_id=manager.id,
                )
                self.message_post(
                    body=summary % fields.Date.to_string(deadline),
                    partner_ids=manager.partner_id.ids,
                    subtype_xmlid='cloudstamp_archive.mt_contract_to_renew',
                )
                self[warned_field] = deadline

    def _update_renewal_state(self, today):
        horizon = today + relativedelta(days=self.company_id.cloudstamp_renewal_notice_days)
        if self.date_end < today:
            state = 'expired'
        elif self.date_end <= horizon or (self.notice_date and today <= self.notice_date <= horizon):
            state = 'to_renew'
        else:
            state = 'running'
        if self.renewal_state != state:
            self.renewal_state = state


def _pdf_text(data):
    """The text of a PDF, or '' when none can be read (scans, damaged files)."""
    try:
        return '\n'.join(page.extract_text() or '' for page in pypdf.PdfReader(io.BytesIO(data)).pages)
    except Exception:  # noqa: BLE001 - pypdf raises many types; the contract stays filed
        _logger.warning('CloudStamp: no text read from a PDF', exc_info=True)
        return ''
