import base64
from pathlib import Path

from odoo.tests import tagged

from .common import CloudStampFlowCase, form_fields

ATTACKS = Path(__file__).resolve().parents[3] / 'cloudstamp_engine' / 'tests' / 'data' / 'pdf-attacks'


@tagged('post_install', '-at_install')
class TestVerifyPage(CloudStampFlowCase):
    """/cloudstamp/verify, over HTTP and without an account."""

    def upload(self, data, filename='contract.pdf', lang='en_US'):
        form = form_fields(self.url_open(f'/cloudstamp/verify?lang={lang}').text)
        return self.url_open(
            '/cloudstamp/verify', data=dict(form, lang=lang), files={'pdf': (filename, data, 'application/pdf')}
        )

    def completed_pdf(self):
        envelope, token = self.sent_to({'name': '佐藤 一郎', 'email': 'sato@client.example'}, open_documents=True)
        self.post(token, 'agree')
        self.finalize()
        return envelope, base64.b64decode(envelope.file_ids.signed_file)

    def test_our_final_pdf_is_valid_known_and_identical(self):
        envelope, final = self.completed_pdf()
        page = self.upload(final).text
        self.assertIn('o_cloudstamp_verdict_valid', page)
        self.assertIn(envelope.document_ref, page)
        self.assertIn('identical to its final version', page)
        self.assertIn('sato@client.example', page, 'who signed, as the file itself says')
        self.assertNotIn(envelope.name, page, 'nothing else about the contract')
        self.assertEqual(page.count('<tr>') - 1, 3, 'send, agree and the archive timestamp')
        # B-LTA: the material is in the file, and the evidence lasts as long as the archive TSA's certificate
        self.assertIn('Validation material (certificates and revocation lists) is embedded', page)
        valid_until = envelope.file_ids.evidence_valid_until.strftime('%Y-%m-%d')
        self.assertIn(f'<strong class="o_cloudstamp_valid_until">{valid_until}</strong>', page)
        japanese = self.upload(final, lang='ja_JP').text
        self.assertIn('ドキュメントタイムスタンプ', japanese)
        self.assertIn('検証情報（証明書と失効リスト）がファイルに埋め込まれています', japanese)

    def test_a_plain_b_t_file_says_nothing_is_embedded(self):
        envelope, token = self.sent_to({'name': '佐藤 一郎', 'email': 'sato@client.example'}, open_documents=True)
        sent = base64.b64decode(envelope.file_ids.signed_file)
        page = self.upload(sent).text
        self.assertIn('No validation material is embedded', page)

    def test_a_changed_copy_is_not_valid_and_says_why_in_japanese(self):
        envelope, final = self.completed_pdf()
        page = self.upload(final + b'\n% appended\n', lang='ja_JP').text
        self.assertIn('o_cloudstamp_verdict_invalid', page)
        self.assertIn('ファイルの末尾の後にデータが追加されています', page)
        self.assertIn('最終版とは異なります', page)
        self.assertIn('署名付きPDFの検証', page)

    def test_hostile_uploads_get_a_page_never_an_error(self):
        samples = [b'not a pdf', b'%PDF-1.7\n' + b'\xff' * 5000] + [
            p.read_bytes() for p in sorted(ATTACKS.rglob('*.pdf'))
        ]
        self.assertGreater(len(samples), 5, 'the attack files are in the repository')
        for data in samples:
            response = self.upload(data)
            self.assertEqual(response.status_code, 200)
            self.assertIn('o_cloudstamp_verdict', response.text)
        self.assertFalse(self.env['ir.attachment'].sudo().search([('name', '=', 'contract.pdf')]), 'nothing stored')

    def test_size_and_rate_limits(self):
        too_big = self.upload(b'%PDF-1.7\n' + b'0' * (8 * 1024 * 1024 + 10))
        self.assertEqual(too_big.status_code, 413)
        self.assertIn('larger than 8 MB', too_big.text)
        statuses = [self.upload(b'not a pdf').status_code for _ in range(31)]
        self.assertEqual(statuses[-1], 429)
        self.assertIn('Too many files', self.upload(b'x').text)
        # the recipient pages keep their own budget
        failures = self.env['cloudstamp.access.failure']
        self.assertFalse(failures._is_blocked(failures._client_key('127.0.0.1')))

    def test_a_counterparty_verifies_a_file_in_chromium(self):
        _envelope, final = self.completed_pdf()
        sample = self.env['ir.attachment'].create(
            {'name': 'final.pdf', 'raw': final, 'mimetype': 'application/pdf', 'public': True}
        )
        self.start_tour(
            f'/cloudstamp/verify?lang=ja_JP&sample=/web/content/{sample.id}%3Fdownload%3Dtrue', 'cloudstamp_verify_tour'
        )
