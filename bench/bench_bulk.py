"""Bulk send benchmark (issue 12): 1,000 rows, one 1 MB PDF each.

A real Odoo server as in production (prefork: 2 HTTP workers and 2 cron
workers) on a scratch database, the company's embedded TSA, real SMTP to a
catcher on 127.0.0.1. The sender, logged in over HTTP, creates a template
with a 1 MB PDF, then uploads a CSV of 1,000 rows over JSON-RPC, previews
and starts it; the clock stops when the catcher holds the first request link
of every row. The RSS of every Odoo process is sampled meanwhile. Last line:
    bulk_send_1000_s=<n> peak_rss_mb=<m>
(peak_rss_mb: the peak of the summed RSS of the Odoo processes; its growth
over the idle, warmed-up server is printed on the line before).
Targets (issue 12, 2-core machine): n <= 120, growth <= 150 MB.

Access codes cost a deliberate ~0.1 s each (PBKDF2, 120,000 rounds): one
row in ten carries one (--code-every).
"""

from __future__ import annotations

import argparse
import base64
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil
from common import CONF, JsonRpcClient, Sender, drop_database, free_port, odoo, wait_for_http

from cloudstamp_engine.config import MB
from cloudstamp_engine_testing import smtp
from cloudstamp_engine_testing.pdf_samples import contract_pdf
from cloudstamp_engine_testing.smtp import Catcher

DB = 'cloudstamp_bench_bulk'
ROLE = '先方担当者'


def prefork_server(db: str, http_port: int, *args: str) -> subprocess.Popen:
    """bench/common.py's odoo_server as a prefork server: 2 HTTP workers and 2
    cron workers. Started through the ``odoo`` console script, not
    ``python -m odoo``: the prefork master starts its websocket (gevent)
    process by running ``sys.argv[0]`` again, which for ``-m odoo`` is
    .../odoo/__main__.py; that fails (a relative import) and the master forks
    it again without end, five times a second, about a third of a core."""
    script = shutil.which('odoo', path=str(Path(sys.executable).parent)) or shutil.which('odoo')
    if not script:
        raise RuntimeError('no "odoo" console script next to this Python')
    return subprocess.Popen(
        [
            script,
            '-c',
            str(CONF),
            '-d',
            db,
            f'--http-port={http_port}',
            '--http-interface=127.0.0.1',
            f'--gevent-port={free_port()}',
            '--workers=2',
            '--max-cron-threads=2',
            '--log-level=warn',
            *args,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


class RssSampler(threading.Thread):
    """The summed RSS of the server and its workers, every 0.2 s, and each
    process's own peak."""

    def __init__(self, pid: int):
        super().__init__(daemon=True)
        self.root = psutil.Process(pid)
        self.peak = 0
        self.peaks: dict[int, int] = {}
        self.running = True

    def by_process(self) -> dict[int, int]:
        sizes = {}
        for process in [self.root, *self.root.children(recursive=True)]:
            try:
                sizes[process.pid] = process.memory_info().rss
            except psutil.Error:
                pass  # a worker recycled between listing and reading
        return sizes

    def current(self) -> int:
        return sum(self.by_process().values())

    def run(self) -> None:
        while self.running:
            sizes = self.by_process()
            self.peak = max(self.peak, sum(sizes.values()))
            for pid, size in sizes.items():
                self.peaks[pid] = max(self.peaks.get(pid, 0), size)
            time.sleep(0.2)


def csv_rows(count: int, tag: str, code_every: int) -> bytes:
    lines = ['name,email,company,lang,access_code,title']
    for i in range(count):
        code = f'Code{i:06d}' if code_every and i % code_every == 0 else ''
        lines.append(f'受信者 {i},r{i}-{tag}@bench.example,株式会社ベンチ{i},ja,{code},業務委託契約書 No.{i}')
    return '\r\n'.join(lines).encode('utf-8-sig')


class LinkCounter:
    """Counts, as they arrive, the mails to a run's addresses that carry a
    recipient link (each message parsed once)."""

    def __init__(self, catcher: Catcher, tag: str):
        self.catcher, self.suffix = catcher, f'-{tag}@bench.example'
        self.seen = len(catcher.messages)
        self.links = 0

    def count(self) -> int:
        messages = self.catcher.messages
        while self.seen < len(messages):
            rcpts, content = messages[self.seen]
            self.seen += 1
            if any(r.endswith(self.suffix) for r in rcpts) and smtp.link_token(smtp.parse(content)):
                self.links += 1
        return self.links


def bulk_send(
    client: JsonRpcClient, catcher: Catcher, template_id: int, rows: int, tag: str, code_every: int, timeout: float
) -> tuple[float, int]:
    """Upload, preview, start; wait for every link. (seconds, batch id)."""
    counter = LinkCounter(catcher, tag)
    start = time.perf_counter()
    batch_id = client.call(
        'cloudstamp.bulk.send',
        'create',
        {
            'template_id': template_id,
            'csv_file': base64.b64encode(csv_rows(rows, tag, code_every)).decode(),
            'csv_filename': f'{tag}.csv',
        },
    )
    client.call('cloudstamp.bulk.send', 'action_preview', [batch_id])
    client.call('cloudstamp.bulk.send', 'action_start', [batch_id])
    deadline = start + timeout
    while counter.count() < rows:
        if time.perf_counter() > deadline:
            raise TimeoutError(f'{counter.count()} of {rows} links mailed after {timeout} s')
        time.sleep(0.2)
    return time.perf_counter() - start, batch_id


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument('--rows', type=int, default=1000)
    parser.add_argument('--code-every', type=int, default=10, help='one row in N has an access code (0: none)')
    parser.add_argument('--timeout', type=float, default=900)
    args = parser.parse_args()

    pdf = contract_pdf('業務委託契約書 / Service Agreement', padding_bytes=MB - 16 * 1024)
    catcher = Catcher().start()
    http_port = free_port()
    drop_database(DB)
    odoo('-d', DB, '-i', 'cloudstamp_sign,cloudstamp_portal', '--stop-after-init', '--log-level=warn')
    server = prefork_server(DB, http_port, '--smtp=127.0.0.1', f'--smtp-port={catcher.port}')
    base = f'http://127.0.0.1:{http_port}'
    try:
        wait_for_http(f'{base}/web/login', 120, alive=lambda: server.poll() is None)
        Sender(base, DB, 'sender@bench.example', lang='ja_JP')  # the sender's address and the base URL
        client = JsonRpcClient(base, DB)
        template_id = client.call(
            'cloudstamp.template',
            'create',
            {
                'name': '業務委託契約書',
                'file_ids': [(0, 0, {'name': 'contract.pdf', 'file': base64.b64encode(pdf).decode()})],
                'role_ids': [(0, 0, {'name': ROLE, 'sequence': 10})],
            },
        )
        # Warm-up (registries, caches and templates in every worker), not counted.
        bulk_send(client, catcher, template_id, 20, 'warmup', args.code_every, args.timeout)
        time.sleep(2)
        sampler = RssSampler(server.pid)
        idle_by_process = sampler.by_process()
        idle = sum(idle_by_process.values())
        sampler.start()
        seconds, batch_id = bulk_send(client, catcher, template_id, args.rows, 'run', args.code_every, args.timeout)
        sampler.running = False
        sampler.join()
        peak = max(sampler.peak, idle)
        for _wait in range(50):  # the last row's commit closes the batch just after its mail
            batch = client.call(
                'cloudstamp.bulk.send', 'read', [batch_id], ['state', 'sent_count', 'failed_count', 'invalid_count']
            )[0]
            if batch['state'] == 'done':
                break
            time.sleep(0.2)
        assert (batch['state'], batch['sent_count'], batch['failed_count']) == ('done', args.rows, 0), batch
        per_address = {}
        for rcpts, _content in catcher.messages:
            for rcpt in rcpts:
                if rcpt.endswith('-run@bench.example'):
                    per_address[rcpt] = per_address.get(rcpt, 0) + 1
        assert len(per_address) == args.rows and set(per_address.values()) == {1}, 'a row was mailed twice'
    finally:
        server.terminate()
        server.wait(timeout=60)
        catcher.shutdown()
        drop_database(DB)

    codes = args.rows // args.code_every if args.code_every else 0
    print(f'rows={args.rows} rows_per_s={args.rows / seconds:.1f} access_codes={codes} workers=2 cron_workers=2')
    growth = ' '.join(
        f'{pid}:+{(size - idle_by_process.get(pid, 0)) / MB:.0f}' for pid, size in sorted(sampler.peaks.items())
    )
    print(f'rss_peak_growth_per_process_mb (pid:+MB, the master first)={growth}')
    print(f'rss_idle_mb={idle / MB:.0f} rss_peak_mb={peak / MB:.0f} rss_growth_mb={(peak - idle) / MB:.0f}')
    print(f'bulk_send_{args.rows}_s={seconds:.1f} peak_rss_mb={peak / MB:.0f}')


if __name__ == '__main__':
    main()
