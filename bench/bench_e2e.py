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
import statistics
import time

from common import (
    RecipientBrowser,
    Sender,
    TsaProcess,
    drop_database,
    free_port,
    odoo,
    odoo_server,
    wait_for_http,
)

from cloudstamp_engine import (
    DocumentSigner,
    EmbeddedTimeStamper,
    HttpTsaConfig,
    SignatureAction,
    SignatureRequest,
    generate_service_pki,
    http_timestamper,
)
from cloudstamp_engine.config import MB
from cloudstamp_engine_testing.pdf_samples import contract_pdf
from cloudstamp_engine_testing.smtp import Catcher

DB = 'cloudstamp_bench'
RECIPIENTS = [
    ('受信者 一', 'one@bench.example'),
    ('Recipient Two', 'two@bench.example'),
    ('受信者 三', 'three@bench.example'),
]


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


class Flow:
    """The sender over XML-RPC, the recipients through their pages."""

    def __init__(self, base: str, catcher: Catcher, files: list[bytes]):
        self.base, self.catcher, self.files = base, catcher, files
        # A Japanese sender writing to Japanese counterparties: one completion
        # mail in one language (a mixed-language envelope sends one per language).
        self.sender = Sender(base, DB, 'sender@bench.example', lang='ja_JP')

    def median_ms(self, rounds: int) -> float:
        runs = []
        # Round 0 warms the server up (asset bundles, QWeb caches) and is not counted.
        for round_no in range(rounds + 1):
            envelope_id = self.sender.create_envelope(f'ベンチマーク {round_no}', self.files, RECIPIENTS)
            mails_before = len(self.catcher.messages)
            start = time.perf_counter()
            # Each link mail leaves as its request commits; the completion
            # mail, with the PDFs, goes through the mail queue.
            self.sender.call('cloudstamp.envelope', 'action_send', [envelope_id])
            for _name, address in RECIPIENTS:
                browser = RecipientBrowser(self.base, self.catcher.link_for(address, mails_before))
                browser.submit(browser.open_documents(), 'agree')
            # A server without cron workers: complete, then send, on demand.
            self.sender.finalize()
            self.sender.deliver()
            if round_no:
                runs.append((time.perf_counter() - start) * 1000)
            state = self.sender.call('cloudstamp.envelope', 'read', [envelope_id], ['state'])[0]['state']
            assert state == 'completed', state
            completion = [rcpts for rcpts, content in self.catcher.messages[mails_before:] if len(content) > 2 * MB]
            assert completion and 'sender@bench.example' in completion[-1], completion
        return statistics.median(runs)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument('--rounds', type=int, default=5)
    args = parser.parse_args()

    files = [contract_pdf(f'契約書 {i}', padding_bytes=MB - 16 * 1024) for i in (1, 2)]
    tsa = TsaProcess()
    catcher = Catcher().start()
    http_port = free_port()
    drop_database(DB)
    odoo('-d', DB, '-i', 'cloudstamp_sign,cloudstamp_portal', '--stop-after-init', '--log-level=warn')
    server = odoo_server(DB, http_port, '--smtp=127.0.0.1', f'--smtp-port={catcher.port}')
    base = f'http://127.0.0.1:{http_port}'
    try:
        wait_for_http(f'{base}/web/login', 60, alive=lambda: server.poll() is None)
        flow = Flow(base, catcher, files)
        flow.sender.call('ir.config_parameter', 'set_param', 'cloudstamp.tsa_url', tsa.url)
        e2e_http = flow.median_ms(args.rounds)
        flow.sender.call('ir.config_parameter', 'set_param', 'cloudstamp.tsa_url', '')
        e2e_embedded = flow.median_ms(args.rounds)
    finally:
        server.terminate()
        server.wait(timeout=30)
        catcher.shutdown()
        drop_database(DB)

    engine_http = engine_ms(files, args.rounds, lambda _pki: http_timestamper(HttpTsaConfig(url=tsa.url)))
    engine_embedded = engine_ms(files, args.rounds, lambda pki: EmbeddedTimeStamper(pki.tsa()))
    tokens = tsa.stop()
    # Every signature of the HTTP phase, in Odoo and alone, took its token there.
    # Per round: Odoo's 9 signatures, the 3 archive timestamps of B-LTA (two
    # documents and the certificate of agreement) and the trail's completion
    # timestamp, then the engine alone's 9 signatures.
    assert tokens == (13 + 9) * (args.rounds + 1), tokens

    print(
        f'embedded TSA, for comparison: end to end {e2e_embedded:.0f} ms, engine alone '
        f'{engine_embedded:.0f} ms, ratio {e2e_embedded / engine_embedded:.2f}'
    )
    print(
        f'RFC 3161 TSA over HTTP on 127.0.0.1 (median of {args.rounds}): end to end '
        f'{e2e_http:.0f} ms; engine alone, same 9 signatures, same TSA: {engine_http:.0f} ms'
    )
    print(f'e2e_3_recipients_ms={e2e_http:.0f} ratio_vs_engine={e2e_http / engine_http:.2f}')


if __name__ == '__main__':
    main()
