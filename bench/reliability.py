"""Reliability: load, races, crashes, backup and restore, token guessing.

Everything runs against a real Odoo started as `make run` starts it
(scripts/run.sh: install on first start, admin/admin, then prefork workers)
on a scratch database, with real SMTP to a catcher on 127.0.0.1 (links arrive
only by mail) and a real RFC 3161 TSA over HTTP on 127.0.0.1
(bench/tsa_server.py, its own process). The sender acts over XML-RPC as
admin with public methods only; recipients act only through their pages over
HTTP, posting every form with the hidden inputs the page holds.

1. load     Each of 50 recipients has their own envelope with one 1 MB PDF
            (prepared and sent first, not timed). They arrive at uniformly
            random moments within 10 s; each opens the link, accepts the
            terms, loads the documents page and the PDF its viewer shows,
            pauses 1 s and agrees. Reported: p50/p95/max of views (every GET
            of a page or PDF) and of agreements (the POST until its
            response); errors (HTTP >= 400, exceptions, envelopes not
            completed). Targets: view p95 <= 300 ms, agree p95 <= 600 ms, no
            error. Then a separate batch of agreements, fired by twice as many
            clients as there are workers: agreements per second at saturation.
2. races    Two sessions of one recipient, both past the terms, post the same
            agreement at the same instant (threading.Barrier), on two
            connections, so two workers take them. Afterwards: one agreement
            signature on the PDF, one `agreed` event, and both clients end on a
            normal page (2xx/3xx, the recipient layout), not a server error.
3. crashes  The TSA holds one signature request inside its handler; the
            worker holding the TCP connection to the TSA is found among the
            prefork master's children and SIGKILLed, at the first or the second
            of the envelope's two PDFs. Then: the trail verifies, the recipient
            is still waiting, no `agreed` event, no signature added, the master
            replaced the worker, and the same link agrees again until the
            envelope completes.
4. restore  pg_dump (custom format) and a copy of the filestore, restored under
            a new name. On the copy (odoo shell): the same completed envelopes,
            every trail verifies, and every signed PDF (documents and
            certificates of agreement) is valid for the engine's verify_pdf,
            trusting the root CA served at /cloudstamp/root_ca.crt and the TSA's
            root, and for poppler's pdfsig.
5. guess    A reverse proxy that appends the client address to X-Forwarded-For
            (bench/forwarding_proxy.py, as nginx does) stands in front of Odoo
            (--proxy-mode, loopback). A client on 127.0.0.66 tries random
            well-formed tokens, half of them with forged X-Forwarded-* headers:
            no hit, and the rate limit (429) engages; a recipient on
            127.0.0.77 still opens their page, during and after.

Before the phases, the idle server's CPU is measured: a prefork master that
keeps restarting a failing gevent (websocket) process is reported, since it
takes CPU from the workers.

Last line (with --quick, the counts follow: load_10_..., crash_rounds_ok=<c>/3):
    load_50_view_p95_ms=<a> load_50_agree_p95_ms=<b> errors=<e> races_lost=<r> crash_rounds_ok=<c>/20 restore_ok=<0|1>
The exit status is non-zero when a correctness check fails (errors, a race
lost, a crash round or the restore failed, a token hit, no rate limit, the
legitimate recipient refused); missed latency targets are reported only.
`--quick` runs smaller numbers with the same checks (CI); `--phases` runs a
subset. Server logs stay in var/reliability/. Run with `make bench-reliability`
(RELIABILITY_ARGS="--quick" or "--phases races,crashes" pass options).
"""

from __future__ import annotations

import argparse
import base64
import json
import math
import multiprocessing
import os
import random
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path

import psutil
import requests
import urllib3
from common import (
    REPO,
    VAR,
    Page,
    RecipientBrowser,
    Sender,
    TsaProcess,
    drop_database,
    free_port,
    odoo,
    odoo_options,
    wait_for_http,
)

from cloudstamp_engine import Verdict, load_pem_certificates, verify_pdf
from cloudstamp_engine.config import MB
from cloudstamp_engine_testing.checkers import assert_pdfsig_accepts
from cloudstamp_engine_testing.pdf_samples import contract_pdf
from cloudstamp_engine_testing.smtp import Catcher

DB = 'cloudstamp_reliability'
RESTORED = f'{DB}_restored'
LOGS = VAR / 'reliability'
GUESSER_IP, RECIPIENT_IP = '127.0.0.66', '127.0.0.77'
VIEW_P95_TARGET_MS, AGREE_P95_TARGET_MS = 300, 600
PAGE_MARK = 'o_cloudstamp_recipient'  # the recipient pages' layout
ERROR_RE = re.compile(r'o_cloudstamp_error[^>]*>([^<]*)<')
DEFAULT_WORKERS = 2 * (os.cpu_count() or 1)
WORKERS_REASON = (
    '2 per core: an agreement is mostly CPU but also waits on PostgreSQL and the TSA, so one '
    'worker per core leaves the cores idle at times, while more workers make each agreement '
    'wait longer for CPU and cost memory; Odoo adds its 2 cron workers, which complete the '
    'envelopes'
)


def shown(path: Path) -> Path:
    """``path`` relative to the repository when it lies inside it."""
    return path.relative_to(REPO) if path.is_relative_to(REPO) else path


def say(message: str) -> None:
    print(message, flush=True)


def heading(title: str) -> None:
    """A phase's title, with the machine's load: other work skews timings."""
    say(f'\n== {title} == (load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)')


@dataclass(frozen=True)
class Plan:
    load_users: int = 50
    arrival_seconds: float = 10.0
    pause_seconds: float = 1.0
    saturation_agreements: int = 40
    races: int = 20
    crashes: int = 20
    guesses: int = 100_000
    guess_clients: int = 8
    seed: int = 20261126  # arrival times of the load


FULL = Plan()
QUICK = replace(FULL, load_users=10, saturation_agreements=16, races=3, crashes=3, guesses=2000)


@dataclass
class Results:
    plan: Plan
    views: list[float] = field(default_factory=list)
    agrees: list[float] = field(default_factory=list)
    errors: int | None = None
    races_lost: int | None = None
    crash_rounds_ok: int | None = None
    restore_ok: bool | None = None
    failures: list[str] = field(default_factory=list)

    def fail(self, message: str) -> None:
        self.failures.append(message)
        say(f'FAILED: {message}')

    def last_line(self) -> str:
        def shown(value):
            return '-' if value is None else str(int(value))

        view = f'{percentile(self.views, 95):.0f}' if self.views else '-'
        agree = f'{percentile(self.agrees, 95):.0f}' if self.agrees else '-'
        return (
            f'load_{self.plan.load_users}_view_p95_ms={view} '
            f'load_{self.plan.load_users}_agree_p95_ms={agree} errors={shown(self.errors)} '
            f'races_lost={shown(self.races_lost)} '
            f'crash_rounds_ok={shown(self.crash_rounds_ok)}/{self.plan.crashes} '
            f'restore_ok={shown(self.restore_ok)}'
        )


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


def summary(values: list[float]) -> str:
    if not values:
        return 'no samples'
    return (
        f'p50 {percentile(values, 50):.0f} ms, p95 {percentile(values, 95):.0f} ms, '
        f'max {max(values):.0f} ms ({len(values)} requests)'
    )


# ----------------------------------------------------------------------------
# The Odoo server, as `make run` starts it
# ----------------------------------------------------------------------------
class OdooServer:
    """scripts/run.sh in a subprocess; after its `exec` the subprocess is the
    prefork master and its children are the workers (plus the gevent process)."""

    INSTALL_ATTEMPTS = 4

    def __init__(self, db: str, workers: int, smtp_port: int):
        self.db, self.workers, self.smtp_port = db, workers, smtp_port
        self.port = 0
        self.process: subprocess.Popen | None = None
        self.log_path = LOGS / f'server-{db}.log'

    @property
    def base(self) -> str:
        return f'http://127.0.0.1:{self.port}'

    def start(self) -> None:
        """Start the server; when installing the addons fails (someone may be
        in the middle of an edit), drop the database, wait and try again."""
        LOGS.mkdir(parents=True, exist_ok=True)
        self.log_path.write_bytes(b'')
        for attempt in range(1, self.INSTALL_ATTEMPTS + 1):
            self.port = free_port()
            # Cron workers as in production: they complete agreed envelopes
            # (certificate, trail timestamp, mails) right after the last agreement.
            extra = (
                f'--gevent-port={free_port()} --smtp=127.0.0.1 --smtp-port={self.smtp_port} '
                '--log-level=warn --proxy-mode'
            )
            env = dict(
                os.environ,
                CLOUDSTAMP_DB=self.db,
                ODOO_HTTP_PORT=str(self.port),
                ODOO_WORKERS=str(self.workers),
                ODOO_EXTRA_ARGS=extra,
                PYTHON=sys.executable,
            )
            with self.log_path.open('ab') as log:
                self.process = subprocess.Popen(
                    ['bash', str(REPO / 'scripts' / 'run.sh')], cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT
                )
            try:
                wait_for_http(f'{self.base}/web/login', timeout=900, alive=lambda: self.process.poll() is None)
            except TimeoutError:
                if self.process.poll() is None:
                    raise TimeoutError(f'Odoo does not answer on {self.base}; see {self.log_path}') from None
                say(
                    f'scripts/run.sh ended with status {self.process.returncode} '
                    f'(attempt {attempt}/{self.INSTALL_ATTEMPTS}); last log lines:\n{self.log_tail()}'
                )
                if attempt == self.INSTALL_ATTEMPTS:
                    raise RuntimeError(f'Odoo did not start; see {self.log_path}') from None
                drop_database(self.db)
                time.sleep(30)
                continue
            self.wait_for_workers()
            return

    def log_tail(self, lines: int = 15) -> str:
        text = self.log_path.read_text(errors='replace').splitlines()
        return '\n'.join('    ' + line for line in text[-lines:])

    def idle_activity(self, seconds: float = 3.0) -> tuple[float, int]:
        """CPU the idle server uses (% of one core), and how many processes
        besides the HTTP workers it ran meanwhile (1 = its gevent process)."""
        master = self.master()

        def cpu_seconds() -> float:  # the master, its live and its reaped children
            total = sum(master.cpu_times()[:4])
            for child in master.children():
                try:
                    total += sum(child.cpu_times()[:2])
                except psutil.NoSuchProcess:
                    pass
            return total

        others, start, used = set(), time.monotonic(), cpu_seconds()
        while time.monotonic() - start < seconds:
            others |= {child.pid for child in master.children()} - self.worker_pids()
            time.sleep(0.05)
        return (cpu_seconds() - used) / (time.monotonic() - start) * 100, len(others)

    def workers_cpu_seconds(self) -> float:
        """CPU seconds the current HTTP workers have used."""
        total = 0.0
        for pid in self.worker_pids():
            try:
                total += sum(psutil.Process(pid).cpu_times()[:2])
            except psutil.NoSuchProcess:
                pass
        return total

    def last_exception(self) -> str:
        """The newest 'SomeError: message' line of the server log."""
        for line in reversed(self.log_path.read_text(errors='replace').splitlines()):
            if re.match(r'[\w.]+(Error|Exception|NotFound): ', line.strip()):
                return line.strip()
        return '(none in the log)'

    def master(self) -> psutil.Process:
        return psutil.Process(self.process.pid)

    def worker_pids(self) -> set[int]:
        """The HTTP workers: forks of the master, with its command line (the
        gevent process is started with another one)."""
        master = self.master()
        command, pids = master.cmdline(), set()
        for child in master.children():
            try:
                if child.cmdline() == command:
                    pids.add(child.pid)
            except psutil.NoSuchProcess:
                pass
        return pids

    def wait_for_workers(self, gone: int | None = None, timeout: float = 30) -> float:
        """Seconds until every worker runs (and ``gone`` is not among them).

        A child between fork and exec still has the master's command line, so
        the workers found must still be there a moment later."""
        start = time.monotonic()
        while time.monotonic() - start < timeout:
            pids = self.worker_pids()
            if len(pids) >= self.workers and gone not in pids:
                found = time.monotonic() - start
                time.sleep(0.2)
                if len(pids & self.worker_pids()) >= self.workers:
                    return found
            time.sleep(0.05)
        running = len(self.worker_pids())
        raise TimeoutError(f'the prefork master runs {running} of {self.workers} workers')

    def worker_connected_to(self, local_port: int, remote_port: int) -> psutil.Process:
        """The worker holding the TCP connection 127.0.0.1:local_port -> remote_port."""
        for pid in self.worker_pids():
            worker = psutil.Process(pid)
            for connection in worker.connections(kind='tcp'):
                if connection.laddr.port == local_port and connection.raddr and connection.raddr.port == remote_port:
                    return worker
        raise LookupError(f'no worker holds a connection from port {local_port} to {remote_port}')

    def stop(self) -> None:
        if not self.process or self.process.poll() is not None:
            return
        try:
            family = [self.master(), *self.master().children(recursive=True)]
        except psutil.NoSuchProcess:
            family = []
        self.process.terminate()
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            pass
        for process in family:  # only the processes this server started
            try:
                process.kill()
            except psutil.NoSuchProcess:
                pass
        self.process.wait(timeout=30)


# ----------------------------------------------------------------------------
# The system under test
# ----------------------------------------------------------------------------
@dataclass(frozen=True)
class Sent:
    envelope_id: int
    email: str
    token: str


class Bench:
    """TSA, mail catcher, Odoo and the sender; cleans everything up on exit."""

    def __init__(self, plan: Plan, workers: int, tmp: Path):
        self.plan, self.workers, self.tmp = plan, workers, tmp
        self.tsa: TsaProcess | None = None
        self.catcher: Catcher | None = None
        self.server: OdooServer | None = None

    def __enter__(self) -> Bench:
        try:
            self._start()
        except BaseException:
            self.__exit__()
            raise
        return self

    def _start(self) -> None:
        drop_database(DB, RESTORED)  # left over by an interrupted run
        self.tsa = TsaProcess(root_ca_file=self.tmp / 'tsa-root.pem')
        self.catcher = Catcher().start()
        self.server = OdooServer(DB, self.workers, self.catcher.port)
        started = time.monotonic()
        say(
            f'starting Odoo (scripts/run.sh, database {DB}, {self.workers} prefork workers, '
            f'log {shown(self.server.log_path)})'
        )
        self.server.start()
        say(
            f'Odoo ready on {self.server.base} after {time.monotonic() - started:.0f} s; '
            f'workers {sorted(self.server.worker_pids())}'
        )
        cpu, others = self.server.idle_activity()
        say(f'idle server: {cpu:.0f}% of one core; {others} process(es) besides the workers in 3 s')
        if others > 1:
            say(
                f'WARNING: the prefork master keeps restarting its gevent (websocket) process, which '
                f'fails with: {self.server.last_exception()} (see {self.server.log_path.name})'
            )
        self.sender = Sender(self.server.base, DB, 'sender@reliability.example')
        tsa_root_pem = (self.tmp / 'tsa-root.pem').read_bytes()
        self._use_tsa(tsa_root_pem)
        self.root_ca_pem = self._download_root_ca()
        self.trust_roots = load_pem_certificates(self.root_ca_pem) + load_pem_certificates(tsa_root_pem)

    def _use_tsa(self, root_pem: bytes) -> None:
        """As an administrator would: the TSA's URL, and its root among the
        trusted roots (Settings > CloudStamp), so its tokens verify."""
        self.sender.call('ir.config_parameter', 'set_param', 'cloudstamp.tsa_url', self.tsa.url)
        settings = self.sender.call(
            'res.config.settings', 'create', {'cloudstamp_trusted_roots_file': base64.b64encode(root_pem).decode()}
        )
        self.sender.call('res.config.settings', 'execute', [settings])

    def __exit__(self, *exc) -> None:
        for step in (
            self.server and self.server.stop,
            self.catcher and self.catcher.shutdown,
            self.tsa and self.tsa.stop,
            lambda: drop_database(DB, RESTORED),
        ):
            if step:
                try:
                    step()
                except Exception as error:  # noqa: BLE001 - clean up as much as possible
                    say(f'cleanup: {error!r}')

    @property
    def base(self) -> str:
        return self.server.base

    def _download_root_ca(self) -> bytes:
        """/cloudstamp/root_ca.crt, logged in as the administrator."""
        browser = requests.Session()
        login = browser.get(f'{self.base}/web/login', timeout=60)
        hidden = next(fields for action, fields in Page(login.text).forms if action.endswith('/web/login'))
        browser.post(
            f'{self.base}/web/login', timeout=60, data={**hidden, 'login': 'admin', 'password': 'admin'}
        ).raise_for_status()
        answer = browser.get(f'{self.base}/cloudstamp/root_ca.crt', timeout=60)
        answer.raise_for_status()
        if b'BEGIN CERTIFICATE' not in answer.content:
            raise RuntimeError('/cloudstamp/root_ca.crt did not return a PEM certificate')
        return answer.content

    # -- the sender -----------------------------------------------------------
    def send_envelopes(self, label: str, count: int, documents: int = 1) -> list[Sent]:
        """``count`` envelopes of ``documents`` 1 MB PDFs, one recipient each,
        sent; the links are taken from the mails."""

        def send(number: int) -> Sent:
            address = f'{label}-{number:03d}@reliability.example'
            files = [contract_pdf(f'{label} {number} / {i}', padding_bytes=MB - 16 * 1024) for i in range(documents)]
            envelope_id = self.sender.create_envelope(f'{label} {number}', files, [(f'{label} {number}', address)])
            self.sender.call('cloudstamp.envelope', 'action_send', [envelope_id])
            return Sent(envelope_id, address, self.catcher.link_for(address))

        with ThreadPoolExecutor(self.workers) as pool:
            return list(pool.map(send, range(count)))

    def read_envelope(self, envelope_id: int) -> dict:
        """State, waiting recipient, recipients' states and event types."""
        envelope = self.sender.call(
            'cloudstamp.envelope',
            'read',
            [envelope_id],
            ['state', 'current_recipient_id', 'recipient_ids', 'event_ids'],
        )[0]
        recipients = self.sender.call('cloudstamp.recipient', 'read', envelope['recipient_ids'], ['state'])
        events = self.sender.call('cloudstamp.event', 'read', envelope['event_ids'], ['event_type'])
        return {
            'state': envelope['state'],
            'current_recipient': (envelope['current_recipient_id'] or [False])[0],
            'recipients': {r['id']: r['state'] for r in recipients},
            'events': [e['event_type'] for e in events],
        }

    def states(self, envelope_ids: list[int], timeout: float = 120) -> dict[int, str]:
        """The envelopes' states, once none is finalizing any more (the cron
        workers complete them after the last agreement) or ``timeout`` passed."""
        deadline = time.monotonic() + timeout
        while True:
            rows = self.sender.call('cloudstamp.envelope', 'read', envelope_ids, ['state'])
            states = {row['id']: row['state'] for row in rows}
            if 'finalizing' not in states.values() or time.monotonic() > deadline:
                return states
            time.sleep(0.2)

    def trail_ok(self, envelope_id: int) -> tuple[bool, str]:
        action = self.sender.call('cloudstamp.envelope', 'action_verify_trail', [envelope_id])
        return action['params']['type'] == 'success', action['params'].get('message', '')

    def signatures(self, envelope_id: int) -> tuple[list[list[str]], list[str]]:
        """Per PDF (signed_file, over XML-RPC) the actions of its signatures,
        and any problem the engine's verify_pdf finds with them."""
        documents = self.sender.call(
            'cloudstamp.envelope.file', 'search_read', [('envelope_id', '=', envelope_id)], ['name', 'signed_file']
        )
        actions, problems = [], []
        for document in sorted(documents, key=lambda d: d['id']):
            report = verify_pdf(base64.b64decode(document['signed_file'] or ''), self.trust_roots)
            actions.append([s.action for s in report.signatures])
            if report.verdict != Verdict.VALID:
                problems.append(f'{document["name"]}: {report.verdict.value} {report.problems[:2]}')
        return actions, problems


# ----------------------------------------------------------------------------
# Recipients' requests, timed
# ----------------------------------------------------------------------------
class RequestFailed(Exception):
    pass


class Tally:
    """Timings of views and agreements and the errors, from many threads."""

    def __init__(self):
        self.views: list[float] = []
        self.agrees: list[float] = []
        self.errors: list[str] = []

    def request(self, kind: str, call) -> requests.Response:
        """Run ``call`` (one HTTP request); ``kind`` is view, agree or post."""
        start = time.perf_counter()
        try:
            answer = call()
        except Exception as exc:
            self.errors.append(f'{kind}: {exc!r}')
            raise RequestFailed from exc
        elapsed = (time.perf_counter() - start) * 1000
        if answer.status_code >= 400:
            self.errors.append(f'{kind} {answer.request.method} {answer.url}: HTTP {answer.status_code}')
            raise RequestFailed
        if kind == 'view':
            self.views.append(elapsed)
        elif kind == 'agree':
            self.agrees.append(elapsed)
        return answer

    def expect(self, condition: bool, message: str) -> None:
        if not condition:
            self.errors.append(message)
            raise RequestFailed


def visit_and_agree(base: str, token: str, tally: Tally, pause: float) -> None:
    """A recipient: link, terms, documents page and PDFs, a pause, agree, and
    the page the agreement leads to."""
    browser = RecipientBrowser(base, token)
    page = tally.request('view', browser.get)
    tally.expect(browser.has_form(page, 'terms'), f'no terms form at {page.url}')
    tally.request('post', lambda: browser.submit(page, 'terms', follow=False, accept='1'))
    page = tally.request('view', browser.get)
    tally.expect(browser.has_form(page, 'agree'), f'no agree form at {page.url}')
    documents = browser.documents(page)
    tally.expect(bool(documents), f'no document viewer at {page.url}')
    for path in documents:
        pdf = tally.request('view', lambda path=path: browser.get(path))
        tally.expect(pdf.content.startswith(b'%PDF'), f'{path} is not a PDF')
    time.sleep(pause)
    answer = tally.request('agree', lambda: browser.submit(page, 'agree', follow=False))
    tally.request('view', lambda: browser.get(answer.headers.get('Location', '')))


def run_visits(base: str, sent: list[Sent], tally: Tally, window: float, pause: float, seed: int) -> None:
    """Every recipient in its own thread, starting at a random moment in ``window``."""
    rng = random.Random(seed)
    start = time.monotonic() + 0.2

    def visit(token: str, at: float) -> None:
        time.sleep(max(0.0, at - time.monotonic()))
        try:
            visit_and_agree(base, token, tally, pause)
        except RequestFailed:
            pass

    threads = [threading.Thread(target=visit, args=(s.token, start + rng.uniform(0, window))) for s in sent]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + window + 300
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    if stuck := sum(thread.is_alive() for thread in threads):
        tally.errors.append(f'{stuck} recipients still busy after {window + 300:.0f} s')


def not_completed(bench: Bench, sent: list[Sent]) -> list[str]:
    states = bench.states([s.envelope_id for s in sent])
    return [
        f'envelope {s.envelope_id} ({s.email}) is {states[s.envelope_id]}, not completed'
        for s in sent
        if states[s.envelope_id] != 'completed'
    ]


# ----------------------------------------------------------------------------
# Phase 1: load
# ----------------------------------------------------------------------------
def phase_load(bench: Bench, results: Results) -> None:
    plan = bench.plan
    heading(
        f'1. load: {plan.load_users} recipients within {plan.arrival_seconds:.0f} s, '
        f'one 1 MB PDF each, {bench.workers} workers'
    )
    started = time.monotonic()
    warm_up = bench.send_envelopes('warmup', 2 * bench.workers)
    load = bench.send_envelopes('load', plan.load_users)
    batch = bench.send_envelopes('saturation', plan.saturation_agreements)
    say(
        f'prepared and sent {len(warm_up) + len(load) + len(batch)} envelopes in '
        f'{time.monotonic() - started:.0f} s (not timed)'
    )

    # Every worker compiles its templates once; that is not what we measure.
    run_visits(bench.base, warm_up, Tally(), window=0, pause=0, seed=plan.seed)

    tally = Tally()
    run_visits(bench.base, load, tally, plan.arrival_seconds, plan.pause_seconds, plan.seed)
    # The cron workers complete each envelope (certificate, trail timestamp,
    # mails) after its agreement: say how far behind the last one finished.
    waited = time.monotonic()
    errors = tally.errors + not_completed(bench, load)
    results.views, results.agrees = tally.views, tally.agrees
    against_target('views (GET of a page or PDF)', tally.views, VIEW_P95_TARGET_MS)
    against_target('agreements (POST until its response)', tally.agrees, AGREE_P95_TARGET_MS)
    say(
        f'completion by the cron workers: every envelope completed {time.monotonic() - waited:.1f} s '
        f'after the last agreement answered'
    )

    saturation_errors = saturation(bench, batch)
    results.errors = len(errors) + len(saturation_errors)
    for error in (errors + saturation_errors)[:10]:
        say(f'  error: {error}')
    say(f'errors: {len(errors)} in the load, {len(saturation_errors)} in the saturation batch')
    if results.errors:
        results.fail(f'{results.errors} errors under load')


def against_target(label: str, timings: list[float], target_ms: float) -> None:
    met = bool(timings) and percentile(timings, 95) <= target_ms
    say(f'{label}: {summary(timings)}; target p95 <= {target_ms} ms: {"met" if met else "MISSED"}')


def saturation(bench: Bench, sent: list[Sent]) -> list[str]:
    """Agreements fired by 2 x workers clients at once: the server's rate."""
    tally = Tally()

    def ready(item: Sent):
        browser = RecipientBrowser(bench.base, item.token)
        return browser, browser.open_documents()

    with ThreadPoolExecutor(bench.workers) as pool:
        prepared = list(pool.map(ready, sent))
    clients = 2 * bench.workers

    def agree(item) -> None:
        browser, page = item
        try:
            tally.request('agree', lambda: browser.submit(page, 'agree', follow=False))
        except RequestFailed:
            pass

    start, cpu = time.perf_counter(), bench.server.workers_cpu_seconds()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(agree, prepared))
    elapsed = time.perf_counter() - start
    cpu = bench.server.workers_cpu_seconds() - cpu
    say(
        f'saturation: {len(sent)} agreements by {clients} concurrent clients in {elapsed:.1f} s = '
        f'{len(sent) / elapsed:.1f} agreements/s with {bench.workers} workers; the workers used '
        f'{cpu / len(sent) * 1000:.0f} ms of CPU per agreement '
        f'(each agreement: {summary(tally.agrees)})'
    )
    return tally.errors + not_completed(bench, sent)


# ----------------------------------------------------------------------------
# Phase 2: races
# ----------------------------------------------------------------------------
def phase_races(bench: Bench, results: Results) -> None:
    rounds = bench.plan.races
    heading(f'2. races: {rounds} rounds, two sessions post the same agreement at once')
    lost = 0
    for number in range(1, rounds + 1):
        problems, note = guarded(race_round, bench, number)
        lost += bool(problems)
        say(f'race {number}/{rounds}: ' + ('; '.join(problems) if problems else f'ok ({note})'))
    results.races_lost = lost
    if lost:
        results.fail(f'{lost} of {rounds} races lost')


def guarded(round_function, *args) -> tuple[list[str], str]:
    """A round that raises is a failed round, not the end of the run."""
    try:
        return round_function(*args)
    except Exception as exc:  # noqa: BLE001 - reported as the round's problem
        return [f'{type(exc).__name__}: {exc}'], 'stopped'


def race_round(bench: Bench, number: int) -> tuple[list[str], str]:
    sent = bench.send_envelopes(f'race{number}', 1)[0]
    browsers = [RecipientBrowser(bench.base, sent.token) for _ in range(2)]
    pages = [browser.open_documents() for browser in browsers]
    before, _ = bench.signatures(sent.envelope_id)
    barrier = threading.Barrier(2, timeout=60)
    answers: list = [None, None]
    timings = [0.0, 0.0]

    def post(i: int) -> None:
        barrier.wait()
        start = time.perf_counter()
        try:
            answers[i] = browsers[i].submit(pages[i], 'agree')
        except Exception as exc:  # noqa: BLE001 - reported below
            answers[i] = exc
        timings[i] = (time.perf_counter() - start) * 1000

    threads = [threading.Thread(target=post, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)

    problems = [f'client {i + 1}: {problem}' for i, answer in enumerate(answers) if (problem := page_problem(answer))]
    problems += agreed_once(bench, sent.envelope_id, before)
    messages = [m for a in answers if isinstance(a, requests.Response) for m in ERROR_RE.findall(a.text)]
    note = (
        f'{timings[0]:.0f} / {timings[1]:.0f} ms; the other saw: {messages[0].strip()!r}'
        if messages
        else f'{timings[0]:.0f} / {timings[1]:.0f} ms'
    )
    return problems, note


def agreed_once(bench: Bench, envelope_id: int, before: list[list[str]]) -> list[str]:
    """Problems, unless the envelope completed with exactly one agreement: one
    `agreed` event, one agreement signature added to each PDF, every
    signature valid, and an intact trail."""
    problems = []
    after, invalid = bench.signatures(envelope_id)
    problems += invalid
    # Once completed, each PDF ends with its B-LTA archive timestamp.
    after = [actions[:-1] if actions[-1:] == ['archive'] else actions for actions in after]
    if after != [actions + ['agree'] for actions in before]:
        problems.append(f'signatures per PDF: {after}')
    bench.states([envelope_id])  # waits for the completion
    envelope = bench.read_envelope(envelope_id)
    if envelope['state'] != 'completed':
        problems.append(f'envelope {envelope["state"]}')
    if (agreed := envelope['events'].count('agreed')) != 1:
        problems.append(f'{agreed} agreed events')
    trail, message = bench.trail_ok(envelope_id)
    if not trail:
        problems.append(f'trail: {message}')
    return problems


def page_problem(answer) -> str:
    """'' when ``answer`` is a 2xx/3xx chain ending on a recipient page."""
    if not isinstance(answer, requests.Response):
        return f'no answer: {answer!r}'
    statuses = [r.status_code for r in answer.history] + [answer.status_code]
    if any(status >= 400 for status in statuses) or answer.status_code != 200:
        return f'HTTP {statuses}'
    if PAGE_MARK not in answer.text:
        return f'HTTP {statuses} but not a recipient page'
    return ''


# ----------------------------------------------------------------------------
# Phase 3: crashes
# ----------------------------------------------------------------------------
def phase_crashes(bench: Bench, results: Results) -> None:
    rounds = bench.plan.crashes
    heading(
        f'3. crashes: {rounds} rounds, the worker signing an agreement is SIGKILLed while the TSA holds its request'
    )
    ok = 0
    for number in range(1, rounds + 1):
        nth = 1 + (number - 1) % 2  # the first or the second PDF's signature
        problems, note = guarded(crash_round, bench, number, nth)
        ok += not problems
        say(
            f'crash {number}/{rounds} at TSA request {nth}/2: {note}'
            + (f'; FAILED: {"; ".join(problems)}' if problems else '; ok')
        )
    results.crash_rounds_ok = ok
    if ok < rounds:
        results.fail(f'{rounds - ok} of {rounds} crash rounds failed')


def crash_round(bench: Bench, number: int, nth: int) -> tuple[list[str], str]:
    sent = bench.send_envelopes(f'crash{number}', 1, documents=2)[0]
    browser = RecipientBrowser(bench.base, sent.token)
    page = browser.open_documents()
    before, problems = bench.signatures(sent.envelope_id)
    outcome: dict = {}

    def agree() -> None:
        try:
            outcome['answer'] = browser.submit(page, 'agree', follow=False)
        except Exception as exc:  # noqa: BLE001 - the expected end of this request
            outcome['answer'] = exc

    bench.tsa.hold(nth)
    client = threading.Thread(target=agree)
    client.start()
    try:
        port = bench.tsa.wait_held(60)
        worker = bench.server.worker_connected_to(port, bench.tsa.port)
        worker.kill()
        replaced = bench.server.wait_for_workers(gone=worker.pid)
    finally:
        bench.tsa.release()
        client.join(120)
    note = f'killed worker {worker.pid}, replaced after {replaced * 1000:.0f} ms'
    answer = outcome.get('answer')
    if isinstance(answer, requests.Response):
        problems.append(f'the killed request answered HTTP {answer.status_code}')
    else:
        note += f', client saw {type(answer).__name__}'

    problems += consistent_after_crash(bench, sent, before)
    # The same recipient, same link and session, agrees again.
    again = browser.submit(browser.open_documents(), 'agree')
    if problem := page_problem(again):
        problems.append(f'agreeing again: {problem}')
    problems += [f'after agreeing again: {p}' for p in agreed_once(bench, sent.envelope_id, before)]
    return problems, note


def consistent_after_crash(bench: Bench, sent: Sent, before: list[list[str]]) -> list[str]:
    problems = []
    trail, message = bench.trail_ok(sent.envelope_id)
    if not trail:
        problems.append(f'trail: {message}')
    envelope = bench.read_envelope(sent.envelope_id)
    recipient_state = envelope['recipients'].get(envelope['current_recipient'])
    if envelope['state'] != 'sent' or recipient_state not in ('notified', 'opened'):
        problems.append(f'envelope {envelope["state"]}, recipient {recipient_state}')
    if 'agreed' in envelope['events']:
        problems.append('an agreed event was recorded')
    actions, invalid = bench.signatures(sent.envelope_id)
    if actions != before or invalid:
        problems.append(f'signatures changed: {before} -> {actions} {invalid}')
    return problems


# ----------------------------------------------------------------------------
# Phase 4: backup and restore
# ----------------------------------------------------------------------------
# Runs in `odoo shell` on the restored copy; writes a report and the PDFs.
INSPECT_COPY = """
import base64, json, os
from pathlib import Path
out = Path(os.environ['RELIABILITY_OUT'])
root = env['cloudstamp.pki.certificate'].sudo().search([('role', '=', 'root')], limit=1)
report = {'root_ca': root.certificate_pem, 'envelopes': []}
for envelope in env['cloudstamp.envelope'].search([('state', '=', 'completed')]):
    params = envelope.action_verify_trail()['params']
    files = []
    for name, data in [(d.name, d.signed_file) for d in envelope.file_ids] + [
            ('certificate', envelope.agreement_certificate_file)]:
        path = out / f'{envelope.id}-{len(files)}.pdf'
        path.write_bytes(base64.b64decode(data or b''))
        files.append([f'envelope {envelope.id} {name}', str(path)])
    report['envelopes'].append({'id': envelope.id, 'trail': params['type'],
                                'message': str(params.get('message', '')), 'files': files})
(out / 'report.json').write_text(json.dumps(report))
"""


def phase_restore(bench: Bench, results: Results) -> None:
    heading('4. backup and restore: pg_dump + filestore copy, restored under a new name')
    results.restore_ok = False
    completed = bench.sender.call('cloudstamp.envelope', 'search', [('state', '=', 'completed')])
    if not completed:  # run alone: make something to restore
        run_visits(bench.base, bench.send_envelopes('restore', 1), Tally(), window=0, pause=0, seed=0)
        completed = bench.sender.call('cloudstamp.envelope', 'search', [('state', '=', 'completed')])
    work = bench.tmp / 'restore'
    work.mkdir()
    backup_and_restore(work)
    problems = check_copy(bench, inspect_copy(work), completed)
    for problem in problems:
        say(f'  problem: {problem}')
    results.restore_ok = not problems
    if problems:
        results.fail('the restored copy does not verify')


def backup_and_restore(work: Path) -> None:
    """pg_dump and a filestore copy of DB, restored as RESTORED."""
    options = odoo_options()
    pg_env = dict(
        os.environ,
        PGHOST=options['db_host'],
        PGPORT=options['db_port'],
        PGUSER=options['db_user'],
        PGPASSWORD=options['db_password'],
    )
    filestores = Path(options['data_dir']) / 'filestore'
    started = time.monotonic()
    dump = work / f'{DB}.dump'
    run_tool(['pg_dump', '--format=custom', f'--file={dump}', DB], pg_env)
    # After the dump: every file the dump refers to was written before its
    # transaction committed, so it is in the copy.
    shutil.copytree(filestores / DB, work / 'filestore')
    size = sum(f.stat().st_size for f in (work / 'filestore').rglob('*') if f.is_file())
    say(
        f'backup: dump {dump.stat().st_size / MB:.1f} MB, filestore {size / MB:.1f} MB '
        f'in {time.monotonic() - started:.1f} s'
    )
    started = time.monotonic()
    run_tool(['createdb', '--template=template0', RESTORED], pg_env)
    run_tool(['pg_restore', '--no-owner', f'--dbname={RESTORED}', str(dump)], pg_env)
    shutil.copytree(work / 'filestore', filestores / RESTORED)
    say(f'restored as {RESTORED} in {time.monotonic() - started:.1f} s')


def check_copy(bench: Bench, report: dict, completed: list[int]) -> list[str]:
    """What is wrong with the restored copy, as reported by inspect_copy."""
    problems = []
    restored = sorted(e['id'] for e in report['envelopes'])
    if restored != sorted(completed):
        problems.append(f'completed envelopes: {len(completed)} in the original, {len(restored)} in the copy')
    if report['root_ca'].encode().strip() != bench.root_ca_pem.strip():
        problems.append('the root CA of the copy differs from /cloudstamp/root_ca.crt')
    broken = [e for e in report['envelopes'] if e['trail'] != 'success']
    problems += [f'envelope {e["id"]}: {e["message"]}' for e in broken[:5]]
    say(f'trails on the copy: {len(restored) - len(broken)} of {len(restored)} verify')

    files = [f for e in report['envelopes'] for f in e['files']]
    roots_pem = bench.root_ca_pem + (bench.tmp / 'tsa-root.pem').read_bytes()
    started = time.monotonic()
    spawn = multiprocessing.get_context('spawn')  # no fork of a process with threads
    with ProcessPoolExecutor(os.cpu_count() or 1, mp_context=spawn) as pool:
        checks = list(
            pool.map(
                check_signed_pdf,
                [path for _, path in files],
                [roots_pem] * len(files),
            )
        )
    bad = [f'{label}: {problem}' for (label, _), problem in zip(files, checks, strict=True) if problem]
    say(
        f'signed PDFs on the copy: {len(files) - len(bad)} of {len(files)} valid for verify_pdf '
        f'(trusting the database root CA and the TSA root) and pdfsig, '
        f'checked in {time.monotonic() - started:.0f} s'
    )
    return problems + bad[:5] + ([] if files else ['no signed PDF to check'])


def run_tool(command: list[str], env: dict) -> None:
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=900)
    if done.returncode:
        raise RuntimeError(f'{command[0]} failed ({done.returncode}): {done.stderr.strip()[-2000:]}')


def inspect_copy(work: Path) -> dict:
    out = work / 'copy'
    out.mkdir()
    log = LOGS / f'shell-{RESTORED}.log'
    done = odoo(
        '-d',
        RESTORED,
        '--no-http',
        '--log-level=warn',
        command='shell',
        check=False,
        input=INSPECT_COPY,
        env=dict(os.environ, RELIABILITY_OUT=str(out)),
        timeout=900,
    )
    log.write_text(done.stdout + done.stderr)
    if done.returncode or not (out / 'report.json').exists():
        raise RuntimeError(f'odoo shell on {RESTORED} failed; see {log}')
    return json.loads((out / 'report.json').read_text())


def check_signed_pdf(path: str, roots_pem: bytes) -> str:
    """'' when both the engine and pdfsig accept the PDF (in a pool process)."""
    data = Path(path).read_bytes()
    report = verify_pdf(data, load_pem_certificates(roots_pem))
    if report.verdict != Verdict.VALID:
        return f'verify_pdf: {report.verdict.value} {list(report.problems[:2])}'
    # Completed PDFs end with the archive timestamp of PAdES B-LTA.
    stamps = sum(s.is_document_timestamp for s in report.signatures)
    try:
        # The database root first (pdfsig trusts the first certificate), then
        # the TSA's, for OpenSSL's check of the archive timestamp.
        assert_pdfsig_accepts(
            data,
            roots_pem,
            expected_count=len(report.signatures),
            document_timestamps=stamps,
        )
    except AssertionError as exc:
        return f'pdfsig: {exc}'
    return ''


# ----------------------------------------------------------------------------
# Phase 5: token guessing through a forwarding proxy
# ----------------------------------------------------------------------------
def phase_guess(bench: Bench, results: Results) -> None:
    plan = bench.plan
    heading(f'5. guessing: {plan.guesses} random tokens from {GUESSER_IP} through a proxy that appends X-Forwarded-For')
    proxy = subprocess.Popen(
        [sys.executable, str(REPO / 'bench' / 'forwarding_proxy.py'), str(bench.server.port)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        proxy_port = int(proxy.stdout.readline())
        guess_through(bench, results, proxy_port)
    finally:
        proxy.terminate()
        proxy.wait(timeout=30)


def guess_through(bench: Bench, results: Results, proxy_port: int) -> None:
    legit = bench.send_envelopes('guess-legit', 1)[0]
    recipient = RecipientOnProxy(proxy_port, legit.token)
    recipient.open()
    guesser = Guesser(proxy_port, bench.plan.guesses, bench.plan.guess_clients)
    guessing = threading.Thread(target=guesser.run)
    started, cpu = time.monotonic(), bench.server.workers_cpu_seconds()
    guessing.start()
    while guessing.is_alive():
        guessing.join(2)
        recipient.open()
    elapsed = time.monotonic() - started
    cpu = bench.server.workers_cpu_seconds() - cpu
    recipient.open()

    answers = [status for status, _ in guesser.answers]
    first_429 = answers.index(429) + 1 if 429 in answers else None
    hits = sum(status not in (404, 429) for status in answers)
    say(
        f'{len(answers)} guesses in {elapsed:.0f} s ({len(answers) / elapsed:.0f}/s over '
        f'{guesser.clients} keep-alive connections), half with forged X-Forwarded-For/-Host; '
        f'the workers used {cpu / max(1, len(answers)) * 1000:.1f} ms of CPU per answer'
    )
    for forged in (False, True):
        statuses = [status for status, was_forged in guesser.answers if was_forged == forged]
        say(
            f'answers {"with" if forged else "without"} forged headers: '
            + ', '.join(f'{statuses.count(status)} x {status}' for status in sorted(set(statuses)))
        )
    if first_429:
        say(
            f'429 began after {first_429} guesses; {answers[first_429:].count(404)} later answers '
            f'were still 404 (already in flight)'
        )
    say(f'hits: {hits}; transport errors: {guesser.errors}')
    statuses = sorted({status for status, _ in recipient.opened})
    say(
        f'recipient on {RECIPIENT_IP}: {len(recipient.opened)} page opens before, during and after, '
        f'statuses {statuses}, slowest {max(ms for _, ms in recipient.opened):.0f} ms'
    )
    if hits:
        results.fail(f'{hits} guessed tokens were answered with something other than 404/429')
    if first_429 is None:
        results.fail('the rate limit never engaged')
    if statuses != [200]:
        results.fail(f'the legitimate recipient got {statuses}')
    if guesser.errors:
        results.fail(f'{guesser.errors} guesses failed in transport')


class RecipientOnProxy:
    """A recipient opening their page through the proxy from RECIPIENT_IP."""

    def __init__(self, proxy_port: int, token: str):
        self.link = f'/cloudstamp/r/{token}'
        self.pool = urllib3.HTTPConnectionPool(
            '127.0.0.1', proxy_port, maxsize=1, retries=False, timeout=60, source_address=(RECIPIENT_IP, 0)
        )
        self.opened: list[tuple[int, float]] = []  # status, milliseconds

    def open(self) -> None:
        start = time.perf_counter()
        status = self.pool.request('GET', self.link).status
        self.opened.append((status, (time.perf_counter() - start) * 1000))


class Guesser:
    """Random well-formed tokens from GUESSER_IP over a pool of keep-alive
    connections; every other request forges X-Forwarded-* headers, some
    naming the legitimate recipient's address."""

    FORGED = [RECIPIENT_IP, '10.0.0.{}', '203.0.113.{}', '127.0.0.1']

    def __init__(self, proxy_port: int, count: int, clients: int):
        self.clients = clients
        self.pool = urllib3.HTTPConnectionPool(
            '127.0.0.1',
            proxy_port,
            maxsize=clients,
            block=True,
            retries=False,
            timeout=60,
            source_address=(GUESSER_IP, 0),
        )
        self.answers: list[tuple[int, bool]] = []  # status, forged; in the order they came
        self.errors = 0
        self._numbers = iter(range(count))
        self._lock = threading.Lock()

    def run(self) -> None:
        threads = [threading.Thread(target=self._client) for _ in range(self.clients)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    def _client(self) -> None:
        rng = random.Random()
        while (number := self._next()) is not None:
            forged = rng.choice(self.FORGED).format(rng.randrange(1, 255)) if number % 2 else None
            headers = (
                {'X-Forwarded-For': forged, 'X-Real-IP': forged, 'X-Forwarded-Host': 'forged.example'} if forged else {}
            )
            try:
                status = self.pool.request('GET', f'/cloudstamp/r/{secrets.token_urlsafe(32)}', headers=headers).status
            except urllib3.exceptions.HTTPError:
                with self._lock:
                    self.errors += 1
                continue
            self.answers.append((status, bool(forged)))

    def _next(self) -> int | None:
        with self._lock:
            return next(self._numbers, None)


# ----------------------------------------------------------------------------
PHASE_RUNNERS = {
    'load': phase_load,
    'races': phase_races,
    'crashes': phase_crashes,
    'restore': phase_restore,
    'guess': phase_guess,
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--quick', action='store_true', help='small numbers, same checks (CI)')
    parser.add_argument(
        '--phases', default=','.join(PHASE_RUNNERS), help=f'comma-separated subset of {",".join(PHASE_RUNNERS)}'
    )
    parser.add_argument(
        '--workers',
        type=int,
        default=DEFAULT_WORKERS,
        help=f'Odoo prefork workers (default {DEFAULT_WORKERS}: 2 per core)',
    )
    parser.add_argument('--guesses', type=int, help=f'token guesses (default {FULL.guesses}, --quick {QUICK.guesses})')
    parser.add_argument('--seed', type=int, default=FULL.seed, help='arrival times of the load')
    args = parser.parse_args()
    phases = [p.strip() for p in args.phases.split(',') if p.strip()]
    if unknown := set(phases) - set(PHASE_RUNNERS):
        parser.error(f'unknown phases: {", ".join(sorted(unknown))}')
    if args.workers < 2:
        parser.error('--workers must be at least 2 (prefork, and races need two workers)')
    plan = replace(QUICK if args.quick else FULL, seed=args.seed)
    if args.guesses:
        plan = replace(plan, guesses=args.guesses)
    results = Results(plan)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # clean up on kill too

    started = time.monotonic()
    why = WORKERS_REASON if args.workers == DEFAULT_WORKERS else 'set by --workers'
    say(
        f'reliability{" --quick" if args.quick else ""}: phases {", ".join(phases)}; '
        f'{os.cpu_count()} cores, {args.workers} Odoo workers ({why})'
    )
    try:
        with tempfile.TemporaryDirectory(prefix='reliability-') as tmp, Bench(plan, args.workers, Path(tmp)) as bench:
            for phase in phases:
                try:
                    PHASE_RUNNERS[phase](bench, results)
                except Exception as exc:  # noqa: BLE001 - the next phases still run
                    traceback.print_exc()
                    results.fail(f'phase {phase} stopped by {exc!r}')
    except BaseException as exc:  # noqa: BLE001 - report, then still print the last line
        traceback.print_exc()
        results.fail(f'stopped by {exc!r}; server log in {shown(LOGS)}')
    say(f'\n{len(results.failures)} failed checks; {time.monotonic() - started:.0f} s in all')
    say(results.last_line())
    return 1 if results.failures else 0


if __name__ == '__main__':
    sys.exit(main())
