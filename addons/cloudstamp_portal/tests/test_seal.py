"""Seals (印影): placed by a recipient before agreeing and by the sender before
sending, they become the visible appearance of that person's signature, in
the same revision, and every signature stays valid (pyHanko and pdfsig).
Hostile form data is refused with a message, and nothing is signed."""

import base64
import shutil

from odoo.exceptions import AccessError, UserError
from odoo.tests import tagged

from cloudstamp_engine.seal import seal_appearance_texts, seal_text
from cloudstamp_engine.verify import Verdict
from cloudstamp_engine_testing.checkers import assert_pdfsig_accepts

from .common import CloudStampFlowCase, form_fields

BROWSERS = ('chromium', 'google-chrome', 'chromium-browser')
# contract_pdf pages are A4: 595 x 842 points.
CENTRE = {'seal_page': '0', 'seal_x': '297.5', 'seal_y': '421'}


def seal_rects(data):
    """The boxes of the visible signature widgets, in the order signed."""
    from io import BytesIO  # noqa: PLC0415

    from pyhanko.pdf_utils.reader import PdfFileReader  # noqa: PLC0415
    from pyhanko.sign.fields import enumerate_sig_fields  # noqa: PLC0415

    rects = []
    for _name, _value, ref in enumerate_sig_fields(PdfFileReader(BytesIO(data))):
        x1, y1, x2, y2 = (float(v) for v in ref.get_object().get('/Rect', (0, 0, 0, 0)))
        if x2 - x1 > 0:
            rects.append((x1, y1, x2, y2))
    return rects


@tagged('post_install', '-at_install')
class TestSeal(CloudStampFlowCase):
    def signed(self, envelope):
        return base64.b64decode(envelope.file_ids[:1].signed_file)

    def assert_valid(self, data, count, document_timestamps=0):
        report = self.service._verify_pdf(data)
        self.assertEqual(report.verdict, Verdict.VALID, report.problems)
        self.assertEqual(len(report.signatures), count)
        assert_pdfsig_accepts(data, self.root_pem, expected_count=count, document_timestamps=document_timestamps)
        return report

    def test_recipient_agrees_with_a_seal_of_their_company(self):
        envelope, token = self.sent_to(
            {'name': '山田 太郎', 'email': 'yamada@client.example', 'company_name': '株式会社 山田商事'},
            open_documents=True,
        )
        page = self.page(token).text
        # The picker offers both texts as the engine writes them (no spaces).
        self.assertIn('o_cloudstamp_seal', page)
        self.assertIn('山田太郎', page)
        self.assertIn('株式会社山田商事', page)
        file = envelope.file_ids
        response = self.post(
            token,
            'agree',
            {'seal_file_id': str(file.id), **CENTRE, 'seal_shape': 'square', 'seal_source': 'company'},
        )
        self.assertNotIn('o_cloudstamp_error', response.text)
        self.assertEqual(envelope.recipient_ids.state, 'agreed')
        data = self.signed(envelope)
        # Sent invisibly, agreed visibly: only the agreement carries a seal.
        self.assertEqual(list(seal_appearance_texts(data).values()), [seal_text('株式会社 山田商事')])
        report = self.assert_valid(data, 2)
        self.assertEqual([s.action for s in report.signatures], ['send', 'agree'])
        self.assertEqual(seal_rects(data), [(270.5, 394.0, 324.5, 448.0)])  # 54 pt around the centre
        agreed = envelope.sudo().event_ids.filtered(lambda e: e.event_type == 'agreed')
        self.assertEqual(
            agreed.details['seal'], {'file': file.name, 'page': 1, 'shape': 'square', 'text': '株式会社山田商事'}
        )

    def test_sender_seal_is_placed_on_their_page_and_signed_in_on_send(self):
        envelope = self.make_envelope([{'name': 'Sato', 'email': 'sato@client.example', 'lang': 'en_US'}])
        self.sender.name = 'Mitchell Admin'
        self.authenticate('admin', 'admin')
        url = f'/cloudstamp/envelope/{envelope.id}/seal'
        page = self.url_open(url)
        self.assertEqual(page.status_code, 200)
        self.assertIn('o_cloudstamp_seal', page.text)
        self.assertIn(seal_text('Mitchell Admin'), page.text)
        fields = form_fields(page.text)
        file = envelope.file_ids
        # A hostile position is refused with a message and stores nothing.
        bad = self.url_open(url, data=dict(fields, seal_file_id=str(file.id), seal_page='0', seal_x='nan', seal_y='1'))
        self.assertEqual(bad.status_code, 400)
        self.assertIn('The seal position is not valid', bad.text)
        self.assertFalse(envelope.sender_seal_file_id)
        saved = self.url_open(
            url,
            data=dict(
                fields,
                seal_file_id=str(file.id),
                seal_page='0',
                seal_x='100',
                seal_y='700',
                seal_shape='round',
                seal_source='name',
            ),
        )
        self.assertEqual(saved.status_code, 200)  # redirected to the form
        envelope.invalidate_recordset()
        self.assertEqual(
            (envelope.sender_seal_file_id, envelope.sender_seal_page, envelope.sender_seal_x, envelope.sender_seal_y),
            (file, 0, 100.0, 700.0),
        )
        self.assertIn('o_cloudstamp_seal', self.url_open(url).text)  # shown again, placed
        envelope.action_send()
        data = self.signed(envelope)
        self.assertEqual(list(seal_appearance_texts(data).values()), ['MitchellAd'])  # 10 characters at most
        self.assert_valid(data, 1)
        self.assertEqual(seal_rects(data), [(73.0, 673.0, 127.0, 727.0)])
        sent = envelope.sudo().event_ids.filtered(lambda e: e.event_type == 'sent')
        self.assertEqual(sent.details['seal']['text'], 'MitchellAd')
        # Sent: the seal is evidence now, like every other field.
        with self.assertRaises(AccessError):
            envelope.with_user(self.sender).write({'sender_seal_x': 200})
        self.assertEqual(self.url_open(url, data=dict(fields, seal_file_id='')).status_code, 409)

    def test_sender_seal_checked_on_write_and_company_seal_on_send(self):
        envelope = self.make_envelope([{'name': 'Sato', 'email': 'sato@client.example'}])
        other = self.make_envelope([{'name': 'Sato', 'email': 'sato@client.example'}])
        as_sender = envelope.with_user(self.sender)
        for values in (
            {'sender_seal_file_id': other.file_ids.id},  # another envelope's file
            {'sender_seal_file_id': envelope.file_ids.id, 'sender_seal_page': 3},  # no such page
            {'sender_seal_file_id': envelope.file_ids.id, 'sender_seal_x': float('inf')},
        ):
            with self.assertRaises(UserError), self.cr.savepoint():
                as_sender.write(values)
        as_sender.write(
            {
                'sender_seal_file_id': envelope.file_ids.id,
                'sender_seal_x': 500,
                'sender_seal_y': 60,
                'sender_seal_shape': 'square',
                'sender_seal_source': 'company',
            }
        )
        as_sender.action_send()
        data = self.signed(envelope)
        self.assertEqual(list(seal_appearance_texts(data).values()), [seal_text(envelope.company_id.name)])
        self.assert_valid(data, 1)

    def test_hostile_seal_form_data_signs_nothing(self):
        envelope, token = self.sent_to(
            {'name': 'Jane Roe', 'email': 'jane@client.example', 'lang': 'en_US'}, open_documents=True
        )
        other = self.make_envelope([{'name': 'X', 'email': 'x@client.example'}])
        file = envelope.file_ids
        hashes = file.revision_hashes
        invalid = 'The seal position is not valid. Please place the seal again.'
        good = {'seal_file_id': str(file.id), 'seal_page': '0', 'seal_x': '300', 'seal_y': '400'}
        for changes, message in (
            ({'seal_page': 'abc'}, invalid),
            ({'seal_x': 'NaN'}, invalid),
            ({'seal_y': '1e309'}, invalid),  # infinity
            ({'seal_x': '9' * 40}, invalid),  # cut to 32 digits: still far off any page
            ({'seal_page': '7'}, invalid),
            ({'seal_page': '-1'}, invalid),
            ({'seal_file_id': str(other.file_ids.id)}, invalid),
            ({'seal_file_id': 'x'}, invalid),
            ({'seal_shape': 'hexagon'}, invalid),
            ({'seal_source': 'partner'}, invalid),
            # No company name on this recipient.
            ({'seal_source': 'company'}, 'There is no company name to put on the seal'),
            # Inside the page's box by numbers, but the seal would stick out.
            (
                {'seal_x': '3', 'seal_y': '3'},
                'The seal could not be placed there. Please choose a spot inside the page.',
            ),
        ):
            with self.subTest(changes=changes):
                response = self.post(token, 'agree', dict(good, **changes))
                self.assertIn(message, response.text)
                self.assertIn('o_cloudstamp_error', response.text)
                envelope.invalidate_recordset()
                file.invalidate_recordset()
                self.assertEqual(envelope.recipient_ids.state, 'opened')
                self.assertEqual(file.revision_hashes, hashes)
        self.assertFalse(seal_appearance_texts(self.signed(envelope)))

    def test_recipient_places_a_seal_in_chromium_and_agrees(self):
        # Odoo skips tours without a browser; for us that is a failure.
        self.assertTrue(any(shutil.which(b) for b in BROWSERS), 'no Chromium on PATH: run `make setup`')
        envelope = self.make_envelope(
            [{'name': '山田 太郎', 'email': 'yamada@client.example', 'company_name': '山田商事'}]
        )
        envelope.action_send()
        token = self.new_link('yamada@client.example')
        self.start_tour(f'/cloudstamp/r/{token}', 'cloudstamp_seal_tour')
        self.assertEqual(envelope.recipient_ids.state, 'agreed')
        data = self.signed(envelope)
        self.assertEqual(list(seal_appearance_texts(data).values()), ['山田太郎'])
        self.assert_valid(data, 2)
        # The tour clicked the middle of page 1's text layer (the whole
        # page): the seal's centre is there, within a few points.
        [(x1, y1, x2, y2)] = seal_rects(data)
        self.assertAlmostEqual((x1 + x2) / 2, 297.5, delta=3)
        self.assertAlmostEqual((y1 + y2) / 2, 421, delta=3)
