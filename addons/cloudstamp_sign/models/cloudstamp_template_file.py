import base64

from odoo import api, fields, models

from ..tools import read_field_bytes


class CloudStampTemplateFile(models.Model):
    """A PDF of a template, preflighted when saved like any upload."""

    _name = 'cloudstamp.template.file'
    _description = 'CloudStamp Template File'
    _order = 'template_id, sequence, id'
    _check_company_auto = True

    template_id = fields.Many2one(
        'cloudstamp.template', required=True, index=True, ondelete='cascade', check_company=True
    )
    company_id = fields.Many2one(related='template_id.company_id', store=True, index=True)
    sequence = fields.Integer(default=10)
    name = fields.Char('File Name', required=True)
    file = fields.Binary('PDF', attachment=True, required=True)
    page_count = fields.Integer('Pages', readonly=True)
    file_size = fields.Integer('Size (bytes)', readonly=True)
    sha256 = fields.Char('SHA-256', readonly=True)

    @api.model_create_multi
    def create(self, vals_list):
        self.check_access('create')
        results = self._preflight([(vals.get('name'), vals.get('file')) for vals in vals_list])
        files = super().create(vals_list)
        for document, values in zip(files, results, strict=True):
            document.sudo().write(values)
        return files

    def write(self, vals):
        if 'file' not in vals:
            return super().write(vals)
        results = self._preflight([(vals.get('name', document.name), vals['file']) for document in self])
        super().write(vals)
        for document, values in zip(self, results, strict=True):
            document.sudo().write(values)
        return True

    @api.model
    def _preflight(self, named_files):
        """The stored figures of each file; refuses, before anything is
        stored, what a send would refuse."""
        files = [(name or 'document.pdf', base64.b64decode(data or b'')) for name, data in named_files]
        results = self.env['cloudstamp.signing.service']._preflight_files(files)
        return [{'page_count': r.page_count, 'file_size': r.size, 'sha256': r.sha256} for r in results]

    def _envelope_file_values(self):
        """What a send copies of this file."""
        self.ensure_one()
        return {
            'name': self.name,
            'sequence': self.sequence,
            'original_file': base64.b64encode(read_field_bytes(self, 'file')),
        }
