from odoo import http
from odoo.http import request


class CloudStampController(http.Controller):
    @http.route('/cloudstamp/root_ca.crt', type='http', auth='user')
    def download_root_ca(self):
        """The current company's root CA, for users to trust in their PDF reader."""
        root = request.env['cloudstamp.pki.certificate']._current('root', request.env.company)
        if not root:
            raise request.not_found()
        return request.make_response(
            root.certificate_pem,
            headers=[
                ('Content-Type', 'application/x-x509-ca-cert'),
                ('Content-Disposition', http.content_disposition('cloudstamp-root-ca.crt')),
            ],
        )
