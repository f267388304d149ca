import json
import xmlrpc.client

from odoo.tests import HttpCase, tagged


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
