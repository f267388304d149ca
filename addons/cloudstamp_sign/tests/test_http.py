import json
import xmlrpc.client
from datetime import timedelta
from urllib.parse import urlsplit

from cryptography import x509

from odoo.tests import HttpCase, tagged

from cloudstamp_engine import crl_distribution_url


@tagged('post_install', '-at_install')
class TestCloudStampHttp(HttpCase):
    def test_root_ca_download_needs_a_login(self):
        response = self.url_open('/cloudstamp/root_ca.crt', allow_redirects=False)
        self.assertIn(response.status_code, (302, 303))
        self.assertIn('/web/login', response.headers['Location'])
        self.authenticate('admin', 'admin')
        response = self.url_open('/cloudstamp/root_ca.crt')
        self.assertEqual(response.status_code, 200)
        root = self.env['cloudstamp.pki.certificate']._current('root')
        self.assertEqual(response.text, root.certificate_pem)
        self.assertIn('attachment', response.headers['Content-Disposition'])

    def test_each_certificate_crl_is_public_at_its_distribution_point(self):
        certificates = self.env['cloudstamp.pki.certificate']
        signer = certificates._current('signer')
        url = crl_distribution_url(x509.load_pem_x509_certificate(signer.certificate_pem.encode()))
        path = urlsplit(url).path
        self.assertTrue(path.startswith(f'/cloudstamp/crl/{self.env.company.id}/'), url)
        response = self.url_open(path)  # no login: validators anywhere fetch it
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response.headers['Content-Type'], 'application/pkix-crl')
        crl = x509.load_der_x509_crl(response.content)
        root = x509.load_pem_x509_certificate(certificates._current('root').certificate_pem.encode())
        self.assertTrue(crl.is_signature_valid(root.public_key()))
        self.assertEqual(len(crl), 0)
        # fresh for a week: a revocation shows within that time
        self.assertLess(crl.next_update_utc - crl.last_update_utc, timedelta(days=8))
        for unknown in (f'/cloudstamp/crl/{self.env.company.id}/abc.crl', f'/cloudstamp/crl/99999/{path[-10:]}'):
            self.assertEqual(self.url_open(unknown).status_code, 404)
        self.assertEqual(self.url_open(f'/cloudstamp/crl/{self.env.company.id}/zz%27.crl').status_code, 404)

    def test_private_keys_do_not_leave_over_rpc(self):
        # JSON-RPC, as the web client does it
        self.authenticate('admin', 'admin')
        payload = {
            'jsonrpc': '2.0',
            'method': 'call',
            'id': 1,
            'params': {
                'model': 'cloudstamp.pki.certificate',
                'method': 'search_read',
                'args': [[]],
                'kwargs': {'fields': ['private_key_ciphertext']},
            },
        }
        response = self.url_open(
            '/web/dataset/call_kw', data=json.dumps(payload), headers={'Content-Type': 'application/json'}
        )
        body = response.json()
        self.assertNotIn('result', body)
        self.assertIn('AccessError', body['error']['data']['name'])
        self.assertNotIn('PRIVATE KEY', response.text)
        # XML-RPC, as integrations do it
        models = xmlrpc.client.ServerProxy(f'{self.base_url()}/xmlrpc/2/object')
        with self.assertRaises(xmlrpc.client.Fault) as fault:
            models.execute_kw(
                self.env.cr.dbname,
                self.env.ref('base.user_admin').id,
                'admin',
                'cloudstamp.pki.certificate',
                'search_read',
                [[]],
                {'fields': ['private_key_ciphertext']},
            )
        self.assertEqual(fault.exception.faultCode, 4)  # AccessError, in any language
        self.assertNotIn('PRIVATE KEY', fault.exception.faultString)
