"""End-to-end benchmark: one envelope, 2 PDFs of 1 MB, 3 recipients, over HTTP.

A real Odoo server (subprocess) on a scratch database, real SMTP to a
catcher on 127.0.0.1, recipients driven through their pages with HTTP. The
same run measures the engine alone signing the same files the same number
of times (send + 3 agreements per PDF, plus the certificate).

Timestamps come, as in production, from an RFC 3161 TSA over HTTP: a real
one (bench/tsa_server.py) in its own process on 127.0.0.1, used by Odoo and
by the engine alone, which counts the tokens it issues. Both measurements
are repeated with the embedded TSA and printed for comparison. Last line:
    e2e_3_recipients_ms=<n> ratio_vs_engine=<r>
Target (issue #3): r <= 3. Run with `make bench`.
"""

from __future__ import annotations

import argparse
import base64
import email
import email.policy
import re
import socket
import socketserver
import statistics
import subprocess
import sys
import threading
import time
import xmlrpc.client
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
import conftest  # noqa: E402,F401 - registers the engine package without Odoo

from cloudstamp_sign.engine import (  # noqa: E402
    DocumentSigner, EmbeddedTimeStamper, HttpTsaConfig, SignatureAction, SignatureRequest,
    generate_service_pki, http_timestamper,
)
from cloudstamp_sign.engine.tests.pdf_samples import contract_pdf  # noqa: E402

MB = 1024 * 1024
DB = 'cloudstamp_bench'
LINK_RE = re.compile(r'/cloudstamp/r/([A-Za-z0-9_\-]+)')
CSRF_RE = re.compile(r'csrf_token: "([^"]+)"')
RECIPIENTS = [('受信者 一', 'one@bench.example'), ('Recipient Two', 'two@bench.example'),
              ('受信者 三', 'three@bench.example')]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(('127.0.0.1', 0))
        return probe.getsockname()[1]


class Catcher(socketserver.ThreadingTCPServer):
    """A minimal SMTP sink on 127.0.0.1 that reads DATA in large chunks.

    aiosmtpd (used by the tests) reads line by line, which for the 4 MB of
    base64 attachments of a completion mail costs more than Odoo itself; a
    mail server in production does not, so the benchmark does not either.
    """

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, port: int):
        self.messages: list[tuple[list[str], bytes]] = []
        super().__init__(('127.0.0.1', port), _SmtpSession)

    def link_for(self, address: str, since: int = 0) -> str:
        """The link in the newest mail to ``address`` among messages[since:]."""
        for rcpts, content in reversed(self.messages[since:]):
            if address in rcpts:
                message = email.message_from_bytes(content, policy=email.policy.default)
                match = LINK_RE.search(message.get_body(('html', 'plain')).get_content())
                if match:
                    return match.group(1)
        raise LookupError(f'no link mailed to {address}')


class _SmtpSession(socketserver.StreamRequestHandler):
    def reply(self, line: str) -> None:
        self.wfile.write(line.encode() + b'\r\n')

    def handle(self) -> None:
        self.reply('220 bench ESMTP')
        recipients: list[str] = []
        while line := self.rfile.readline():
            verb = line[:4].upper()
            if verb == b'EHLO':
                self.reply('250-bench\r\n250 8BITMIME')  # one write: no delayed ACK
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


def engine_ms(files: list[bytes], rounds: int, timestamper_for) -> float:
    """The engine alone: send + 3 agreements on each file, plus a certificate."""
    pki = generate_service_pki('Bench')
    engine = DocumentSigner(pki.signer(), timestamper_for(pki))
    certificate = contract_pdf('合意締結証明書')
    timings = []
    for _ in range(rounds + 1):  # the first round warms up and is not counted
        start = time.perf_counter()
        for data in files:
            data = engine.sign(data, SignatureRequest('sender@bench.example', SignatureAction.SEND))
            for _name, address in RECIPIENTS:
                data = engine.sign(data, SignatureRequest(address, SignatureAction.AGREE))
        engine.sign(certificate, SignatureRequest('sender@bench.example', SignatureAction.COMPLETE))
        timings.append((time.perf_counter() - start) * 1000)
    return statistics.median(timings[1:])


def odoo(*args: str, check: bool = True):
    return subprocess.run([sys.executable, '-m', 'odoo', '-c', str(REPO / 'var' / 'odoo.conf'),
                           *args], check=check, capture_output=True, text=True)


def drop_database(name: str) -> None:
    subprocess.run([sys.executable, str(REPO / 'scripts' / 'dbtool.py'), str(REPO / 'var' / 'odoo.conf'),
                    'drop', name], check=True)


class Flow:
    """The sender over XML-RPC, the recipients through their pages."""

    def __init__(self, base: str, catcher: Catcher, files: list[bytes]):
        self.base, self.catcher, self.files = base, catcher, files
        uid = xmlrpc.client.ServerProxy(f'{base}/xmlrpc/2/common').authenticate(DB, 'admin', 'admin', {})
        rpc = xmlrpc.client.ServerProxy(f'{base}/xmlrpc/2/object', allow_none=True)
        self.call = lambda model, method, *params, **kw: rpc.execute_kw(
            DB, uid, 'admin', model, method, list(params), kw)
        # A Japanese sender writing to Japanese counterparties: one completion
        # mail in one language (a mixed-language envelope sends one per language).
        self.call('res.users', 'write', [uid], {'email': 'sender@bench.example', 'lang': 'ja_JP'})
        self.call('ir.config_parameter', 'set_param', 'web.base.url', base)
        self.mail_cron = self.call(
            'ir.model.data', 'check_object_reference', 'mail', 'ir_cron_mail_scheduler_action')[1]

    def deliver(self) -> None:  # what the mail queue cron does, on demand
        self.call('ir.cron', 'method_direct_trigger', [self.mail_cron])

    def median_ms(self, rounds: int) -> float:
        runs = []
        # Round 0 warms the server up (asset bundles, QWeb caches) and is not counted.
        for round_no in range(rounds + 1):
            envelope_id = self.call('cloudstamp.envelope', 'create', {
                'name': f'ベンチマーク {round_no}',
                'document_ids': [(0, 0, {'name': f'doc{i}.pdf', 'original_file': base64.b64encode(d).decode()})
                                 for i, d in enumerate(self.files)],
                'recipient_ids': [(0, 0, {'name': n, 'email': e, 'sequence': i})
                                  for i, (n, e) in enumerate(RECIPIENTS)],
            })
            mails_before = len(self.catcher.messages)
            start = time.perf_counter()
            # Each link mail leaves as its request commits; the completion
            # mail, with the PDFs, goes through the mail queue.
            self.call('cloudstamp.envelope', 'action_send', [envelope_id])
            for _name, address in RECIPIENTS:
                session = requests.Session()
                path = f'{self.base}/cloudstamp/r/{self.catcher.link_for(address, mails_before)}'
                csrf = CSRF_RE.search(session.get(path).text).group(1)
                page = session.post(f'{path}/terms', data={'accept': '1', 'csrf_token': csrf})
                csrf = CSRF_RE.search(page.text).group(1)
                session.post(f'{path}/agree', data={'csrf_token': csrf})
            self.deliver()
            if round_no:
                runs.append((time.perf_counter() - start) * 1000)
            state = self.call('cloudstamp.envelope', 'read', [envelope_id], ['state'])[0]['state']
            assert state == 'completed', state
            completion = [rcpts for rcpts, content in self.catcher.messages[mails_before:]
                          if len(content) > 2 * MB]
            assert completion and 'sender@bench.example' in completion[-1], completion
        return statistics.median(runs)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument('--rounds', type=int, default=5)
    args = parser.parse_args()

    files = [contract_pdf(f'契約書 {i}', padding_bytes=MB - 16 * 1024) for i in (1, 2)]
    tsa = subprocess.Popen([sys.executable, str(REPO / 'bench' / 'tsa_server.py')],
                           stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    tsa_url = tsa.stdout.readline().strip()
    smtp_port = free_port()
    catcher = Catcher(smtp_port)
    threading.Thread(target=catcher.serve_forever, daemon=True).start()
    http_port = free_port()
    drop_database(DB)
    odoo('-d', DB, '-i', 'cloudstamp_sign,cloudstamp_portal', '--stop-after-init',
         '--log-level=warn')
    # -d without --db-filter: Odoo then skips listing databases (a fresh
    # PostgreSQL connection) on every request.
    server = subprocess.Popen(
        [sys.executable, '-m', 'odoo', '-c', str(REPO / 'var' / 'odoo.conf'), '-d', DB,
         f'--http-port={http_port}', '--http-interface=127.0.0.1',
         '--smtp=127.0.0.1', f'--smtp-port={smtp_port}', '--log-level=warn',
         '--max-cron-threads=0'],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f'http://127.0.0.1:{http_port}'
    try:
        for _ in range(120):
            try:
                if requests.get(f'{base}/web/login', timeout=2).status_code == 200:
                    break
            except requests.RequestException:
                time.sleep(0.5)
        flow = Flow(base, catcher, files)
        flow.call('ir.config_parameter', 'set_param', 'cloudstamp.tsa_url', tsa_url)
        e2e_http = flow.median_ms(args.rounds)
        flow.call('ir.config_parameter', 'set_param', 'cloudstamp.tsa_url', '')
        e2e_embedded = flow.median_ms(args.rounds)
    finally:
        server.terminate()
        server.wait(timeout=30)
        catcher.shutdown()
        drop_database(DB)

    engine_http = engine_ms(files, args.rounds, lambda _pki: http_timestamper(HttpTsaConfig(url=tsa_url)))
    engine_embedded = engine_ms(files, args.rounds, lambda pki: EmbeddedTimeStamper(pki.tsa()))
    tokens, _ = tsa.communicate('')
    # Every signature of the HTTP phase, in Odoo and alone, took its token there.
    assert int(tokens) == 9 * 2 * (args.rounds + 1), tokens

    print(f'embedded TSA, for comparison: end to end {e2e_embedded:.0f} ms, engine alone '
          f'{engine_embedded:.0f} ms, ratio {e2e_embedded / engine_embedded:.2f}')
    print(f'RFC 3161 TSA over HTTP on 127.0.0.1 (median of {args.rounds}): end to end '
          f'{e2e_http:.0f} ms; engine alone, same 9 signatures, same TSA: {engine_http:.0f} ms')
    print(f'e2e_3_recipients_ms={e2e_http:.0f} ratio_vs_engine={e2e_http / engine_http:.2f}')


if __name__ == '__main__':
    main()
