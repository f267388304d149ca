"""One address per person, normalised, wherever it is entered; forwarding
is bounded (security review finding 8, issue 7 §2)."""

from odoo import Command
from odoo.exceptions import UserError, ValidationError
from odoo.tests import tagged

from .common import CloudStampCase, finalize, make_envelope, new_sender, ready_to_agree

BAD_ADDRESSES = (
    'a@b.example\r\nBcc: evil@example.test',
    'a@x.example, b@y.example',
    'a@x.example\nb@y.example',
    'a@x.example;b@y.example',
    '@',
    'not an address',
    'a b@c.example',
    'Yamada <a@x.example> <b@y.example>',
)


@tagged('post_install', '-at_install')
class TestAddresses(CloudStampCase):
    def test_recipients_take_exactly_one_normalised_address(self):
        envelope = make_envelope(
            self.env, recipients=({'name': '山田', 'email': '  Yamada Taro <Yamada@Client.Example> '},)
        )
        self.assertEqual(envelope.recipient_ids.email, 'yamada@client.example')
        for bad in BAD_ADDRESSES:
            with self.subTest(bad=bad), self.assertRaises(ValidationError), self.env.cr.savepoint():
                make_envelope(self.env, recipients=({'name': 'X', 'email': bad},))
            with self.subTest(bad=bad), self.assertRaises(ValidationError), self.env.cr.savepoint():
                envelope.recipient_ids.write({'email': bad})
        self.assertEqual(envelope.recipient_ids.email, 'yamada@client.example')

    def test_a_forward_goes_to_one_valid_address_and_changes_nothing_otherwise(self):
        recipient = ready_to_agree(make_envelope(self.env))
        envelope = recipient.envelope_id
        mails_before = self.env['mail.mail'].sudo().search_count([])
        events_before = len(envelope.event_ids)
        for bad in (*BAD_ADDRESSES, recipient.email):
            with self.subTest(bad=bad), self.assertRaises(UserError), self.env.cr.savepoint():
                recipient._action_forward('Eve', bad, 'hi')
        with self.assertRaises(UserError), self.env.cr.savepoint():
            recipient._action_forward('  ', 'dan@partner.example')
        self.assertEqual(envelope.recipient_ids, recipient)
        self.assertEqual(envelope.current_recipient_id, recipient)
        self.assertEqual(len(envelope.event_ids), events_before)
        self.assertEqual(self.env['mail.mail'].sudo().search_count([]), mails_before)
        self.assertEqual(self.signatures(envelope), [('send', 'odoobot@example.com')])
        successor = recipient._action_forward('Dan', 'Dan Director <DAN@Partner.example>', 'please')
        self.assertEqual(successor.email, 'dan@partner.example')

    def test_forwarding_stops_after_three_hops(self):
        recipient = ready_to_agree(make_envelope(self.env))
        for hop in range(1, 4):
            recipient = recipient._action_forward(f'Hop {hop}', f'hop{hop}@partner.example')
            self.assertEqual(recipient.forward_depth, hop)
            recipient._accept_terms('0' * 64)
        with self.assertRaisesRegex(UserError, '3'):
            recipient._action_forward('Hop 4', 'hop4@partner.example')
        self.assertEqual(len(recipient.envelope_id.recipient_ids), 4)
        # the last one can still agree, and the envelope completes
        recipient._action_agree()
        finalize(self.env)
        self.assertEqual(recipient.envelope_id.state, 'completed')

    def test_a_forward_mail_leaves_from_the_company_and_answers_go_to_the_sender(self):
        # A recipient chose the address and wrote the message: the sender's
        # name must not carry it (finding 8), but replies still reach them.
        self.env.company.email = 'contracts@company.example'
        sender = new_sender(self.env, 'sales@company.example', name='営業 花子')
        envelope = make_envelope(self.env(user=sender))
        recipient = ready_to_agree(envelope)
        successor = recipient._action_forward('Dan', 'dan@partner.example', 'please')

        def mail_to(party):
            return self.env['mail.mail'].sudo().search([('model', '=', party._name), ('res_id', '=', party.id)])

        request, forwarded = mail_to(recipient), mail_to(successor)
        self.assertEqual(len(request), 1)
        self.assertEqual(len(forwarded), 1)
        self.assertIn('contracts@company.example', forwarded.email_from)
        self.assertNotIn('sales@company.example', forwarded.email_from)
        self.assertIn('sales@company.example', forwarded.reply_to)
        # the sender's own request does go out in their name
        self.assertIn('sales@company.example', request.email_from)

    def test_cc_contacts_need_one_valid_address_to_send(self):
        partner = self.env['res.partner'].create({'name': 'Legal', 'email': 'a@x.example, b@y.example'})
        envelope = make_envelope(self.env, cc_partner_ids=[Command.link(partner.id)])
        with self.assertRaisesRegex(UserError, 'Legal'):
            envelope.action_send()
        self.assertEqual(envelope.state, 'draft')
        partner.email = 'legal@cloudstamp.example'
        envelope.action_send()
        self.assertEqual(envelope.state, 'sent')


@tagged('post_install', '-at_install')
class TestEnvelopeLanguage(CloudStampCase):
    def test_an_envelope_created_over_rpc_speaks_its_senders_language(self):
        """XML-RPC calls carry no context: the sender's own language applies."""
        sender = new_sender(self.env, 'tanaka@cloudstamp.example', lang='ja_JP')
        envelope = make_envelope(self.env(user=sender, context={}))
        self.assertEqual(envelope.lang, 'ja_JP')
