import base64

from odoo import fields, models
from odoo.exceptions import AccessError, UserError

from cloudstamp_engine.config import MB

from ..tools.import_bundle import MAX_MEMBERS, BundleError, read_upload

# A ZIP may hold many files of the per-file size limit.
MAX_UPLOAD_MB = 256


class CloudStampContractImport(models.TransientModel):
    """Bring contracts signed elsewhere (or on paper, then scanned) into the
    archive: one PDF, or a ZIP of PDFs with an optional CSV of metadata."""

    _name = 'cloudstamp.contract.import'
    _description = 'Import Contracts'

    upload = fields.Binary('PDF or ZIP', required=True, attachment=False)
    upload_filename = fields.Char('File Name')
    contract_type_id = fields.Many2one('cloudstamp.contract.type', 'Type', help='For files the CSV gives no type.')
    partner_id = fields.Many2one('res.partner', 'Counterparty', help='For files the CSV names no counterparty.')

    def action_import(self):
        self.ensure_one()
        if not self.env.user.has_group('cloudstamp_archive.group_cloudstamp_contract_reader'):
            raise AccessError(self.env._('Only contract readers and CloudStamp administrators import contracts.'))
        data = base64.b64decode(self.upload or b'')
        if len(data) > MAX_UPLOAD_MB * MB:
            raise UserError(self.env._('This upload is larger than %s MB.', MAX_UPLOAD_MB))
        max_file_bytes = self.env['cloudstamp.signing.service']._preflight_limits().max_file_bytes
        try:
            items = read_upload(data, self.upload_filename or '', max_file_bytes)
        except BundleError as error:
            raise UserError(self._bundle_message(error, max_file_bytes)) from error
        defaults = {}
        if self.contract_type_id:
            defaults['contract_type_id'] = self.contract_type_id.id
        if self.partner_id:
            defaults['partner_id'] = self.partner_id.id
            defaults['party_ids'] = [fields.Command.set(self.partner_id.ids)]
        contracts = self.env['cloudstamp.contract']._import_pdfs(items, defaults)
        return {
            'type': 'ir.actions.act_window',
            'name': self.env._('Imported Contracts'),
            'res_model': 'cloudstamp.contract',
            'view_mode': 'list,form',
            'views': [(False, 'list'), (False, 'form')],
            'domain': [('id', 'in', contracts.ids)],
        }

    def _bundle_message(self, error, max_file_bytes):
        # Every message gets every parameter: each formats only its own.
        params = dict.fromkeys(('name', 'line', 'column', 'value'), '')
        params.update(error.params, limit_mb=max_file_bytes // MB, max_files=MAX_MEMBERS)
        return {
            'bad_zip': self.env._('"%(name)s" is damaged or not a ZIP file that can be read.', **params),
            'encrypted_zip': self.env._(
                '"%(name)s" is protected by a password. Please upload it without one.', **params
            ),
            'too_many': self.env._('"%(name)s" holds more than %(max_files)s files. Please split it.', **params),
            'member_too_large': self.env._('"%(name)s" is larger than %(limit_mb)s MB, the limit per file.', **params),
            'duplicate': self.env._('"%(name)s" appears twice.', **params),
            'many_csv': self.env._('"%(name)s" holds more than one CSV file; keep one.', **params),
            'no_pdf': self.env._('"%(name)s" holds no PDF file.', **params),
            'missing_file': self.env._('The CSV names "%(name)s", which is not in the ZIP.', **params),
            'csv_encoding': self.env._('"%(name)s" is neither UTF-8 nor Shift_JIS text.', **params),
            'csv_no_file_column': self.env._('"%(name)s" has no "file" (ファイル) column.', **params),
            'csv_amount': self.env._('"%(name)s", line %(line)s: "%(value)s" is not an amount.', **params),
            'csv_date': self.env._(
                '"%(name)s", line %(line)s: "%(value)s" is not a date (YYYY-MM-DD) in %(column)s.', **params
            ),
        }[error.code]
