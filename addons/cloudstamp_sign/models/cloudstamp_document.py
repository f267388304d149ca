import base64
import hashlib

from odoo import _, api, fields, models
from odoo.exceptions import UserError

from ..tools import field_attachments, read_field_bytes, write_field_bytes


class CloudStampDocument(models.Model):
    """One PDF of an envelope: the original upload and the current signed file."""

    _name = 'cloudstamp.document'
    _description = 'CloudStamp Document'
    _order = 'envelope_id, sequence, id'

    envelope_id = fields.Many2one(
        'cloudstamp.envelope', required=True, index=True, ondelete='cascade')
    sequence = fields.Integer(default=10)
    name = fields.Char('File Name', required=True)
    original_file = fields.Binary('Original PDF', attachment=True, required=True)
    signed_file = fields.Binary('Signed PDF', attachment=True, readonly=True)
    original_sha256 = fields.Char('Original SHA-256', readonly=True)
    current_sha256 = fields.Char('Current SHA-256', readonly=True)
    revision_hashes = fields.Json(
        'Revision Hashes', readonly=True,
        help='SHA-256 of every revision, oldest first, with the action that made it.')
    page_count = fields.Integer('Pages', readonly=True)
    file_size = fields.Integer('Size (bytes)', readonly=True)

    @api.model_create_multi
    def create(self, vals_list):
        # Preflight before anything is stored: a refused file leaves no trace.
        files = [(vals.get('name') or 'document.pdf',
                  base64.b64decode(vals.get('original_file') or b''))
                 for vals in vals_list]
        results = self.env['cloudstamp.signing.service'].preflight_files(files)
        for vals, result in zip(vals_list, results, strict=True):
            vals.update(self._upload_values(result))
        documents = super().create(vals_list)
        documents.envelope_id._check_send_size()
        return documents

    def write(self, vals):
        if 'original_file' in vals and any(d.envelope_id.state != 'draft' for d in self):
            raise UserError(_('A sent document cannot be replaced.'))
        if 'original_file' in vals:
            for document in self:
                name = vals.get('name', document.name)
                result = self.env['cloudstamp.signing.service'].preflight_files(
                    [(name, base64.b64decode(vals['original_file'] or b''))])[0]
                super(CloudStampDocument, document).write(
                    dict(vals, **self._upload_values(result)))
            self.envelope_id._check_send_size()
            return True
        return super().write(vals)

    @api.model
    def _upload_values(self, result):
        """What a preflight result records on a freshly uploaded file."""
        return {
            'original_sha256': result.sha256,
            'current_sha256': result.sha256,
            'revision_hashes': [{'action': 'upload', 'sha256': result.sha256}],
            'page_count': result.page_count,
            'file_size': result.size,
        }

    def _current_pdf(self):
        self.ensure_one()
        return read_field_bytes(self, 'signed_file') or read_field_bytes(self, 'original_file')

    def _signed_attachments(self):
        """The stored signed files, in document order, named after the upload."""
        by_document = {a.res_id: a for a in field_attachments(self, 'signed_file')}
        return self.env['ir.attachment'].union(
            *(by_document[d.id] for d in self if d.id in by_document))

    def _current_hashes(self):
        return {str(d.id): d.current_sha256 for d in self}

    def _sign_all(self, actor_email, action, actor_name='', page_note=''):
        """Sign every document in memory first, then store: a failure on the
        last file leaves all of them as they were."""
        service = self.env['cloudstamp.signing.service']
        signed = [
            (document, service.sign_pdf(
                document._current_pdf(), actor_email, action,
                actor_name=actor_name, page_note=page_note))
            for document in self
        ]
        for document, data in signed:
            digest = hashlib.sha256(data).hexdigest()
            write_field_bytes(document, 'signed_file', data, document.name)
            document.sudo().write({
                'current_sha256': digest,
                'revision_hashes': (document.revision_hashes or []) + [
                    {'action': action, 'sha256': digest, 'actor': actor_email}],
            })

    def _verify_stored(self):
        """The first document whose stored file no longer matches its hash."""
        for document in self:
            if hashlib.sha256(document._current_pdf()).hexdigest() != document.current_sha256:
                return document
        return None
