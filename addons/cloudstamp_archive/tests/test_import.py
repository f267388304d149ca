import base64
import csv
import hashlib
import io
import zipfile

from odoo.exceptions import AccessError, UserError
from odoo.tests import new_test_user, tagged

from odoo.addons.cloudstamp_sign.tests.common import CloudStampCase, new_sender

from cloudstamp_engine import (
    DocumentSigner,
    EmbeddedTimeStamper,
    SignatureAction,
    SignatureRequest,
    generate_service_pki,
)
from cloudstamp_engine_testing.checkers import assert_pdfsig_accepts
from cloudstamp_engine_testing.pdf_samples import contract_pdf, encrypted_pdf, scanned_pdf, text_pdf
from cloudstamp_engine_testing.tsa_server import Rfc3161HttpServer


def zip_of(files):
    """A ZIP (bytes) of ``{name: bytes}``."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, 'w', zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buf.getvalue()


def csv_of(rows, encoding='utf-8-sig'):
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerows(rows)
    return out.getvalue().encode(encoding)


@tagged('post_install', '-at_install')
class TestImport(CloudStampCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.reader = new_test_user(cls.env, 'accounting', groups='cloudstamp_archive.group_cloudstamp_contract_reader')
        cls.partner = cls.env['res.partner'].create({'name': '東邦テスト工業株式会社', 'is_company': True})
        cls.Contract = cls.env['cloudstamp.contract']

    def setUp(self):
        super().setUp()
        # A real RFC 3161 service over HTTP on loopback, with the database's TSA identity.
        self.tsa = self.enterContext(Rfc3161HttpServer(self.certificates._identity('tsa')))
        self.env['ir.config_parameter'].sudo().set_param('cloudstamp.tsa_url', self.tsa.url)

    def import_as(self, user, data, filename, **values):
        wizard = (
            self.env['cloudstamp.contract.import']
            .with_user(user)
            .with_context(lang=user.lang)
            .create(dict(values, upload=base64.b64encode(data), upload_filename=filename))
        )
        action = wizard.action_import()
        return self.Contract.with_user(user).search(action['domain'])

    def stored(self):
        """What an import could leave behind: contracts and their files."""
        contracts = self.Contract.with_context(active_test=False).search_count([])
        files = self.env['ir.attachment'].sudo().search_count([('res_model', '=', 'cloudstamp.contract')])
        return contracts, files

    def test_a_scan_is_kept_as_uploaded_beside_a_timestamped_copy(self):
        scan = scanned_pdf()
        contract = self.import_as(self.reader, scan, 'スキャン_2019.pdf')
        self.assertEqual((contract.source, contract.name, contract.user_id), ('imported', 'スキャン_2019', self.reader))
        self.assertEqual(base64.b64decode(contract.imported_file), scan)
        self.assertEqual(contract.imported_sha256, hashlib.sha256(scan).hexdigest())
        timestamped = base64.b64decode(contract.timestamped_file)
        self.assertTrue(timestamped.startswith(scan), 'the timestamp is an incremental update')
        self.assertEqual(contract.timestamped_sha256, hashlib.sha256(timestamped).hexdigest())
        report = self.service._verify_pdf(timestamped)
        self.assertTrue(report.is_valid, report.problems)
        self.assertTrue(report.signatures[-1].is_document_timestamp)
        assert_pdfsig_accepts(timestamped, self.root_pem, expected_count=1, document_timestamps=1)
        self.assertEqual(self.tsa.request_count, 1)
        # the archive shows until when that timestamp can be validated: its TSA certificate's end
        tsa = self.env['cloudstamp.pki.certificate']._current('tsa')
        self.assertEqual(contract.evidence_valid_until, tsa.not_after)
        # a scan carries no signature: the stored report says so
        self.assertEqual(contract.verification_verdict, 'unsigned')
        self.assertEqual(contract.verification_report['problems'], ['no signatures'])

    def test_a_pdf_signed_elsewhere_keeps_its_signatures_and_their_report(self):
        elsewhere = generate_service_pki('他社電子契約株式会社')
        signer = DocumentSigner(elsewhere.signer(), EmbeddedTimeStamper(elsewhere.tsa()))
        signed = signer.sign(contract_pdf(), SignatureRequest('ceo@other.example', SignatureAction.AGREE))
        contract = self.import_as(self.reader, signed, 'other_service.pdf')
        # intact, but signed by a certificate we have no reason to trust
        self.assertEqual(contract.verification_verdict, 'untrusted')
        (signature,) = contract.verification_report['signatures']
        self.assertEqual((signature['actor'], signature['intact']), ('ceo@other.example', True))
        self.assertIn('ceo@other.example', contract.verification_html)
        timestamped = base64.b64decode(contract.timestamped_file)
        report = self.service._verify_pdf(timestamped)
        self.assertEqual([s.intact for s in report.signatures], [True, True])
        self.assertTrue(report.signatures[-1].is_document_timestamp)
        self.assertEqual(base64.b64decode(contract.imported_file), signed)

    def test_a_zip_with_a_csv_files_each_contract_with_its_metadata(self):
        nda = self.env.ref('cloudstamp_archive.contract_type_nda')
        sheet = csv_of(
            [
                ['ファイル', '件名', '取引先', '種類', '取引年月日', '金額', '終了日'],
                [
                    'nda.pdf',
                    '秘密保持契約書（東邦テスト工業）',
                    '東邦テスト工業株式会社',
                    nda.name,
                    '2024/04/01',
                    '1,200,000',
                    '2027-03-31',
                ],
            ],
            encoding='cp932',  # as Excel saves a CSV in Japan
        )
        upload = zip_of(
            {
                'contracts/nda.pdf': contract_pdf('秘密保持契約書'),
                'contracts/memo.pdf': contract_pdf('覚書'),
                'index.csv': sheet,
            }
        )
        contracts = self.import_as(self.reader, upload, 'old_contracts.zip')
        self.assertEqual(sorted(contracts.mapped('imported_filename')), ['memo.pdf', 'nda.pdf'])
        nda_contract = contracts.filtered(lambda c: c.imported_filename == 'nda.pdf')
        self.assertEqual(
            (nda_contract.name, nda_contract.partner_id, nda_contract.contract_type_id, nda_contract.amount),
            ('秘密保持契約書（東邦テスト工業）', self.partner, nda, 1_200_000),
        )
        self.assertEqual(str(nda_contract.transaction_date), '2024-04-01')
        self.assertEqual(str(nda_contract.retention_end), '2031-04-01')
        memo = contracts - nda_contract
        self.assertEqual((memo.name, memo.partner_id.id, memo.amount), ('memo', False, 0))
        self.assertEqual(self.tsa.request_count, 2)

    def test_hostile_or_broken_uploads_are_refused_with_nothing_stored(self):
        good = contract_pdf()
        bomb = io.BytesIO()
        with zipfile.ZipFile(bomb, 'w', zipfile.ZIP_DEFLATED) as archive:
            archive.writestr('bomb.pdf', b'%PDF-1.7\n' + b'\0' * (64 * 1024 * 1024))
        cases = {
            'not a pdf': (b'MZ\x90\x00 an executable', 'invoice.pdf', 'is not a PDF'),
            'damaged': (good[: len(good) // 2], 'cut.pdf', 'is damaged'),
            'encrypted': (encrypted_pdf('secret', 'owner'), 'locked.pdf', 'password'),
            'a bad file inside': (zip_of({'ok.pdf': good, 'evil.exe.pdf': b'not a pdf'}), 'batch.zip', 'evil.exe.pdf'),
            'bad zip': (b'PK\x03\x04' + b'\xff' * 200, 'broken.zip', 'is damaged or not a ZIP'),
            'bomb': (bomb.getvalue(), 'bomb.zip', 'larger than'),
            'unknown file in csv': (zip_of({'a.pdf': good, 'm.csv': csv_of([['file'], ['b.pdf']])}), 'x.zip', 'b.pdf'),
            'bad date': (
                zip_of({'a.pdf': good, 'm.csv': csv_of([['file', 'transaction_date'], ['a.pdf', '2024-13-01']])}),
                'x.zip',
                '2024-13-01',
            ),
            'bad amount': (
                zip_of({'a.pdf': good, 'm.csv': csv_of([['file', 'amount'], ['a.pdf', '=HYPERLINK("x")']])}),
                'x.zip',
                'is not an amount',
            ),
            'unknown partner': (
                zip_of({'a.pdf': good, 'm.csv': csv_of([['file', 'partner'], ['a.pdf', '存在しない株式会社']])}),
                'x.zip',
                '存在しない株式会社',
            ),
            'two sheets': (
                zip_of({'a.pdf': good, 'm.csv': b'file\n', 'n.csv': b'file\n'}),
                'x.zip',
                'more than one CSV',
            ),
        }
        before = self.stored()
        for label, (data, filename, message) in cases.items():
            with self.subTest(label), self.assertRaisesRegex(UserError, message):
                self.import_as(self.reader, data, filename)
            self.assertEqual(self.stored(), before, label)
        self.assertEqual(self.tsa.request_count, 0, 'nothing is timestamped before every file is accepted')

    def test_refusals_speak_the_users_language(self):
        self.env['res.lang']._activate_lang('ja_JP')
        self.reader.lang = 'ja_JP'
        with self.assertRaisesRegex(UserError, 'PDFファイルではありません'):
            self.import_as(self.reader, b'plain text', 'note.pdf')
        with self.assertRaisesRegex(UserError, '日付'):
            self.import_as(
                self.reader,
                zip_of({'a.pdf': contract_pdf(), 'm.csv': csv_of([['file', '取引年月日'], ['a.pdf', '昨日']])}),
                'x.zip',
            )

    def test_an_unreachable_tsa_stores_nothing(self):
        self.env['ir.config_parameter'].sudo().set_param('cloudstamp.tsa_url', 'http://127.0.0.1:9/tsa')
        before = self.stored()
        with self.assertRaisesRegex(UserError, 'could not be timestamped'):
            self.import_as(self.reader, contract_pdf(), 'a.pdf')
        self.assertEqual(self.stored(), before)

    def test_only_readers_import(self):
        sender = new_sender(self.env, 'sales@cloudstamp.example')
        with self.assertRaises(AccessError):
            self.import_as(sender, contract_pdf(), 'a.pdf')

    def test_the_import_suggests_what_the_text_says(self):
        # we are 甲: our own name in the text is never the counterparty
        self.env.company.name = '株式会社サンプル商事'
        pdf = text_pdf(
            [
                '業務委託契約書',
                '株式会社サンプル商事（以下「甲」という）と東邦テスト工業株式会社（以下「乙」という）は',
                '契約金額 合計 ３，３００，０００円（税込）',
                '契約期間 2026年4月1日から2027年3月31日まで',
                '令和8年3月15日',
            ]
        )
        contract = self.import_as(self.reader, pdf, 'outsourcing.pdf', partner_id=False)
        self.assertEqual(
            (str(contract.suggested_transaction_date), contract.suggested_amount, contract.suggested_partner_id),
            ('2026-03-15', 3_300_000, self.partner),
        )
        self.assertTrue(contract.has_suggestions)
        # a value someone entered is never replaced
        contract.with_user(self.reader).write({'amount': 3_000_000})
        contract.with_user(self.reader).action_apply_suggestions()
        self.assertEqual(
            (str(contract.transaction_date), contract.amount, contract.partner_id),
            ('2026-03-15', 3_000_000, self.partner),
        )
        self.assertFalse(contract.has_suggestions)
        # and suggestions are the workflow's: nobody writes them
        with self.assertRaises(AccessError):
            contract.with_user(self.reader).write({'suggested_amount': 1})
