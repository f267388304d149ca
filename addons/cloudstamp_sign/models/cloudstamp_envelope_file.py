import base64
import hashlib
import math

from odoo import api, fields, models
from odoo.exceptions import UserError

from cloudstamp_engine import SealError, newest_archive_timestamp
from cloudstamp_engine.config import SealPlacement, SealShape, SealSpec
from cloudstamp_engine.seal import seal_text

from ..tools import field_attachments, read_field_bytes, write_field_bytes

SEAL_SHAPES = ('round', 'square')
SEAL_SOURCES = ('name', 'company')
# No PDF page is larger than 200 inches (14,400 points): anything beyond is
# not a position on a page.
MAX_SEAL_COORDINATE = 14400.0


class CloudStampEnvelopeFile(models.Model):
    """One PDF of an envelope: the original upload and the current signed file."""

    _name = 'cloudstamp.envelope.file'
    _inherit = ['cloudstamp.evidence.mixin']
    _description = 'CloudStamp File'
    _order = 'envelope_id, sequence, id'
    _check_company_auto = True

    _write_once_fields = ('envelope_id',)

    envelope_id = fields.Many2one(
        'cloudstamp.envelope', required=True, index=True, ondelete='cascade', check_company=True
    )
    company_id = fields.Many2one(related='envelope_id.company_id', store=True, index=True)
    sequence = fields.Integer(default=10)
    name = fields.Char('File Name', required=True)
    original_file = fields.Binary('Original PDF', attachment=True, required=True)
    signed_file = fields.Binary('Signed PDF', attachment=True, readonly=True)
    original_sha256 = fields.Char('Original SHA-256', readonly=True)
    current_sha256 = fields.Char('Current SHA-256', readonly=True)
    revision_hashes = fields.Json(
        readonly=True, help='SHA-256 of every revision, oldest first, with the action that made it.'
    )
    page_count = fields.Integer('Pages', readonly=True)
    file_size = fields.Integer('Size (bytes)', readonly=True)
    archive_timestamp_date = fields.Datetime(
        'Archive Timestamp', readonly=True, help='When the newest archive timestamp (PAdES B-LTA) was added.'
    )
    evidence_valid_until = fields.Datetime(
        readonly=True,
        help='The signed file can be validated until this date: the end of the certificate of the time stamping '
        'authority of its newest archive timestamp. CloudStamp renews it before then.',
    )

    def _get_workflow_fields(self):
        return super()._get_workflow_fields() + (
            'signed_file',
            'original_sha256',
            'current_sha256',
            'revision_hashes',
            'page_count',
            'file_size',
            'archive_timestamp_date',
            'evidence_valid_until',
        )

    def _evidence_envelopes(self):
        return self.envelope_id

    @api.model_create_multi
    def create(self, vals_list):
        # Rights first: parsing PDFs is work done only for those who may upload.
        self.check_access('create')
        # Preflight before anything is stored: a refused file leaves no trace.
        files = [
            (vals.get('name') or 'document.pdf', base64.b64decode(vals.get('original_file') or b''))
            for vals in vals_list
        ]
        results = self.env['cloudstamp.signing.service']._preflight_files(files)
        documents = super().create(vals_list)
        for document, result in zip(documents, results, strict=True):
            document.sudo().write(self._upload_values(result))
        documents.envelope_id._check_send_size()
        return documents

    def write(self, vals):
        if 'original_file' not in vals:
            return super().write(vals)
        data = base64.b64decode(vals['original_file'] or b'')
        results = [
            self.env['cloudstamp.signing.service']._preflight_files([(vals.get('name', document.name), data)])[0]
            for document in self
        ]
        super().write(vals)
        for document, result in zip(self, results, strict=True):
            document.sudo().write(self._upload_values(result))
        self.envelope_id._check_send_size()
        return True

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

    def _copy_values_for_revision(self):
        """What a revised draft keeps of this document: the original upload."""
        self.ensure_one()
        return {
            'name': self.name,
            'sequence': self.sequence,
            'original_file': base64.b64encode(read_field_bytes(self, 'original_file')),
        }

    def _current_field(self):
        """The field holding the newest version of this PDF."""
        self.ensure_one()
        return 'signed_file' if field_attachments(self, 'signed_file') else 'original_file'

    def _current_pdf(self):
        return read_field_bytes(self, self._current_field())

    def _signed_attachments(self):
        """The stored signed files, in document order, named after the upload."""
        by_document = {a.res_id: a for a in field_attachments(self, 'signed_file')}
        return self.env['ir.attachment'].union(*(by_document[d.id] for d in self if d.id in by_document))

    def _current_hashes(self):
        """SHA-256 of each document as the workflow last signed or stored it:
        computed from those bytes, in a field no user can write. Events record
        these, not whatever is on disk at the time, so that a file swapped in
        the filestore is never absorbed into the trail (_verify_stored finds it)."""
        return {str(d.id): d.current_sha256 for d in self}

    def _sign_all(self, actor_email, action, actor_name='', page_note='', seals=None):
        """Sign every document (see _revise_all). ``seals``: {file id:
        SealSpec}; those documents' signatures are visible, with the seal as
        their appearance, the others' invisible as always."""
        service = self.env['cloudstamp.signing.service']
        seals = seals or {}
        self._revise_all(
            lambda document, data: service._sign_pdf(
                data,
                document.envelope_id.company_id,
                actor_email,
                action,
                actor_name=actor_name,
                page_note=page_note,
                seal=seals.get(document.id),
            ),
            action,
            actor_email,
        )

    def _seal_specs(self, seal, person_name, company_name=''):
        """({file id: SealSpec}, the seal's audit details) for ``seal``, a
        plain dict {'file_id', 'page' (0-based), 'x', 'y' (PDF points),
        'shape', 'source': 'name'|'company'} that a person's browser sent:
        checked against these documents (``self``, one envelope's files),
        the text made from ``person_name`` or ``company_name``. No seal:
        ({}, {}).

        :raises UserError: for a seal that cannot be placed, in the user's language.
        """
        if not seal:
            return {}, {}
        invalid = UserError(self.env._('The seal position is not valid. Please place the seal again.'))
        if not isinstance(seal, dict):
            raise invalid
        try:
            # Through str(): True, 1.5 or '1e3' are not ids or page numbers.
            file_id, page = int(str(seal.get('file_id'))), int(str(seal.get('page')))
            x, y = float(seal.get('x')), float(seal.get('y'))
        except (TypeError, ValueError, OverflowError):
            raise invalid from None
        document = self.filtered(lambda d: d.id == file_id)
        shape, source = seal.get('shape') or 'round', seal.get('source') or 'name'
        if (
            len(document) != 1
            or not 0 <= page < (document.page_count or 0)
            or not all(math.isfinite(v) and abs(v) <= MAX_SEAL_COORDINATE for v in (x, y))
            or shape not in SEAL_SHAPES
            or source not in SEAL_SOURCES
        ):
            raise invalid
        name = (company_name if source == 'company' else person_name) or ''
        if not name.strip():
            raise UserError(
                self.env._('There is no company name to put on the seal. Please choose your name instead.')
                if source == 'company'
                else self.env._('There is no name to put on the seal.')
            )
        try:
            text = seal_text(name)
        except SealError as exc:
            raise UserError(
                self.env._(
                    '"%s" cannot be made into a seal. Please choose the other name, or go on without a seal.', name
                )
            ) from exc
        spec = SealSpec(text=text, placement=SealPlacement(page=page, x=x, y=y), shape=SealShape(shape))
        return {document.id: spec}, {'seal': {'file': document.name, 'page': page + 1, 'shape': shape, 'text': text}}

    def _extend_all_to_lta(self):
        """Long-term validation material and an archive timestamp on every
        document: PAdES B-LTA, at completion."""
        self._archive_all(renew=False)

    def _renew_all_archive_timestamps(self):
        """A fresh archive timestamp with renewed validation material on
        every document, before the newest one can no longer be validated."""
        self._archive_all(renew=True)

    def _archive_all(self, renew):
        service = self.env['cloudstamp.signing.service']
        self._revise_all(
            lambda document, data: service._long_term_step(data, document.envelope_id.company_id, renew),
            'renew' if renew else 'archive',
            'cloudstamp',
        )
        self._record_archive_timestamps()

    def _record_archive_timestamps(self):
        for document in self:
            archive = newest_archive_timestamp(document._current_pdf())
            valid_until = archive.tsa_valid_until if archive else None
            document.sudo().write(
                {
                    'archive_timestamp_date': archive and archive.gen_time.replace(tzinfo=None),
                    'evidence_valid_until': valid_until and valid_until.replace(tzinfo=None),
                }
            )

    def _final_versions(self):
        """SHA-256 of every version handed out as final: the completed file
        and each renewal of it (a renewal only appends)."""
        return {
            revision['sha256']
            for document in self
            for revision in document.revision_hashes or ()
            if revision.get('action') in ('archive', 'renew')
        }

    def _revise_all(self, revise, action, actor):
        """Make the next revision of every document in memory first, then
        store: a failure on the last file leaves all of them as they were. A
        stored file that is no longer the one the workflow recorded is never
        revised."""
        if self._verify_stored():
            raise UserError(
                self.env._(
                    'A document of this envelope was changed outside CloudStamp, so it cannot be '
                    'signed. Please tell the sender.'
                )
            )
        revised = [(document, revise(document, document._current_pdf())) for document in self]
        for document, data in revised:
            digest = hashlib.sha256(data).hexdigest()
            write_field_bytes(document, 'signed_file', data, document.name)
            document.sudo().write(
                {
                    'current_sha256': digest,
                    'revision_hashes': (document.revision_hashes or [])
                    + [{'action': action, 'sha256': digest, 'actor': actor}],
                }
            )

    def _verify_stored(self):
        """The first document whose stored file no longer matches its hash."""
        for document in self:
            if hashlib.sha256(document._current_pdf()).hexdigest() != document.current_sha256:
                return document
        return None
