import base64
from datetime import UTC, datetime, timedelta

from odoo import Command, fields
from odoo.exceptions import UserError
from odoo.tests import tagged

from cloudstamp_engine import Verdict, validate_lta
from cloudstamp_engine_testing.checkers import assert_pdfsig_accepts
from cloudstamp_engine_testing.tsa_server import Rfc3161HttpServer

from .common import CloudStampFlowCase

A = {
    'name': '山田 太郎',
    'email': 'yamada@client.example',
    'company_name': '株式会社クライアント',
    'access_code': 'Sakura2026',
}
B = {'name': 'Bob Buyer', 'email': 'bob@client.example', 'lang': 'en_US', 'may_forward': True}
C = {'name': '鈴木 花子', 'email': 'suzuki@partner.example'}


@tagged('post_install', '-at_install')
class TestRecipientFlow(CloudStampFlowCase):
    def test_full_flow_with_three_recipients_one_of_whom_forwards(self):
        # As in production, every timestamp comes from a TSA over HTTP.
        with Rfc3161HttpServer(self.env['cloudstamp.pki.certificate']._identity('tsa')) as tsa:
            self.env['ir.config_parameter'].sudo().set_param('cloudstamp.tsa_url', tsa.url)
            self._full_flow()
        # 2 PDFs x (send, agree, forward, agree, agree, archive timestamp)
        # + the certificate and its archive timestamp + the completion event
        self.assertEqual(tsa.request_count, 15)

    def _full_flow(self):
        envelope = self.make_envelope(
            [A, B, C],
            documents=2,
            cc_partner_ids=[Command.create({'name': 'Legal', 'email': 'legal@cloudstamp.example'})],
        )
        envelope.action_send()
        self.assertEqual(envelope.state, 'sent')
        # The document ID is printed on page 1 of every PDF, under the send signature
        for document in envelope.file_ids:
            self.assertIn(envelope.document_ref.encode(), base64.b64decode(document.signed_file))

        # A: access code, terms, documents, agree — in Japanese
        mail = self.mail_to(self.deliver(), A['email'])
        self.assertIn('業務委託契約書', mail['Subject'])
        self.assertIn('確認', mail['Subject'])
        token_a = self.link_in(mail)
        self.assertIn('アクセスコード', self.page(token_a).text)
        self.open_documents(token_a, code=A['access_code'])
        document = envelope.file_ids[0]
        pdf = self.url_open(f'/cloudstamp/r/{token_a}/file/{document.id}')
        self.assertEqual(pdf.headers['Content-Type'], 'application/pdf')
        self.assertEqual(pdf.content, base64.b64decode(document.signed_file))
        self.post(token_a, 'agree')
        self.assertEqual(envelope.recipient_ids.filtered(lambda r: r.email == A['email']).state, 'agreed')

        # B forwards to D, who has the authority
        mail = self.mail_to(self.deliver(), B['email'])
        self.assertIn('Please review', mail['Subject'])  # B reads English
        token_b = self.link_in(mail)
        self.open_documents(token_b)
        response = self.post(
            token_b, 'forward', {'name': 'Dan Director', 'email': 'dan@client.example', 'message': 'Please approve'}
        )
        self.assertIn('o_cloudstamp_forwarded', response.text)
        self.page(token_b, expect=404)  # the forwarder's link died
        mail = self.mail_to(self.deliver(), 'dan@client.example')
        self.assertIn('Please approve', self.body(mail))
        token_d = self.link_in(mail)
        self.open_documents(token_d)
        self.post(token_d, 'agree')

        # C agrees last
        token_c = self.new_link(C['email'])
        self.open_documents(token_c)
        self.post(token_c, 'agree')
        self.assertEqual(envelope.state, 'finalizing')
        self.assertIn('すべての当事者が合意しました', self.page(token_c).text)  # C reads Japanese
        self.finalize()
        self.assertEqual(envelope.state, 'completed')

        # Completion: every party, forwarder and CC get the PDFs and the certificate
        final_mails = self.deliver()
        for address in (
            'sales@cloudstamp.example',
            A['email'],
            B['email'],
            'dan@client.example',
            C['email'],
            'legal@cloudstamp.example',
        ):
            message = self.mail_to(final_mails, address)
            names = sorted(part.get_filename() for part in message.iter_attachments())
            self.assertEqual(len(names), 3, names)
            self.assertTrue(any(name.endswith('_certificate.pdf') for name in names))

        # Evidence: five signatures in order, valid by pyHanko and by pdfsig
        for document in envelope.file_ids:
            data = base64.b64decode(document.signed_file)
            report = self.service._verify_pdf(data)
            self.assertEqual(report.verdict, Verdict.VALID, report.problems)
            self.assertEqual(
                [(s.action, s.actor) for s in report.signatures],
                [
                    ('send', 'sales@cloudstamp.example'),
                    ('agree', A['email']),
                    ('forward', B['email']),
                    ('agree', 'dan@client.example'),
                    ('agree', C['email']),
                    # PAdES B-LTA: validation material, then the archive timestamp
                    ('archive', ''),
                ],
            )
            self.assertTrue(report.signatures[-1].is_document_timestamp)
            assert_pdfsig_accepts(data, self.root_pem, expected_count=6, document_timestamps=1)
            roots = self.env['cloudstamp.pki.certificate']._trust_roots()
            lta = validate_lta(data, roots, datetime.now(UTC))
            self.assertEqual([s.passed for s in lta], [True] * 5, lta)
            self.assertEqual(
                [h['action'] for h in document.revision_hashes],
                ['upload', 'send', 'agree', 'forward', 'agree', 'agree', 'archive'],
            )
        certificate = base64.b64decode(envelope.agreement_certificate_file)
        report = self.service._verify_pdf(certificate)
        self.assertEqual(report.verdict, Verdict.VALID, report.problems)
        self.assertEqual(report.signatures[0].action, 'complete')
        # B-LTA like the documents: its signature, then the archive timestamp
        self.assertTrue(report.validation_material_embedded and report.signatures[-1].is_document_timestamp)
        self.assertEqual([s.passed for s in validate_lta(certificate, roots, datetime.now(UTC))], [True])
        assert_pdfsig_accepts(certificate, self.root_pem, expected_count=2, document_timestamps=1)
        self.assertEqual(envelope._verify_trail(), '')

        # Each recipient downloads the certificate through their link
        response = self.url_open(f'/cloudstamp/r/{token_a}/certificate')
        self.assertEqual(response.content, certificate)
        self.assertIn('o_cloudstamp_completed', self.page(token_c).text)

    def test_a_link_mail_leaves_at_once_not_with_the_queue(self):
        envelope = self.make_envelope([C])
        envelope.action_send()
        mail = self.env['mail.mail'].sudo().search([('cloudstamp_link_recipient_id', '=', envelope.recipient_ids.id)])
        self.assertEqual(mail.state, 'sent', 'sent when the transaction ends, not by the next queue run')
        token = self.link_in(self.mail_to(self.received(), C['email']))
        self.assertEqual(self.env['cloudstamp.recipient']._from_token(token), envelope.recipient_ids)
        self.assertNotIn('/cloudstamp/r/', mail.body_html, 'the stored body holds no live link')

    def test_wrong_access_codes_lock_the_link(self):
        envelope = self.make_envelope([A])
        envelope.action_send()
        token = self.new_link(A['email'])
        for attempt in range(4):
            response = self.post(token, 'code', {'access_code': f'wrong{attempt}'})
            self.assertIn('o_cloudstamp_error', response.text)
        recipient = envelope.recipient_ids
        self.assertFalse(recipient.locked)
        response = self.post(token, 'code', {'access_code': 'wrong-5'})
        self.assertIn('o_cloudstamp_locked', response.text)
        self.assertTrue(recipient.locked)
        # Even the right code no longer opens it; the documents stay out of reach
        response = self.post(token, 'code', {'access_code': A['access_code']})
        self.assertIn('o_cloudstamp_locked', response.text)
        document = envelope.file_ids[0]
        self.assertEqual(self.url_open(f'/cloudstamp/r/{token}/file/{document.id}').status_code, 404)
        # The sender is told by mail and in the chatter
        mail = self.mail_to(self.deliver(), 'sales@cloudstamp.example')
        self.assertIn('locked', mail['Subject'])
        self.assertTrue(envelope.message_ids.filtered(lambda m: A['email'] in (m.body or '')))
        # A reminder cannot help: the sender unlocks (after checking the code
        # with the recipient), which mails a fresh, working link
        with self.assertRaisesRegex(UserError, 'locked'):
            envelope.action_remind()
        recipient.with_user(self.sender).action_unlock()
        self.assertFalse(recipient.locked)
        self.assertEqual(recipient.failed_code_attempts, 0)
        new_token = self.new_link(A['email'])
        self.page(token, expect=404)
        self.open_documents(new_token, code=A['access_code'])
        self.assertEqual(
            envelope.event_ids.filtered(lambda e: e.event_type == 'unlocked').actor, 'sales@cloudstamp.example'
        )

    def test_right_code_after_wrong_codes(self):
        envelope = self.make_envelope([A])
        envelope.action_send()
        token = self.new_link(A['email'])
        self.post(token, 'code', {'access_code': 'nope'})
        self.open_documents(token, code=A['access_code'])
        self.assertEqual(envelope.recipient_ids.failed_code_attempts, 0)

    def test_decline_tells_the_sender_and_earlier_recipients(self):
        envelope = self.make_envelope([B, C])
        envelope.action_send()
        token_b = self.new_link(B['email'])
        self.open_documents(token_b)
        self.post(token_b, 'agree')
        token_c = self.new_link(C['email'])
        self.open_documents(token_c)
        self.post(token_c, 'decline', {'reason': '金額が違います'})
        self.assertEqual(envelope.state, 'declined')
        self.assertEqual(envelope.end_reason, '金額が違います')
        mails = self.deliver()
        self.assertIn('金額が違います', self.body(self.mail_to(mails, 'sales@cloudstamp.example')))
        self.mail_to(mails, B['email'])
        self.assertIn('o_cloudstamp_closed', self.page(token_c).text)

    def test_revision_request_then_revised_resend(self):
        envelope = self.make_envelope([C])
        envelope.action_send()
        token = self.new_link(C['email'])
        self.open_documents(token)
        self.post(token, 'revision', {'comment': '第3条の納期を修正してください'})
        self.assertEqual(envelope.state, 'revision')
        self.assertIn('第3条', self.body(self.mail_to(self.deliver(), 'sales@cloudstamp.example')))
        action = envelope.action_revise()
        revised = self.env['cloudstamp.envelope'].browse(action['res_id'])
        self.assertEqual(revised.revised_from_id, envelope)
        self.assertEqual(revised.state, 'draft')
        self.assertNotEqual(revised.document_ref, envelope.document_ref)
        self.assertEqual(revised.file_ids.mapped('original_sha256'), envelope.file_ids.mapped('original_sha256'))
        revised.action_send()
        token2 = self.new_link(C['email'])
        self.open_documents(token2)
        self.post(token2, 'agree')
        self.finalize()
        self.assertEqual(revised.state, 'completed')

    def test_expiry_and_reminder_kill_old_links(self):
        envelope = self.make_envelope([C])
        envelope.action_send()
        old = self.new_link(C['email'])
        envelope.action_remind()
        new = self.new_link(C['email'])
        self.assertNotEqual(old, new)
        self.page(old, expect=404)
        self.page(new)
        envelope.sudo().expiry_date = fields.Datetime.now() - timedelta(minutes=1)
        self.env['cloudstamp.envelope']._cron_expire()
        self.assertEqual(envelope.state, 'expired')
        self.assertNotIn('o_cloudstamp_agree', self.page(new).text)
        self.assertIn('o_cloudstamp_error', self.post(new, 'agree').text)
        self.assertEqual(len(self.service._verify_pdf(base64.b64decode(envelope.file_ids.signed_file)).signatures), 1)
        # an expired link (past its own expiry) is gone entirely
        envelope.recipient_ids.sudo().token_expiry = fields.Datetime.now() - timedelta(seconds=1)
        self.page(new, expect=404)

    def test_a_token_reaches_only_its_own_recipient_and_envelope(self):
        first = self.make_envelope([C, B])
        other = self.make_envelope([B], name='別件')
        first.action_send()
        other.action_send()
        mails = self.deliver()
        token_c = self.link_in(self.mail_to(mails, C['email']))
        self.open_documents(token_c)
        foreign = other.file_ids[0]
        self.assertEqual(self.url_open(f'/cloudstamp/r/{token_c}/file/{foreign.id}').status_code, 404)
        self.page('x' * 43, expect=404)
        self.page(token_c[:-1] + ('A' if token_c[-1] != 'A' else 'B'), expect=404)
        # B's link for the other envelope cannot act on the first one
        token_b_other = self.link_in(self.mail_to(mails, B['email']))
        b_first = first.recipient_ids.filtered(lambda r: r.email == B['email'])
        self.assertEqual(b_first.state, 'waiting')
        self.open_documents(token_b_other)
        self.post(token_b_other, 'agree')
        self.assertEqual(b_first.state, 'waiting')
        self.assertEqual(first.current_recipient_id.email, C['email'])

    def test_nobody_acts_out_of_turn(self):
        envelope = self.make_envelope([C, B])
        envelope.action_send()
        token_c = self.new_link(C['email'])
        self.open_documents(token_c)
        self.post(token_c, 'agree')
        # C again: the turn has passed, nothing is signed twice
        response = self.post(token_c, 'agree')
        self.assertIn('o_cloudstamp_error', response.text)
        self.assertIn('o_cloudstamp_closed', response.text)
        signed = base64.b64decode(envelope.file_ids.signed_file)
        self.assertEqual(len(self.service._verify_pdf(signed).signatures), 2)
        with self.assertRaises(UserError):
            envelope.recipient_ids.filtered(lambda r: r.email == C['email'])._action_agree()
        self.assertEqual(len(self.service._verify_pdf(base64.b64decode(envelope.file_ids.signed_file)).signatures), 2)

    def test_hostile_form_data_is_refused_cleanly(self):
        envelope = self.make_envelope([dict(B, may_forward=False)])
        envelope.action_send()
        token = self.new_link(B['email'])
        self.open_documents(token)
        # forwarding was not allowed by the sender
        response = self.post(token, 'forward', {'name': 'Eve', 'email': 'eve@evil.example'})
        self.assertIn('o_cloudstamp_error', response.text)
        self.assertEqual(len(envelope.recipient_ids), 1)
        # markup in a decline reason is stored as text and shown escaped
        response = self.post(token, 'decline', {'reason': '<script>alert(1)</script>' + 'x' * 5000})
        self.assertEqual(envelope.state, 'declined')
        self.assertEqual(len(envelope.end_reason), 2000)
        self.assertNotIn('<script>alert(1)</script>', response.text)
        # a document of the envelope by a made-up id
        self.assertEqual(self.url_open(f'/cloudstamp/r/{token}/file/999999').status_code, 404)

    def test_terms_of_use_come_from_settings(self):
        self.env['res.config.settings'].create({'cloudstamp_terms': '<p>Article 1 test terms</p>'}).execute()
        self.env.company.update_field_translations(
            'cloudstamp_terms', {'ja_JP': {'Article 1 test terms': '第1条 テスト用の利用規約'}}
        )
        envelope = self.make_envelope([C, B])
        envelope.action_send()
        token = self.new_link(C['email'])
        self.assertIn('第1条 テスト用の利用規約', self.page(token).text)
        self.assertNotIn('o_cloudstamp_viewer', self.page(token).text)  # no documents before the terms
        response = self.post(token, 'terms', {})  # box not ticked
        self.assertIn('o_cloudstamp_error', response.text)
        self.assertFalse(envelope.current_recipient_id.terms_accepted_at)
        self.open_documents(token)
        self.assertTrue(envelope.current_recipient_id.terms_accepted_at)
        self.assertEqual(envelope.event_ids.filtered(lambda e: e.event_type == 'terms_accepted').actor, C['email'])
