import base64
import shutil

from odoo.tests import tagged

from .common import CloudStampFlowCase

BROWSERS = ('chromium', 'google-chrome', 'chromium-browser')


@tagged('post_install', '-at_install')
class TestRecipientTour(CloudStampFlowCase):
    def test_recipient_walks_code_terms_documents_agree_in_chromium(self):
        # Odoo skips tours without a browser; for us that is a failure.
        self.assertTrue(any(shutil.which(b) for b in BROWSERS), 'no Chromium on PATH: run `make setup`')
        envelope = self.make_envelope(
            [{'name': '山田 太郎', 'email': 'yamada@client.example', 'access_code': 'Sakura2026'}]
        )
        envelope.action_send()
        token = self.new_link('yamada@client.example')
        self.start_tour(f'/cloudstamp/r/{token}', 'cloudstamp_recipient_tour')
        recipient = envelope.recipient_ids
        self.assertEqual(recipient.state, 'agreed')
        self.assertTrue(recipient.terms_accepted_at and recipient.opened_at)
        self.assertEqual(envelope.state, 'finalizing')
        self.finalize()
        self.assertEqual(envelope.state, 'completed')
        report = self.service._verify_pdf(base64.b64decode(envelope.file_ids.signed_file))
        self.assertEqual(
            [(s.actor, s.is_document_timestamp) for s in report.signatures],
            [('sales@cloudstamp.example', False), ('yamada@client.example', False), ('', True)],
        )
