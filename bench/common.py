"""What the end-to-end benchmarks share: a mail catcher, the TSA process,
the sender over XML-RPC and a recipient's browser session over HTTP.

Used by bench_e2e.py and reliability.py.
"""

from __future__ import annotations

import base64
import configparser
import os
import queue
import socket
import subprocess
import sys
import threading
import time
import xmlrpc.client
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import parse_qs, urljoin, urlsplit

import requests

REPO = Path(__file__).resolve().parents[1]
VAR = Path(os.environ.get('CLOUDSTAMP_VAR') or REPO / 'var')  # as scripts/lib.sh
CONF = VAR / 'odoo.conf'


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(('127.0.0.1', 0))
        return probe.getsockname()[1]


def odoo_options() -> dict[str, str]:
    """The [options] of var/odoo.conf (written by `make setup`)."""
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(CONF)
    return dict(parser['options'])


def odoo(*args: str, command: str = 'server', check: bool = True, **kw) -> subprocess.CompletedProcess:
    """``python -m odoo COMMAND -c var/odoo.conf ARGS``, output captured."""
    return subprocess.run(
        [sys.executable, '-m', 'odoo', command, '-c', str(CONF), *args],
        check=check,
        capture_output=True,
        text=True,
        **kw,
    )


def odoo_server(db: str, http_port: int, *args: str) -> subprocess.Popen:
    """A threaded Odoo server on 127.0.0.1 for ``db``, without cron threads
    (benchmarks run the jobs they need on demand). ``-d`` and no
    ``--db-filter``: Odoo then skips listing the databases, over a fresh
    PostgreSQL connection, on every request."""
    return subprocess.Popen(
        [
            sys.executable,
            '-m',
            'odoo',
            '-c',
            str(CONF),
            '-d',
            db,
            f'--http-port={http_port}',
            '--http-interface=127.0.0.1',
            '--max-cron-threads=0',
            '--log-level=warn',
            *args,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def drop_database(*names: str) -> None:
    """Drop databases and their filestores (Odoo's database manager is off)."""
    subprocess.run(
        [sys.executable, str(REPO / 'scripts' / 'dbtool.py'), str(CONF), 'drop', *names], check=True, timeout=120
    )


def wait_for_http(url: str, timeout: float = 120, alive=lambda: True) -> None:
    """Wait until ``url`` answers 200; ``alive()`` false means give up early."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and alive():
        try:
            if requests.get(url, timeout=5).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.5)
    raise TimeoutError(f'{url} did not answer 200')


# ----------------------------------------------------------------------------
# Mail
# ----------------------------------------------------------------------------
# ----------------------------------------------------------------------------
# The RFC 3161 TSA in its own process
# ----------------------------------------------------------------------------
class TsaProcess:
    """bench/tsa_server.py: a real RFC 3161 TSA over HTTP on 127.0.0.1, in its
    own process (so it shares no interpreter lock with the client or Odoo).

    ``hold(n)`` makes the n-th request from now block inside the TSA's
    handler until ``release()``; ``wait_held()`` returns the client port of
    the held connection.
    """

    def __init__(self, root_ca_file: Path | None = None):
        command = [sys.executable, str(REPO / 'bench' / 'tsa_server.py')]
        if root_ca_file:
            command += ['--root-ca', str(root_ca_file)]
        self._process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1)
        self._lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        self.url = self._next_line(60)

    @property
    def port(self) -> int:
        return int(self.url.rsplit(':', 1)[1].split('/')[0])

    def _read(self) -> None:
        for line in self._process.stdout:
            self._lines.put(line.strip())
        self._lines.put('')  # end of output

    def _next_line(self, timeout: float) -> str:
        try:
            line = self._lines.get(timeout=timeout)
        except queue.Empty:
            raise TimeoutError('the TSA process did not answer') from None
        if not line:
            raise RuntimeError(f'the TSA process ended (exit status {self._process.wait()})')
        return line

    def _send(self, command: str) -> None:
        self._process.stdin.write(command + '\n')
        self._process.stdin.flush()

    def hold(self, nth: int = 1) -> None:
        self._send(f'hold {nth}')

    def wait_held(self, timeout: float = 60) -> int:
        line = self._next_line(timeout)
        if not line.startswith('held '):
            raise RuntimeError(f'unexpected TSA output: {line!r}')
        return int(line.split()[1])

    def release(self) -> None:
        self._send('release')

    def stop(self) -> int:
        """Stop the TSA; the number of tokens it issued."""
        if self._process.poll() is not None:
            return -1
        self._process.stdin.close()
        try:
            while not (line := self._next_line(30)).isdigit():
                pass  # a "held" line nobody waited for
            return int(line)
        finally:
            self._process.wait(timeout=30)


# ----------------------------------------------------------------------------
# The sender, over XML-RPC
# ----------------------------------------------------------------------------
class Sender:
    """The administrator, sending over XML-RPC with public methods only.

    Every call opens its own connection, so threads may share one Sender.
    """

    def __init__(
        self,
        base: str,
        db: str,
        email_address: str,
        lang: str | None = None,
        login: str = 'admin',
        password: str = 'admin',
        timeout: float = 300,
    ):
        self.base, self.db, self.password, self.timeout = base, db, password, timeout
        self.uid = self._proxy('common').authenticate(db, login, password, {})
        if not self.uid:
            raise RuntimeError(f'{login} cannot log in to {db}')
        values = {'email': email_address, **({'lang': lang} if lang else {})}
        self.call('res.users', 'write', [self.uid], values)
        self.call('ir.config_parameter', 'set_param', 'web.base.url', base)
        self.mail_cron = self.cron('mail.ir_cron_mail_scheduler_action')
        self.finalize_cron = self.cron('cloudstamp_sign.ir_cron_finalize_envelopes')

    def cron(self, xmlid: str) -> int:
        return self.call('ir.model.data', 'check_object_reference', *xmlid.split('.'))[1]

    def _proxy(self, service: str) -> xmlrpc.client.ServerProxy:
        transport = _TimeoutTransport(self.timeout)
        return xmlrpc.client.ServerProxy(f'{self.base}/xmlrpc/2/{service}', allow_none=True, transport=transport)

    def call(self, model: str, method: str, *params, **kw):
        return self._proxy('object').execute_kw(self.db, self.uid, self.password, model, method, list(params), kw)

    def deliver(self) -> None:
        """What the mail queue cron does, on demand."""
        self.call('ir.cron', 'method_direct_trigger', [self.mail_cron])

    def finalize(self) -> None:
        """What the cron worker does after the last agreement, on demand."""
        self.call('ir.cron', 'method_direct_trigger', [self.finalize_cron])

    def create_envelope(self, title: str, files: list[bytes], recipients: list[tuple[str, str]]) -> int:
        return self.call(
            'cloudstamp.envelope',
            'create',
            {
                'name': title,
                'file_ids': [
                    (0, 0, {'name': f'doc{i}.pdf', 'original_file': base64.b64encode(data).decode()})
                    for i, data in enumerate(files)
                ],
                'recipient_ids': [
                    (0, 0, {'name': name, 'email': address, 'sequence': i})
                    for i, (name, address) in enumerate(recipients)
                ],
            },
        )


class JsonRpcClient:
    """A logged-in web client speaking JSON-RPC, as the screens do."""

    def __init__(self, base: str, db: str, login: str = 'admin', password: str = 'admin'):
        self.base = base
        self.session = requests.Session()
        reply = self.session.post(
            f'{base}/web/session/authenticate',
            json={'jsonrpc': '2.0', 'params': {'db': db, 'login': login, 'password': password}},
            timeout=60,
        ).json()
        if 'error' in reply:
            raise RuntimeError(reply['error'])

    def call(self, model: str, method: str, *args, **kwargs):
        reply = self.session.post(
            f'{self.base}/web/dataset/call_kw/{model}/{method}',
            json={'jsonrpc': '2.0', 'params': {'model': model, 'method': method, 'args': list(args), 'kwargs': kwargs}},
            timeout=600,
        ).json()
        if 'error' in reply:
            raise RuntimeError(reply['error']['data']['message'])
        return reply['result']


class _TimeoutTransport(xmlrpc.client.Transport):
    def __init__(self, timeout: float):
        super().__init__()
        self._timeout = timeout

    def make_connection(self, host):
        connection = super().make_connection(host)
        connection.timeout = self._timeout
        return connection


# ----------------------------------------------------------------------------
# A recipient, through their pages
# ----------------------------------------------------------------------------
class Page(HTMLParser):
    """What a client needs from a page: each form's action and hidden
    inputs, and the PDFs its pdf.js viewers show."""

    def __init__(self, html: str):
        super().__init__()
        self.forms: list[tuple[str, dict[str, str]]] = []
        self.documents: list[str] = []
        self._in_form = False
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == 'form':
            self.forms.append((attrs.get('action') or '', {}))
            self._in_form = True
        elif tag == 'input' and self._in_form and attrs.get('type') == 'hidden' and attrs.get('name'):
            self.forms[-1][1][attrs['name']] = attrs.get('value') or ''
        elif tag == 'iframe' and 'viewer.html' in (attrs.get('src') or ''):
            self.documents += parse_qs(urlsplit(attrs['src']).query).get('file', [])

    def handle_endtag(self, tag):
        if tag == 'form':
            self._in_form = False


class RecipientBrowser:
    """One recipient's browser: its own cookie session on its mailed link.

    Forms are posted with every hidden input the page holds (CSRF token
    included), as a browser would, never with hard-coded fields.
    """

    def __init__(self, base: str, token: str, timeout: float = 60):
        self.base, self.timeout = base, timeout
        self.link = f'/cloudstamp/r/{token}'
        self.http = requests.Session()

    def get(self, path: str = '') -> requests.Response:
        """GET ``path`` or URL (default: the link itself)."""
        return self.http.get(urljoin(self.base, path or self.link), timeout=self.timeout)

    def has_form(self, page: requests.Response, action: str) -> bool:
        return any(a == f'{self.link}/{action}' for a, _ in Page(page.text).forms)

    @staticmethod
    def documents(page: requests.Response) -> list[str]:
        """The paths of the PDFs the page's viewers load."""
        return Page(page.text).documents

    def submit(self, page: requests.Response, action: str, follow: bool = True, **fields: str) -> requests.Response:
        """Post the form of ``page`` whose action is ``<link>/<action>``."""
        for form_action, hidden in Page(page.text).forms:
            if form_action == f'{self.link}/{action}':
                return self.http.post(
                    self.base + form_action, data={**hidden, **fields}, allow_redirects=follow, timeout=self.timeout
                )
        raise LookupError(f'no {action!r} form on {page.url} (HTTP {page.status_code})')

    def open_documents(self) -> requests.Response:
        """Open the link and accept the terms if asked: the documents page."""
        page = self.get()
        if self.has_form(page, 'terms'):
            page = self.submit(page, 'terms', accept='1')
        if not self.has_form(page, 'agree'):
            raise LookupError(f'no agree form after the terms (HTTP {page.status_code})')
        return page
