"""What the recipient pages refuse, hide and record (security review
findings 4, 7, 9, 13 and 16), over real HTTP and SMTP."""

import base64
import hashlib
import io
import logging
from unittest.mock import patch

from pypdf import PdfReader

from odoo import Command
from odoo.tests import tagged
from odoo.tools import config

from odoo.addons.cloudstamp_portal.link_redaction import RedactRecipientLinks

from ..models.cloudstamp_recipient import MAX_CODE_ATTEMPTS
from .common import CloudStampFlowCase, form_fields

CODED = {
    'name': '山田 太郎',
    'email': 'yamada@client.example',
    'company_name': '株式会社クライアント',
    'access_code': 'Sakura2026',
}
PLAIN = {'name': 'Bob Buyer', 'email': 'bob@client.example', 'lang': 'en_US'}


@tagged('post_install', '-at_install')
class TestRecipientSecurity(CloudStampFlowCase):
    def fresh_session(self):
        self.opener.cookies.clear()

    def events(self, envelope, event_type):
        return envelope.sudo().event_ids.filtered(lambda e: e.event_type == event_type)

    def complete(self, recipient_values):
        envelope, token = self.sent_to(recipient_values, open_documents=True)
        self.post(token, 'agree')
        self.finalize()
        self.assertEqual(envelope.state, 'completed')
        self.deliver()
        return envelope, token

    # -- finding 4: links are never stored --------------------------------
    def test_no_stored_message_holds_a_live_link(self):
        envelope = self.make_envelope([CODED])
        envelope.action_send()
        self.env.flush_all()
        Message = self.env['mail.message']
        self.assertFalse(Message.with_user(self.sender).search([('body', 'ilike', '/cloudstamp/r/')]))
        self.assertFalse(self.env['mail.mail'].sudo().search([('body_html', 'ilike', '/cloudstamp/r/')]))
        token = self.new_link(CODED['email'])
        recipient = envelope.recipient_ids
        self.assertEqual(self.env['cloudstamp.recipient']._from_token(token), recipient)
        self.assertFalse(Message.sudo().search([('body', 'ilike', token)]))
        self.assertFalse(
            self.env['mail.mail'].sudo().with_context(active_test=False).search([('body_html', 'ilike', token)])
        )
        # a mail that carries the placeholder but goes to someone else gets no link
        self.env['mail.mail'].sudo().create(
            {
                'email_to': 'eve@evil.example',
                'subject': 'x',
                'cloudstamp_link_recipient_id': recipient.id,
                'body_html': f'<a href="{recipient._new_link()[0]["link"]}">x</a>',
            }
        )
        mail = self.mail_to(self.deliver(), 'eve@evil.example')
        self.assertNotIn(token, self.body(mail))
        self.assertNotIn('/cloudstamp/r/', self.body(mail))

    # -- finding 9: code, lock and state on every route ---------------------
    def test_a_completed_envelope_still_needs_the_access_code(self):
        envelope, token = self.complete(CODED)
        document = envelope.file_ids
        self.fresh_session()
        self.assertEqual(self.url_open(f'/cloudstamp/r/{token}/file/{document.id}').status_code, 404)
        self.assertEqual(self.url_open(f'/cloudstamp/r/{token}/certificate').status_code, 404)
        self.assertIn('access_code', self.page(token).text)
        self.post(token, 'code', {'access_code': CODED['access_code']})
        self.assertIn('o_cloudstamp_completed', self.page(token).text)
        self.assertEqual(self.url_open(f'/cloudstamp/r/{token}/file/{document.id}').content, document._current_pdf())
        self.assertEqual(self.url_open(f'/cloudstamp/r/{token}/certificate').status_code, 200)

    def test_a_locked_link_serves_nothing_even_after_completion(self):
        envelope, token = self.complete(CODED)
        self.fresh_session()
        for attempt in range(MAX_CODE_ATTEMPTS):
            self.post(token, 'code', {'access_code': f'wrong-{attempt}'})
        recipient = envelope.recipient_ids
        self.assertTrue(recipient.locked)
        self.post(token, 'code', {'access_code': CODED['access_code']})
        self.assertIn('o_cloudstamp_locked', self.page(token).text)
        self.assertEqual(self.url_open(f'/cloudstamp/r/{token}/file/{envelope.file_ids.id}').status_code, 404)
        self.assertEqual(self.url_open(f'/cloudstamp/r/{token}/certificate').status_code, 404)
        # the sender unlocks; the new link passes the code page
        recipient.with_user(self.sender).action_unlock()
        new_token = self.new_link(CODED['email'])
        self.fresh_session()
        self.post(new_token, 'code', {'access_code': CODED['access_code']})
        self.assertIn('o_cloudstamp_completed', self.page(new_token).text)
        self.assertEqual(envelope._verify_trail(), '')

    def test_codes_count_only_where_a_code_can_open_something(self):
        # a recipient who already agreed, while the next one's turn runs
        envelope = self.make_envelope([CODED, PLAIN])
        envelope.action_send()
        token = self.new_link(CODED['email'])
        self.open_documents(token, code=CODED['access_code'])
        self.post(token, 'agree')
        events = len(envelope.sudo().event_ids)
        for attempt in range(MAX_CODE_ATTEMPTS + 1):
            self.post(token, 'code', {'access_code': f'wrong-{attempt}'})
        self.assertEqual(len(envelope.sudo().event_ids), events)
        self.assertFalse(envelope.recipient_ids[0].locked)
        # a link without an access code cannot be locked
        token_b = self.new_link(PLAIN['email'])
        for attempt in range(MAX_CODE_ATTEMPTS + 1):
            self.post(token_b, 'code', {'access_code': f'wrong-{attempt}'})
        self.assertFalse(envelope.recipient_ids[1].locked)
        self.assertFalse(self.events(envelope, 'code_failed'))
        self.open_documents(token_b)

    # -- finding 13: evidence quality ------------------------------------------
    def test_opening_is_recorded_on_the_first_deliberate_step_not_on_a_get(self):
        envelope, token = self.sent_to(PLAIN)
        for _fetch in range(3):  # a mail scanner, say
            self.page(token)
        recipient = envelope.recipient_ids
        self.assertEqual(recipient.state, 'notified')
        self.assertFalse(self.events(envelope, 'opened'))
        self.open_documents(token)
        self.assertEqual(recipient.state, 'opened')
        self.assertEqual(self.events(envelope, 'opened').actor, PLAIN['email'])

    def test_wrong_code_attempts_are_not_the_recipients_evidence(self):
        envelope, token = self.sent_to(CODED)
        envelope.recipient_ids._check_access_code('guess-123', {'ip': '203.0.113.5', 'user_agent': 'bot'})
        failed = self.events(envelope, 'code_failed')
        self.assertEqual((failed.actor, failed.ip_address), ('unknown', '203.0.113.5'))
        self.open_documents(token, code=CODED['access_code'])
        self.post(token, 'agree')
        self.finalize()
        certificate = base64.b64decode(envelope.agreement_certificate_file)
        text = ''.join(page.extract_text() for page in PdfReader(io.BytesIO(certificate)).pages)
        self.assertNotIn('203.0.113.5', text)
        self.assertIn('127.0.0.1', text)

    def test_the_terms_shown_are_the_terms_recorded(self):
        self.env['res.config.settings'].create({'cloudstamp_terms': '<p>Article 1 version A</p>'}).execute()
        envelope, token = self.sent_to(PLAIN)
        page = self.page(token).text
        self.assertIn('Article 1 version A', page)
        # the terms change while the page is open: the old form is refused
        self.env['res.config.settings'].create({'cloudstamp_terms': '<p>Article 1 version B</p>'}).execute()
        stale = dict(form_fields(page), accept='1')
        response = self.url_open(f'/cloudstamp/r/{token}/terms', data=stale, allow_redirects=True)
        self.assertIn('o_cloudstamp_error', response.text)
        self.assertIn('Article 1 version B', response.text)
        self.assertFalse(envelope.recipient_ids.terms_accepted_at)
        self.open_documents(token)
        accepted = self.events(envelope, 'terms_accepted')
        self.assertEqual(
            accepted.details,
            {'terms_sha256': hashlib.sha256(b'<p>Article 1 version B</p>').hexdigest(), 'lang': 'en_US'},
        )

    def test_the_sender_reads_notes_in_their_own_language(self):
        """An English recipient's revision request, for a Japanese sender:
        the chatter note and the activity are in Japanese, the workflow
        speaks as OdooBot, and nobody reads "Public user"."""
        self.sender.lang = 'ja_JP'
        envelope, token = self.sent_to(PLAIN, open_documents=True)
        self.post(token, 'revision', {'comment': 'Please fix article 3'})
        self.assertEqual(envelope.state, 'revision')
        bodies = envelope.message_ids.mapped('body')
        self.assertTrue(
            any('修正依頼がありました' in (body or '') and 'コメント: Please fix article 3' in body for body in bodies),
            bodies,
        )
        self.assertEqual(envelope.activity_ids.summary, 'クラウドスタンプ: 修正依頼')
        authors = envelope.message_ids.author_id
        self.assertIn(self.env.ref('base.partner_root'), authors)
        self.assertNotIn(self.env.ref('base.public_partner'), authors)

    # -- finding 16: pages ------------------------------------------------------
    def test_pages_say_nothing_before_the_code_and_are_hardened(self):
        envelope, token = self.sent_to(CODED, name='極秘 合併契約書')
        response = self.page(token)
        for secret in ('極秘 合併契約書', envelope.document_ref, CODED['name'], self.sender.name):
            self.assertNotIn(secret, response.text)
        self.assertEqual(response.headers['X-Frame-Options'], 'DENY')
        self.assertIn("frame-ancestors 'none'", response.headers['Content-Security-Policy'])
        self.assertEqual(response.headers['Referrer-Policy'], 'no-referrer')
        self.assertIn('no-store', response.headers['Cache-Control'])
        self.assertEqual(self.url_open(f'/cloudstamp/r/{token}?recipient=1').status_code, 200)
        self.post(token, 'code', {'access_code': CODED['access_code']})
        self.assertIn('極秘 合併契約書', self.page(token).text)

    def test_a_signing_failure_shows_a_generic_message(self):
        envelope, token = self.sent_to(PLAIN, open_documents=True)
        self.env['ir.config_parameter'].sudo().set_param('cloudstamp.tsa_url', 'http://127.0.0.1:9/tsa')
        with self.assertLogs('odoo.addons.cloudstamp_sign.models.cloudstamp_signing_service', 'WARNING'):
            response = self.post(token, 'agree')
        self.env['ir.config_parameter'].sudo().set_param('cloudstamp.tsa_url', '')
        self.assertIn('o_cloudstamp_error', response.text)
        self.assertNotIn('127.0.0.1:9', response.text)
        self.assertNotIn('Time stamping', response.text)
        self.assertEqual(envelope.state, 'sent')
        self.post(token, 'agree')
        self.assertEqual(envelope.state, 'finalizing')

    def test_links_do_not_reach_the_server_log(self):
        record = logging.LogRecord(
            'werkzeug',
            logging.INFO,
            __file__,
            1,
            '%s - - "%s" %s -',
            ('127.0.0.1', 'GET /cloudstamp/r/SECRETtoken_-123/file/4 HTTP/1.1', '200'),
            None,
        )
        self.assertTrue(any(isinstance(f, RedactRecipientLinks) for f in logging.getLogger('werkzeug').filters))
        RedactRecipientLinks().filter(record)
        self.assertNotIn('SECRETtoken', record.getMessage())
        self.assertIn('/cloudstamp/r/…/file/4', record.getMessage())

    # -- finding 7: rate limits and addresses ---------------------------------
    def test_guessing_is_slowed_down_but_valid_links_still_open(self):
        self.env['cloudstamp.access.failure'].sudo().search([]).unlink()  # a clean slate for 127.0.0.1
        envelope, token = self.sent_to(PLAIN)
        for attempt in range(20):
            self.page(f'guess-{attempt:02d}-' + 'x' * 30, expect=404)
        self.page('guess-99-' + 'x' * 30, expect=429)
        self.page(token)  # the recipient behind the same address is not locked out
        self.open_documents(token)

    def test_a_forwarded_for_header_is_ignored_without_proxy_mode(self):
        envelope, token = self.sent_to(PLAIN)
        html = self.page(token).text
        payload = dict(form_fields(html), accept='1')
        self.url_open(
            f'/cloudstamp/r/{token}/terms',
            data=payload,
            headers={'X-Forwarded-For': '203.0.113.9', 'X-Forwarded-Host': 'evil.example'},
        )
        self.assertEqual(self.events(envelope, 'terms_accepted').ip_address, '127.0.0.1')

    def test_behind_a_proxy_the_address_is_the_one_the_proxy_appended(self):
        """With proxy_mode, a client may send its own X-Forwarded-For; the
        proxy appends the real address, and that last entry is what Odoo
        records and rate-limits (README: proxy mode)."""
        envelope, token = self.sent_to(PLAIN)
        payload = dict(form_fields(self.page(token).text), accept='1')
        with patch.dict(config.options, {'proxy_mode': True}):
            self.url_open(
                f'/cloudstamp/r/{token}/terms',
                data=payload,
                headers={
                    'X-Forwarded-For': '198.51.100.1, 203.0.113.77',
                    'X-Forwarded-Host': 'sign.example.jp',
                    'X-Forwarded-Proto': 'https',
                },
            )
        self.assertEqual(self.events(envelope, 'terms_accepted').ip_address, '203.0.113.77')

    def test_header_injection_in_a_forward_changes_nothing(self):
        envelope, token = self.sent_to(PLAIN, open_documents=True)
        response = self.post(token, 'forward', {'name': 'Eve', 'email': 'a@b.example\r\nBcc: evil@example.test'})
        self.assertIn('o_cloudstamp_error', response.text)
        self.assertEqual(envelope.recipient_ids.mapped('email'), [PLAIN['email']])
        self.assertFalse(self.events(envelope, 'forwarded'))
        self.assertFalse([rcpts for rcpts, _m in self.deliver() if 'evil@example.test' in rcpts])

    def test_refusals_speak_the_recipients_language(self):
        envelope, token = self.sent_to(CODED, open_documents=True)
        response = self.post(token, 'forward', {'name': '鈴木', 'email': 'suzuki@a.example, eve@b.example'})
        self.assertIn('有効なメールアドレスを1件入力してください', response.text)
        self.assertEqual(envelope.recipient_ids.mapped('email'), [CODED['email']])

    def test_the_completion_mail_hides_the_parties_from_each_other(self):
        envelope = self.make_envelope(
            [PLAIN, dict(PLAIN, name='Carol', email='carol@other.example')],
            cc_partner_ids=[Command.create({'name': 'Legal', 'email': 'legal@cloudstamp.example'})],
        )
        envelope.action_send()
        for address in (PLAIN['email'], 'carol@other.example'):
            token = self.new_link(address)
            self.open_documents(token)
            self.post(token, 'agree')
        self.finalize()
        # one mail per language (English recipients, Japanese sender and CC)
        completion = [(r, m) for r, m in self.deliver() if len(list(m.iter_attachments())) == 2]
        parties = ['sales@cloudstamp.example', PLAIN['email'], 'carol@other.example', 'legal@cloudstamp.example']
        self.assertEqual(sorted(a for rcpts, _m in completion for a in rcpts), sorted(parties))
        for _rcpts, mail in completion:
            for address in parties:
                self.assertNotIn(address, mail.get('To', ''))
                self.assertNotIn(address, mail.get('Cc', ''))
            self.assertIsNone(mail.get('Bcc'))
