from werkzeug.exceptions import NotFound

from odoo import api, http
from odoo.exceptions import AccessError
from odoo.http import content_disposition, request
from odoo.modules.registry import Registry


class CloudStampArchiveExport(http.Controller):
    @http.route('/cloudstamp/archive/export/<int:export_id>', type='http', auth='user', methods=['GET'])
    def download_archive(self, export_id):
        """Stream the ZIP of an export the current user prepared."""
        export = request.env['cloudstamp.contract.export'].browse(export_id).exists()
        if not export:
            raise NotFound()
        try:
            export.check_access('read')  # a transient record is its creator's only
            export._check_may_export()
        except AccessError as exc:
            raise NotFound() from exc
        contract_ids = export._contracts().ids
        dbname, uid, context = request.env.cr.dbname, request.env.uid, dict(request.env.context)
        filename = 'cloudstamp_contracts.zip'

        def generate():
            # The response is streamed after this request's cursor is closed:
            # the archive is read through a cursor of its own.
            with Registry(dbname).cursor() as cr:
                env = api.Environment(cr, uid, context)
                yield from env['cloudstamp.contract'].browse(contract_ids)._export_zip_chunks()

        return request.make_response(
            generate(),
            headers=[
                ('Content-Type', 'application/zip'),
                ('Content-Disposition', content_disposition(filename)),
                ('Cache-Control', 'no-store'),
            ],
        )
