import csv
import hashlib
import io
import json
import logging

import pypdf
from dateutil.relativedelta import relativedelta

from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError
from odoo.tools import SQL, escape_psql

from odoo.addons.cloudstamp_sign.tools import field_attachments, read_field_bytes, write_field_bytes

from cloudstamp_engine import newest_archive_timestamp

from ..tools import fulltext
from ..tools.suggestions import company_key, suggest
from ..tools.zip_stream import ZipStream, chunks

_logger = logging.getLogger(__name__)

# Filled in by the workflow when a contract is filed; nobody edits them.
WORKFLOW_FIELDS = (
    'envelope_id',
    'document_ref',
    'date_signed',
    'source',
    'company_id',
    'imported_file',
    'imported_filename',
    'imported_sha256',
    'timestamped_file',
    'timestamped_sha256',
    'evidence_valid_until',
    'verification_verdict',
    'verification_report',
    'suggested_transaction_date',
    'suggested_amount',
    'suggested_partner_id',
    'renewal_state',
    'content_text',
    'notice_warned_on',
    'end_warned_on',
)
# Contracts exported per database round trip: enough to be quick, few enough
# that the ORM cache, emptied after each batch, stays small.
EXPORT_BATCH = 50
# Index columns of the ZIP export, in order; the headers are translated.
INDEX_FIELDS = (
    'document_ref',
    'name',
    'partner_id',
    'contract_type_id',
    'transaction_date',
    'amount',
    'currency_id',
    'date_signed',
    'date_start',
    'date_end',
    'notice_date',
    'auto_renew',
    'renewal_months',
    'user_id',
    'tag_ids',
    'source',
    'active',
)


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
    contract_type_id = fields.Many2one(
        'cloudstamp.contract.type', 'Type', index=True, tracking=True, check_company=True
    )
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
    tag_ids = fields.Many2many('cloudstamp.contract.tag', string='Tags', check_company=True)
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
    # The PDFs' text as read at filing: kept so that the index can be rebuilt
    # without the PDFs, and for plain ILIKE comparisons (see bench/).
    content_text = fields.Text('Extracted Text', readonly=True, copy=False, prefetch=False)
    content = fields.Char(
        'Full Text',
        compute='_compute_content',
        search='_search_content',
        help='Words of the PDFs themselves, Japanese or English.',
    )
    # Imported files: the upload as it came, and the same bytes with our
    # TSA's document timestamp appended (電帳法 真実性).
    imported_file = fields.Binary('Uploaded File', attachment=True, readonly=True, copy=False)
    imported_filename = fields.Char('Uploaded File Name', readonly=True, copy=False)
    imported_sha256 = fields.Char('Uploaded SHA-256', readonly=True, copy=False)
    timestamped_file = fields.Binary(attachment=True, readonly=True, copy=False)
    timestamped_filename = fields.Char(compute='_compute_timestamped_filename')
    timestamped_sha256 = fields.Char('Timestamped SHA-256', readonly=True, copy=False)
    evidence_valid_until = fields.Datetime(
        compute='_compute_evidence_valid_until',
        store=True,
        help='The signatures and timestamps of this contract can be validated, offline, until this date: the end '
        'of the certificate of the time stamping authority of its newest timestamp.',
    )
    verification_verdict = fields.Selection(
        [
            ('valid', 'Valid signatures'),
            ('untrusted', 'Intact, signer not trusted'),
            ('invalid', 'Signatures not valid'),
            ('unsigned', 'No digital signature'),
        ],
        'Signatures on Import',
        readonly=True,
        copy=False,
        help='What the verifier found in the uploaded file.',
    )
    verification_report = fields.Json('Verification Data', readonly=True, copy=False)
    verification_html = fields.Html('Verification Report', compute='_compute_verification_html', sanitize=True)
    # Read from the PDFs' text; confirmed by a person, never applied over a value.
    suggested_transaction_date = fields.Date(readonly=True, copy=False)
    suggested_amount = fields.Monetary(readonly=True, copy=False)
    suggested_partner_id = fields.Many2one('res.partner', readonly=True, copy=False)
    has_suggestions = fields.Boolean(compute='_compute_has_suggestions')
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

    @api.depends('envelope_id.evidence_valid_until', 'timestamped_sha256')
    def _compute_evidence_valid_until(self):
        for contract in self:
            if contract.envelope_id:
                contract.evidence_valid_until = contract.envelope_id.evidence_valid_until
                continue
            stamp = contract.timestamped_sha256 and newest_archive_timestamp(
                read_field_bytes(contract.sudo(), 'timestamped_file')
            )
            valid_until = stamp and stamp.tsa_valid_until
            contract.evidence_valid_until = valid_until and valid_until.replace(tzinfo=None)

    @api.depends('imported_filename')
    def _compute_timestamped_filename(self):
        for contract in self:
            stem = (contract.imported_filename or 'document.pdf').rsplit('.', 1)[0]
            contract.timestamped_filename = f'{stem}_timestamped.pdf'

    @api.depends('verification_report')
    def _compute_verification_html(self):
        render = self.env['cloudstamp.verify.wizard']._render_report
        for contract in self:
            report = contract.verification_report
            contract.verification_html = report and render(_StoredReport(report))

    @api.depends(
        'suggested_transaction_date',
        'suggested_amount',
        'suggested_partner_id',
        'transaction_date',
        'amount',
        'partner_id',
    )
    def _compute_has_suggestions(self):
        for contract in self:
            contract.has_suggestions = bool(contract._applicable_suggestions())

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
        text = SQL.identifier(query.table, 'content_text')
        for word in fulltext.phrase_words(value):
            # Byte-wise LIKE is several times faster than ILIKE on UTF-8;
            # only words with letters need case folding.
            operator = SQL('ILIKE') if word.lower() != word.upper() else SQL('LIKE')
            query.add_where(SQL('%s %s %s', text, operator, f'%{escape_psql(word)}%'))
        return [('id', 'in', query)]

    def _read_pdfs(self, pdfs):
        """Make the text of ``pdfs`` (bytes) searchable for this contract, and
        suggest its metadata from it."""
        self.ensure_one()
        text = '\n'.join(_pdf_text(pdf) for pdf in pdfs)
        self._index_text(text)
        self._suggest_from_text(text)

    def _index_text(self, text):
        text = text.replace('\x00', '')  # PostgreSQL text holds no NUL
        self.env.cr.execute(
            SQL(
                'UPDATE cloudstamp_contract SET content_tsv = %s::tsvector, content_text = %s WHERE id = %s',
                fulltext.tsvector_literal(text),
                text,
                self.id,
            )
        )
        self.invalidate_recordset(['content_text'])

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
        linked = [name for name in self._linked_fields() if name in vals]
        before = {(contract.id, name): contract[name] for contract in self for name in linked}
        result = super().write(vals)
        for (contract_id, name), records in before.items():
            contract = self.browse(contract_id)
            contract._note_links_on_documents(contract[name] - records, records - contract[name])
        return result

    # ------------------------------------------------------------------
    # Links to orders and invoices (the bridges add the fields)
    # ------------------------------------------------------------------
    def _linked_fields(self):
        """The many2many fields to business documents, one per bridge addon."""
        return []

    def _note_links_on_documents(self, linked, unlinked):
        """This contract's chatter tracks its own link fields; the documents'
        chatters hear of it here, and the other way round in the mixin."""
        self.ensure_one()
        link, author = self._get_html_link(), self.env.user.partner_id.id
        for record in linked.sudo():
            record.message_post(body=self.env._('Linked to contract %s', link), author_id=author)
        for record in unlinked.sudo():
            record.message_post(body=self.env._('Unlinked from contract %s', link), author_id=author)

    def _action_view_linked(self, field_name, action_xmlid):
        self.ensure_one()
        self.check_access('read')
        records = self[field_name]
        action = self.env['ir.actions.act_window']._for_xml_id(action_xmlid)
        action.update(domain=[('id', 'in', records.ids)], context={})
        if len(records) == 1:
            action.update(res_id=records.id, view_mode='form', views=[(False, 'form')])
        return action

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
                'transaction_date': envelope.contract_transaction_date,
                'amount': envelope.contract_amount,
                'currency_id': envelope.contract_currency_id.id or envelope.company_id.currency_id.id,
                'date_start': envelope.contract_date_start,
                'date_end': envelope.contract_date_end,
                'tag_ids': [fields.Command.set(envelope.contract_tag_ids.ids)],
                'auto_renew': envelope.contract_auto_renew,
                'renewal_months': envelope.contract_renewal_months or 12,
            }
        )
        contract._read_pdfs(read_field_bytes(file, file._current_field()) for file in envelope.file_ids)
        if not contract.transaction_date and not contract.suggested_transaction_date:
            contract.suggested_transaction_date = fields.Date.context_today(self, envelope.completed_date)
        return contract

    # ------------------------------------------------------------------
    # Import
    # ------------------------------------------------------------------
    @api.model
    def _import_pdfs(self, items, defaults=None):
        """File ``items`` (ImportItem: PDFs with their CSV metadata) as
        imported contracts, all or none.

        Every file passes preflight and every CSV value resolves before the
        TSA is asked; every timestamp is in hand before anything is stored.
        """
        defaults = defaults or {}
        service = self.env['cloudstamp.signing.service']
        for item in items:
            service._preflight_files([(item.filename, item.data)])
        vals_list = [dict(defaults, **self._import_values(item)) for item in items]
        company = self.env.company
        stamped = [service._timestamp_pdf(item.data, company) for item in items]
        contracts = self.sudo().create(vals_list)
        for contract, item, timestamped in zip(contracts, items, stamped, strict=True):
            contract._store_import(item, timestamped)
            contract.message_post(
                body=self.env._(
                    'Imported from %(file)s by %(user)s, with a document timestamp.',
                    file=item.filename,
                    user=self.env.user.name,
                ),
            )
        return contracts.sudo(False)

    @api.model
    def _import_values(self, item):
        """The values of a contract imported from ``item``, its CSV row resolved."""
        row = item.metadata
        values = {
            'name': row.get('name') or item.filename.rsplit('.', 1)[0],
            'source': 'imported',
            'company_id': self.env.company.id,
            'user_id': self.env.user.id,
            'imported_filename': item.filename,
        }
        values.update(
            {
                key: row[key]
                for key in ('transaction_date', 'amount', 'date_start', 'date_end', 'notice_date')
                if key in row
            }
        )
        for key, model, message in (
            ('partner', 'res.partner', self.env._('No partner named "%(value)s" (%(file)s).')),
            ('type', 'cloudstamp.contract.type', self.env._('No contract type named "%(value)s" (%(file)s).')),
            ('currency', 'res.currency', self.env._('No currency "%(value)s" (%(file)s).')),
        ):
            if row.get(key):
                record = self.env[model].search([('name', '=ilike', row[key])], limit=1)
                if not record:
                    raise UserError(message % {'value': row[key], 'file': item.filename})
                values[{'partner': 'partner_id', 'type': 'contract_type_id', 'currency': 'currency_id'}[key]] = (
                    record.id
                )
        if values.get('partner_id'):
            values['party_ids'] = [fields.Command.set([values['partner_id']])]
        return values

    def _store_import(self, item, timestamped):
        """Keep the upload unchanged, its timestamped copy and the verifier's report."""
        self.ensure_one()
        write_field_bytes(self, 'imported_file', item.data, item.filename)
        write_field_bytes(self, 'timestamped_file', timestamped, self.timestamped_filename)
        report = self.env['cloudstamp.signing.service']._verify_pdf(item.data, self.company_id)
        self.sudo().write(
            {
                'imported_sha256': hashlib.sha256(item.data).hexdigest(),
                'timestamped_sha256': hashlib.sha256(timestamped).hexdigest(),
                'verification_verdict': 'unsigned' if not report.signatures else report.verdict.value,
                'verification_report': _report_json(report),
            }
        )
        self._read_pdfs([item.data])

    # ------------------------------------------------------------------
    # Suggestions
    # ------------------------------------------------------------------
    def _suggest_from_text(self, text):
        self.ensure_one()
        found = suggest(text)
        self.sudo().write(
            {
                'suggested_amount': found.amount,
                'suggested_transaction_date': found.transaction_date,
                'suggested_partner_id': self._match_partner(found.company_names).id,
            }
        )

    def _match_partner(self, names):
        """The company partner one of ``names`` (in the order found) refers to.

        A name read as "…株式会社" may carry the particle before it (と山田工業
        株式会社), so its first characters are dropped one by one."""
        self.ensure_one()
        Partner = self.env['res.partner'].sudo()
        ours = self.company_id.partner_id
        for name in names:
            key = company_key(name)
            if key == company_key(self.company_id.name):
                continue  # the text names us too
            for start in range(min(4, max(len(key) - 1, 1))):
                core = key[start:]
                candidates = Partner.search(
                    [
                        ('is_company', '=', True),
                        ('name', 'ilike', core),
                        ('id', '!=', ours.id),
                        ('company_id', 'in', [False, self.company_id.id]),
                    ],
                    limit=20,
                )
                matches = candidates.filtered(lambda partner, core=core: company_key(partner.name) == core)
                if matches:
                    return matches[:1]
        return Partner.browse()

    def _applicable_suggestions(self):
        """The suggestions for fields that nobody has filled in yet."""
        self.ensure_one()
        values = {}
        if self.suggested_transaction_date and not self.transaction_date:
            values['transaction_date'] = self.suggested_transaction_date
        if self.suggested_amount and not self.amount:
            values['amount'] = self.suggested_amount
        if self.suggested_partner_id and not self.partner_id:
            values['partner_id'] = self.suggested_partner_id.id
        return values

    def action_apply_suggestions(self):
        """Confirm the suggestions: they fill only the fields still empty."""
        self.check_access('write')
        for contract in self:
            contract.write(contract._applicable_suggestions())
        self._clear_suggestions()
        return True

    def action_dismiss_suggestions(self):
        self.check_access('write')
        self._clear_suggestions()
        return True

    def _clear_suggestions(self):
        self.sudo().write({'suggested_transaction_date': False, 'suggested_amount': 0, 'suggested_partner_id': False})

    # ------------------------------------------------------------------
    # Export
    # ------------------------------------------------------------------
    def _export_zip_chunks(self):
        """The bytes of a ZIP of these contracts, as they are produced:
        ``index.csv`` first, then one folder per contract."""
        stream = ZipStream()
        return chunks(stream, self._export_zip_writes(stream))

    def _export_zip_writes(self, stream):
        ids = self.ids
        with stream.open('index.csv') as index:
            text = io.TextIOWrapper(index, encoding='utf-8-sig', newline='')
            writer = csv.writer(text)
            writer.writerow(self._export_index_headers())
            for batch in self._export_batches(ids):
                writer.writerows(contract._export_index_row() for contract in batch)
                text.flush()
                yield
            text.detach()
        for batch in self._export_batches(ids):
            for contract in batch:
                for name, data, compress in contract._export_entries():
                    stream.add(f'{contract._export_folder()}/{name}', data, compress=compress)
                yield

    def _export_batches(self, ids):
        for start in range(0, len(ids), EXPORT_BATCH):
            # Forget what the previous batch read: memory stays flat however
            # many contracts are exported.
            self.env.invalidate_all()
            yield self.browse(ids[start : start + EXPORT_BATCH]).with_context(active_test=False)

    def _export_index_headers(self):
        field_defs = self.fields_get(list(INDEX_FIELDS), ['string'])
        return ['id', 'folder'] + [field_defs[name]['string'] for name in INDEX_FIELDS] + ['SHA-256']

    def _export_index_row(self):
        self.ensure_one()
        row = [self.id, self._export_folder()]
        for name in INDEX_FIELDS:
            value = self[name]
            field = self._fields[name]
            if field.type == 'many2one':
                value = value.display_name or ''
            elif field.type == 'many2many':
                value = ', '.join(value.mapped('display_name'))
            elif field.type == 'selection':
                value = dict(field._description_selection(self.env)).get(value, '')
            elif field.type == 'boolean':
                value = '1' if value else '0'
            elif value is False or value is None:
                value = ''
            row.append(_spreadsheet_safe(value))
        hashes = self.imported_sha256 or ' '.join(self.sudo().file_ids.mapped('current_sha256'))
        row.append(hashes)
        return row

    def _export_folder(self):
        return self.document_ref or f'contract-{self.id}'

    def _export_entries(self):
        """(name, bytes, compress) of every file of this contract's folder."""
        self.ensure_one()
        contract = self.sudo()
        envelope = contract.envelope_id
        for file in envelope.file_ids:
            attachment = field_attachments(file, file._current_field())[:1]
            yield attachment.name or file.name, attachment.raw or b'', False
        if envelope.agreement_certificate_file:
            yield envelope.agreement_certificate_filename, envelope._agreement_certificate_pdf(), False
        if envelope:
            events = envelope.event_ids.sorted('sequence')
            rows = [event._export_values() for event in events]
            yield 'audit_trail.json', json.dumps(rows, ensure_ascii=False, indent=1, default=str), True
            yield 'audit_trail.csv', _csv_text(rows), True
        if contract.imported_filename:
            yield contract.imported_filename, read_field_bytes(contract, 'imported_file'), False
            yield contract.timestamped_filename, read_field_bytes(contract, 'timestamped_file'), False
            yield 'verification.json', json.dumps(contract.verification_report, ensure_ascii=False, indent=1), True

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


class _StoredReport:
    """A stored verification report, read back in the shape the verify
    wizard's renderer reads (engine.VerificationReport)."""

    def __init__(self, report):
        self.problems = tuple(report.get('problems', ()))
        self.warnings = tuple(report.get('warnings', ()))
        self.signatures = [_StoredSignature(signature) for signature in report.get('signatures', ())]


class _StoredSignature:
    def __init__(self, values):
        self.__dict__.update(values)
        for key in ('signing_time', 'timestamp_time'):
            setattr(self, key, values.get(key) and fields.Datetime.to_datetime(values[key].replace('T', ' ')[:19]))


_REPORT_SIGNATURE_FIELDS = (
    'field_name',
    'is_document_timestamp',
    'actor',
    'action',
    'signer_name',
    'signing_time',
    'timestamp_time',
    'tsa',
    'timestamp_ok',
    'intact',
    'valid',
    'trusted',
    'coverage',
    'modification_level',
    'problems',
    'warnings',
)


def _report_json(report):
    """An engine VerificationReport as JSON values, times in ISO 8601."""
    return {
        'verdict': report.verdict.value,
        'problems': list(report.problems),
        'warnings': list(report.warnings),
        'signatures': [
            {
                key: value.isoformat()
                if hasattr(value, 'isoformat')
                else list(value)
                if isinstance(value, tuple)
                else value
                for key in _REPORT_SIGNATURE_FIELDS
                for value in [getattr(signature, key)]
            }
            for signature in report.signatures
        ],
    }


def _spreadsheet_safe(value):
    """A cell that Excel shows as text: a leading = + - @ would start a formula."""
    text = str(value)
    return f"'{text}" if text[:1] in ('=', '+', '-', '@', '\t', '\r') else text


def _csv_text(rows):
    """Dicts as CSV text (UTF-8 with BOM, for Excel), keys as headers."""
    output = io.StringIO()
    output.write('\ufeff')
    if rows:
        writer = csv.DictWriter(output, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(
            {
                key: _spreadsheet_safe(json.dumps(v, ensure_ascii=False) if isinstance(v, dict | list) else v)
                for key, v in row.items()
            }
            for row in rows
        )
    return output.getvalue()


def _pdf_text(data):
    """The text of a PDF, or '' when none can be read (scans, damaged files)."""
    try:
        return '\n'.join(page.extract_text() or '' for page in pypdf.PdfReader(io.BytesIO(data)).pages)
    except Exception:  # noqa: BLE001 - pypdf raises many types; the contract stays filed
        _logger.warning('CloudStamp: no text read from a PDF', exc_info=True)
        return ''
