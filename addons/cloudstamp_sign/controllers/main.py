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


class CloudStampCrl(http.Controller):
    @http.route(
        '/cloudstamp/crl/<int:company_id>/<string:serial_hex>.crl',
        type='http',
        auth='public',
        methods=['GET'],
        sitemap=False,
    )
    def crl(self, company_id, serial_hex):
        """The CRL of one certificate of a company's CA, at the distribution
        point that certificate names: public by nature, and signed fresh."""
        try:
            serial = int(serial_hex, 16)
        except ValueError:
            raise request.not_found() from None
        crl = request.env['cloudstamp.pki.certificate']._published_crl(company_id, serial)
        if not crl:
            raise request.not_found()
        return request.make_response(
            crl, headers=[('Content-Type', 'application/pkix-crl'), ('Cache-Control', 'max-age=3600')]
        )
