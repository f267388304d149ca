"""An RFC 3161 time-stamping authority over real HTTP, for tests and benchmarks.

It serves the engine's :class:`~cloudstamp_engine.EmbeddedTimeStamper` the
way an external TSA would, so that the HTTP client (``http_timestamper``)
is tested against real requests. Production never runs it: it speaks plain
HTTP and checks basic credentials at most.
"""

from __future__ import annotations

import hmac
import re
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from asn1crypto import tsp

from cloudstamp_engine import EmbeddedTimeStamper, SigningIdentity
from cloudstamp_engine.timestamps import basic_auth_header

# A TimeStampReq is a few hundred bytes; nothing honest comes near this.
MAX_REQUEST_BYTES = 64 * 1024
# Seconds a client may take to send its request.
REQUEST_TIMEOUT = 30
_DIGITS = re.compile(r'[0-9]+')


class Rfc3161HttpServer:
    """An RFC 3161 responder over HTTP, backed by an embedded TSA.

    Used as a context manager it serves on ``127.0.0.1`` in a thread::

        with Rfc3161HttpServer(tsa_identity) as server:
            server.url  # http://127.0.0.1:PORT/tsa

    ``request_count`` counts the tokens issued, so callers can check that a
    client asks once per signature.

    Request bodies above ``max_request_bytes`` get 413, a missing or
    malformed Content-Length 400.
    """

    def __init__(
        self,
        identity: SigningIdentity,
        host: str = '127.0.0.1',
        port: int = 0,
        username: str = '',
        password: str = '',
        max_request_bytes: int = MAX_REQUEST_BYTES,
    ):
        self.timestamper = EmbeddedTimeStamper(identity)
        self.username = username
        self.password = password
        self.max_request_bytes = max_request_bytes
        self.request_count = 0
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer((host, port), self._handler_class())
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f'http://{host}:{port}/tsa'

    def _authorized(self, header: str | None) -> bool:
        if not self.username:
            return True
        expected = basic_auth_header(self.username, self.password)
        return hmac.compare_digest((header or '').encode(), expected.encode())

    def _respond(self, body: bytes) -> bytes:
        """The DER TimeStampResp; ValueError when ``body`` is no request."""
        try:
            req = tsp.TimeStampReq.load(body)
            req.native  # noqa: B018 - parse fully now: a malformed request must fail here
        except Exception as exc:  # noqa: BLE001 - asn1crypto raises many types
            raise ValueError(f'malformed TimeStampReq: {exc!r}') from exc
        with self._lock:
            self.request_count += 1
            return self.timestamper.request_tsa_response(req).dump()

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            # Headers and body leave in two writes: without TCP_NODELAY the
            # body can wait for the client's delayed ACK (up to 40 ms).
            disable_nagle_algorithm = True
            # A client that stops sending mid-request frees its thread.
            timeout = REQUEST_TIMEOUT

            def log_message(self, *args: object) -> None:  # keep test output quiet
                pass

            def _fail(self, status: int) -> None:
                # The body may be unread: the connection cannot be reused.
                self.close_connection = True
                self.send_response(status)
                self.send_header('Content-Length', '0')
                self.send_header('Connection', 'close')
                self.end_headers()

            def do_POST(self) -> None:
                if not server._authorized(self.headers.get('Authorization')):
                    self.close_connection = True
                    self.send_response(401)
                    self.send_header('WWW-Authenticate', 'Basic realm="tsa"')
                    self.send_header('Content-Length', '0')
                    self.end_headers()
                    return
                length = _content_length(self.headers.get('Content-Length'))
                if length is None:
                    self._fail(400)
                    return
                if length > server.max_request_bytes:
                    self._fail(413)
                    return
                try:
                    body = self.rfile.read(length)
                except OSError:  # timed out or reset
                    self.close_connection = True
                    return
                try:
                    reply = server._respond(body)
                except ValueError:
                    self._fail(400)
                    return
                except Exception:  # noqa: BLE001 - answer rather than hang up
                    self._fail(500)
                    return
                self.send_response(200)
                self.send_header('Content-Type', 'application/timestamp-reply')
                self.send_header('Content-Length', str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

        return Handler

    def start(self) -> Rfc3161HttpServer:
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> Rfc3161HttpServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _content_length(header: str | None) -> int | None:
    """The declared body length, or None unless it is plain decimal digits
    (RFC 9110: no sign, no spaces inside, one value)."""
    value = (header or '').strip()
    if not _DIGITS.fullmatch(value):
        return None
    # Past 18 digits it is too large anyway, and int() refuses past 4300.
    return int(value) if len(value) <= 18 else sys.maxsize
