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
    @http.route('/cloudstamp/crl/<int:company_id>.crl', type='http', auth='public', methods=['GET'], sitemap=False)
    def crl(self, company_id):
        """The CRL of a company's root CA, at the distribution point its
        certificates name: public by nature, and signed fresh."""
        certificates = request.env['cloudstamp.pki.certificate'].sudo()
        # A company without a PKI gets none from an anonymous request.
        if not certificates.search_count([('role', '=', 'root'), ('company_id', '=', company_id)]):
            raise request.not_found()
        crl = certificates._current_crl(request.env['res.company'].sudo().browse(company_id))
        if not crl:
            raise request.not_found()
        return request.make_response(
            crl, headers=[('Content-Type', 'application/pkix-crl'), ('Cache-Control', 'max-age=3600')]
        )
