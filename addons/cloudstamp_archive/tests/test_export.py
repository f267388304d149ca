import csv
import io
import json
import zipfile

from odoo.exceptions import AccessError
from odoo.tests import HttpCase, new_test_user, tagged

from odoo.addons.cloudstamp_sign.tests.common import new_sender

from cloudstamp_engine_testing.checkers import assert_pdfsig_accepts
from cloudstamp_engine_testing.pdf_samples import scanned_pdf

from ..tools.import_bundle import ImportItem
from .test_contract import complete


@tagged('post_install', '-at_install')
class TestExport(HttpCase):
    """The ZIP download, over HTTP, read back and checked file by file."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.sender = new_sender(cls.env, 'sales@cloudstamp.example')
        cls.manager = new_test_user(
            cls.env, 'cs_admin', password='cs_admin_pw_1', groups='cloudstamp_sign.group_cloudstamp_manager'
        )
        cls.reader = new_test_user(
            cls.env,
            'accounting',
            password='accounting_pw_1',
            groups='cloudstamp_archive.group_cloudstamp_contract_reader',
        )
        cls.partner = cls.env['res.partner'].create({'name': '=1+2 株式会社', 'is_company': True})
        cls.root_pem = cls.env['cloudstamp.pki.certificate']._current('root').certificate_pem.encode()
        cls.contracts = complete(cls.env(user=cls.sender), contract_amount=500_000, contract_partner_id=cls.partner.id)
        cls.contracts |= complete(cls.env(user=cls.sender), name='売買基本契約書')

    def download(self, user, password, **wizard_values):
        export = self.env['cloudstamp.contract.export'].with_user(user).create(wizard_values)
        action = export.action_download()
        self.env.flush_all()
        self.authenticate(user.login, password)
        return self.url_open(action['url'], allow_redirects=False, timeout=60), export

    def test_a_manager_downloads_every_file_of_the_selected_contracts(self):
        chosen = self.contracts[0]
        response, _export = self.download(self.manager, 'cs_admin_pw_1', scope='selected', contract_ids=chosen.ids)
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response.headers['Content-Type'], 'application/zip')
        archive = zipfile.ZipFile(io.BytesIO(response.content))
        self.assertIsNone(archive.testzip())
        folder = chosen.document_ref
        names = set(archive.namelist())
        envelope = chosen.sudo().envelope_id
        self.assertLessEqual(
            {
                f'{folder}/audit_trail.json',
                f'{folder}/audit_trail.csv',
                f'{folder}/{envelope.agreement_certificate_filename}',
                'index.csv',
            },
            names,
        )
        # the signed PDFs and the certificate of agreement
        pdfs = [n for n in names if n.startswith(folder) and n.endswith('.pdf')]
        self.assertEqual(len(pdfs), len(envelope.file_ids) + 1)
        # every PDF valid for pyHanko and for poppler
        for name in names:
            if name.endswith('.pdf'):
                data = archive.read(name)
                report = self.env['cloudstamp.signing.service']._verify_pdf(data)
                self.assertTrue(report.is_valid, (name, report.problems))
                # the signed PDFs and the certificate of agreement end with their B-LTA archive timestamp
                stamps = sum(s.is_document_timestamp for s in report.signatures)
                self.assertEqual(stamps, 1, name)
                assert_pdfsig_accepts(data, self.root_pem, document_timestamps=stamps)
        # the audit trail: every event, in order, chained
        trail = json.loads(archive.read(f'{folder}/audit_trail.json'))
        events = envelope.event_ids.sorted('sequence')
        self.assertEqual([e['event_hash'] for e in trail], events.mapped('event_hash'))
        self.assertEqual(trail[1]['previous_hash'], trail[0]['event_hash'])
        rows = list(csv.DictReader(io.StringIO(archive.read(f'{folder}/audit_trail.csv').decode('utf-8-sig'))))
        self.assertEqual([r['type'] for r in rows], events.mapped('event_type'))
        # index.csv: UTF-8 with BOM for Excel, one row per contract, no formula injection
        index = archive.read('index.csv')
        self.assertTrue(index.startswith(b'\xef\xbb\xbf'))
        (row,) = list(csv.reader(io.StringIO(index.decode('utf-8-sig'))))[1:]
        self.assertEqual(row[:3], [str(chosen.id), folder, folder])
        self.assertIn("'=1+2 株式会社", row)
        self.assertIn('500000.0', row)

    def test_all_includes_archived_contracts(self):
        self.contracts[1].sudo().action_archive()
        response, export = self.download(self.manager, 'cs_admin_pw_1', scope='all')
        names = zipfile.ZipFile(io.BytesIO(response.content)).namelist()
        for contract in self.contracts:
            self.assertTrue(any(n.startswith(contract.document_ref + '/') for n in names))
        self.assertGreaterEqual(export.contract_count, 2)

    def test_only_managers_download_and_only_their_own_export(self):
        response, export = self.download(
            self.manager, 'cs_admin_pw_1', scope='selected', contract_ids=self.contracts.ids
        )
        self.assertEqual(response.status_code, 200)
        # another user cannot fetch the manager's export
        self.authenticate('accounting', 'accounting_pw_1')
        self.assertEqual(self.url_open(f'/cloudstamp/archive/export/{export.id}').status_code, 404)
        # and a reader cannot prepare one
        with self.assertRaises(AccessError):
            self.env['cloudstamp.contract.export'].with_user(self.reader).create({'scope': 'all'}).action_download()

    def test_an_imported_contract_leaves_with_its_upload_and_timestamped_copy(self):
        scan = scanned_pdf(seed=7)
        imported = (
            self.env['cloudstamp.contract'].with_user(self.manager)._import_pdfs([ImportItem('請求書.pdf', scan)])
        )
        response, _export = self.download(self.manager, 'cs_admin_pw_1', scope='selected', contract_ids=imported.ids)
        archive = zipfile.ZipFile(io.BytesIO(response.content))
        folder = f'contract-{imported.id}'
        self.assertEqual(archive.read(f'{folder}/請求書.pdf'), scan, 'the upload, byte for byte')
        stamped = archive.read(f'{folder}/請求書_timestamped.pdf')
        self.assertTrue(stamped.startswith(scan))
        assert_pdfsig_accepts(stamped, self.root_pem, expected_count=1, document_timestamps=1)
        self.assertEqual(json.loads(archive.read(f'{folder}/verification.json'))['problems'], ['no signatures'])
        (row,) = list(csv.DictReader(io.StringIO(archive.read('index.csv').decode('utf-8-sig'))))
        self.assertEqual(row['SHA-256'], imported.imported_sha256)

    def test_the_metadata_template_exports_through_the_ordinary_list_export(self):
        preset = self.env.ref('cloudstamp_archive.cloudstamp_contract_export_metadata')
        fields = preset.export_fields.mapped('name')
        self.assertLessEqual({'transaction_date', 'amount', 'partner_id', 'document_ref'}, set(fields))
        contract = self.contracts[0].with_user(self.reader)
        (row,) = contract.export_data(fields)['datas']
        self.assertEqual(row[fields.index('amount')], 500_000)
        self.assertEqual(row[fields.index('partner_id')], self.partner.name)
