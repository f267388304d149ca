"""A real SMTP server on loopback for the tests and benchmarks: Odoo
delivers to it over TCP exactly as to a production mail server."""

from __future__ import annotations

import email
import email.message
import email.policy
import re
import socketserver
import threading

# A recipient's link in a mail body; group 1 is the token.
LINK_RE = re.compile(r'https?://[^\s"<>/]+/cloudstamp/r/([A-Za-z0-9_\-]+)')


def parse(content: bytes) -> email.message.EmailMessage:
    return email.message_from_bytes(content, policy=email.policy.default)


def body(message: email.message.EmailMessage) -> str:
    return message.get_body(preferencelist=('html', 'plain')).get_content()


def link_token(message: email.message.EmailMessage) -> str:
    """The token of the CloudStamp link in ``message``, or ''."""
    match = LINK_RE.search(body(message))
    return match.group(1) if match else ''


class Catcher(socketserver.ThreadingTCPServer):
    """A minimal SMTP sink on 127.0.0.1 that reads DATA in large chunks.

    ``messages`` holds ``(envelope recipients, raw message)`` in arrival
    order. A line-by-line SMTP server (aiosmtpd) costs more than Odoo itself
    for the 4 MB of base64 attachments of a completion mail; a production
    mail server does not, so neither does this one.
    """

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, port: int = 0):
        self.messages: list[tuple[list[str], bytes]] = []
        super().__init__(('127.0.0.1', port), _SmtpSession)

    @property
    def port(self) -> int:
        return self.server_address[1]

    def start(self) -> Catcher:
        threading.Thread(target=self.serve_forever, daemon=True).start()
        return self

    def link_for(self, address: str, since: int = 0) -> str:
        """The link token in the newest mail to ``address`` among messages[since:]."""
        for rcpts, content in reversed(self.messages[since:]):
            if address in rcpts:
                token = link_token(parse(content))
                if token:
                    return token
        raise LookupError(f'no link mailed to {address}')


class _SmtpSession(socketserver.StreamRequestHandler):
    def reply(self, line: str) -> None:
        self.wfile.write(line.encode() + b'\r\n')

    def handle(self) -> None:
        self.reply('220 catcher ESMTP')
        recipients: list[str] = []
        while line := self.rfile.readline():
            verb = line[:4].upper()
            if verb == b'EHLO':
                self.reply('250-catcher\r\n250 8BITMIME')  # one write: no delayed ACK
            elif verb == b'RCPT':
                recipients.append(line.split(b':', 1)[1].strip(b' <>\r\n').decode())
                self.reply('250 OK')
            elif verb == b'DATA':
                self.reply('354 End data with <CR><LF>.<CR><LF>')
                data = bytearray()
                while not data.endswith(b'\r\n.\r\n'):
                    chunk = self.rfile.read1(1 << 20)
                    if not chunk:
                        return
                    data += chunk
                self.server.messages.append((recipients, bytes(data[:-5])))
                recipients = []
                self.reply('250 OK')
            elif verb == b'QUIT':
                self.reply('221 Bye')
                return
            else:  # HELO, MAIL, RSET, NOOP
                self.reply('250 OK')
