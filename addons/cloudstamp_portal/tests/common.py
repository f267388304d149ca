"""A real SMTP catcher on 127.0.0.1 and helpers to walk the recipient pages."""

import base64
import re
from types import SimpleNamespace
from unittest.mock import patch

from odoo import Command
from odoo.tests import HttpCase

from odoo.addons.base.models import ir_mail_server

from cloudstamp_engine_testing import smtp
from cloudstamp_engine_testing.pdf_samples import contract_pdf

# Every frontend page carries the session's CSRF token in its odoo script.
CSRF_RE = re.compile(r'csrf_token: "([^"]+)"')
HIDDEN_RE = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)"')


def form_fields(html):
    """What a browser posts besides the visible fields: the hidden inputs
    (CSRF token, the hash of the terms shown)."""
    csrf = CSRF_RE.search(html)
    return dict(HIDDEN_RE.findall(html), csrf_token=csrf.group(1) if csrf else '')


class CloudStampFlowCase(HttpCase):
    """Envelopes sent through real HTTP, with mail delivered over real SMTP."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.catcher = smtp.Catcher().start()
        cls.addClassCleanup(cls.catcher.shutdown)
        # Odoo skips SMTP while a test runs; these tests deliver for real.
        smtp_allowed = patch.object(
            ir_mail_server, 'modules', SimpleNamespace(module=SimpleNamespace(current_test=False))
        )
        smtp_allowed.start()
        cls.addClassCleanup(smtp_allowed.stop)
        cls.env['ir.mail_server'].create(
            {
                'name': 'catcher',
                'smtp_host': '127.0.0.1',
                'smtp_port': cls.catcher.port,
                'smtp_encryption': 'none',
            }
        )
        cls.env['res.lang']._activate_lang('ja_JP')
        cls.env['ir.module.module'].search(
            [('name', 'in', ('cloudstamp_sign', 'cloudstamp_portal'))]
        )._update_translations(['ja_JP'])
        cls.sender = cls.env.ref('base.user_admin')
        cls.sender.write({'email': 'sales@cloudstamp.example', 'tz': 'Asia/Tokyo', 'lang': 'en_US'})
        cls.service = cls.env['cloudstamp.signing.service']
        cls.root_pem = cls.env['cloudstamp.pki.certificate']._current('root').certificate_pem.encode()

    def setUp(self):
        super().setUp()
        self.delivered = len(self.catcher.messages)

    # -- mail -----------------------------------------------------------
    def received(self):
        """(envelope recipients, message) the catcher got since the last delivery."""
        return [(rcpts, smtp.parse(content)) for rcpts, content in self.catcher.messages[self.delivered :]]

    def deliver(self):
        """Send the mail queue over SMTP to the catcher; return what the
        catcher received since the last call, mails sent at once included."""
        self.env['mail.mail'].sudo().process_email_queue()
        messages = self.received()
        self.delivered = len(self.catcher.messages)
        return messages

    def mail_to(self, messages, address):
        found = [m for rcpts, m in messages if address in rcpts]
        self.assertTrue(found, f'no mail to {address}; got {[r for r, _m in messages]}')
        return found[-1]

    body = staticmethod(smtp.body)

    def link_in(self, message):
        token = smtp.link_token(message)
        self.assertTrue(token, 'no CloudStamp link in the mail')
        return token

    def new_link(self, address):
        """Deliver the queue; the link in its mail to ``address``."""
        return self.link_in(self.mail_to(self.deliver(), address))

    # -- envelopes --------------------------------------------------------
    def make_envelope(self, recipients, documents=1, **values):
        files = [
            Command.create(
                {'name': f'契約書{i + 1}.pdf', 'original_file': base64.b64encode(contract_pdf(f'契約書 No.{i + 1}'))}
            )
            for i in range(documents)
        ]
        return (
            self.env['cloudstamp.envelope']
            .with_user(self.sender)
            .create(
                {
                    'name': values.pop('name', '業務委託契約書'),
                    'file_ids': files,
                    'recipient_ids': [Command.create(dict(r, sequence=(i + 1) * 10)) for i, r in enumerate(recipients)],
                    **values,
                }
            )
        )

    # -- pages --------------------------------------------------------------
    def page(self, token, expect=200):
        response = self.url_open(f'/cloudstamp/r/{token}', allow_redirects=True)
        self.assertEqual(response.status_code, expect, response.text[:500])
        return response

    def post(self, token, action, data=None, page_token=None):
        """Post a form as the browser would: with the page's hidden fields
        (CSRF token, the hash of the terms shown) and ``data``."""
        payload = dict(form_fields(self.page(page_token or token).text), **(data or {}))
        return self.url_open(f'/cloudstamp/r/{token}/{action}', data=payload, allow_redirects=True)

    def finalize(self):
        """What the cron worker does right after the last agreement."""
        self.env['cloudstamp.envelope']._cron_finalize()

    def sent_to(self, recipient, open_documents=False, **values):
        """An envelope sent to ``recipient`` alone: (envelope, the mailed
        link), the link opened up to the documents when asked."""
        envelope = self.make_envelope([recipient], **values)
        envelope.action_send()
        token = self.new_link(recipient['email'])
        if open_documents:
            self.open_documents(token, code=recipient.get('access_code'))
        return envelope, token

    def open_documents(self, token, code=None):
        """Code (if any), then the terms: the documents page."""
        if code is not None:
            self.post(token, 'code', {'access_code': code})
        response = self.post(token, 'terms', {'accept': '1'})
        self.assertIn('o_cloudstamp_agree', response.text)
        return response
