"""RFC 3161 time stamping: the embedded TSA, the HTTP client and server.

The embedded TSA lets a fresh installation produce B-T signatures offline,
with the database's own TSA certificate. An external TSA is reached over
HTTP with pyHanko's client. :class:`Rfc3161HttpServer` serves an embedded
TSA over real HTTP: for tests, or on a trusted network behind TLS (it
speaks plain HTTP with basic authentication at most).
"""

from __future__ import annotations

import base64
import functools
import hmac
import re
import ssl
import sys
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import aiohttp
import certifi
from asn1crypto import algos, cms, core, tsp
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from pyhanko.sign import general
from pyhanko.sign.general import get_pyca_cryptography_hash, simple_cms_attribute
from pyhanko.sign.timestamps import HTTPTimeStamper, TimeStamper
from pyhanko.sign.timestamps.dummy_client import DummyTimeStamper

from .config import HttpTsaConfig
from .pki import SigningIdentity

# Our TSA policy, under the UUID arc (2.25), which needs no registration.
CLOUDSTAMP_TSA_POLICY = '2.25.292610497046427405839155470716470398657'
# A TimeStampReq is a few hundred bytes; nothing honest comes near this.
MAX_REQUEST_BYTES = 64 * 1024
# Seconds a client may take to send its request.
REQUEST_TIMEOUT = 30
_DIGITS = re.compile(r'[0-9]+')


class EmbeddedTimeStamper(DummyTimeStamper):
    """A TSA inside the process, signing with an already parsed key.

    pyHanko's ``DummyTimeStamper`` re-parses and checks its RSA key on every
    token; this one reuses the key held by its :class:`SigningIdentity`.
    """

    def __init__(self, identity: SigningIdentity):
        self.identity = identity
        super().__init__(
            tsa_cert=identity.certificate,
            tsa_key=None,
            certs_to_embed=identity.chain,
        )

    def _build_tst_info(self, message_imprint, dt, req) -> tsp.TSTInfo:
        tst_info = super()._build_tst_info(message_imprint, dt, req)
        tst_info['policy'] = tsp.ObjectIdentifier(CLOUDSTAMP_TSA_POLICY)
        return tst_info

    def _sign_tst_info(self, tst_info_data, md_algorithm, dt):
        digest = hashes.Hash(get_pyca_cryptography_hash(md_algorithm))
        digest.update(tst_info_data)
        signed_attrs = cms.CMSAttributes([
            simple_cms_attribute('content_type', 'tst_info'),
            simple_cms_attribute(
                'signing_time', cms.Time({'utc_time': core.UTCTime(dt)})
            ),
            simple_cms_attribute(
                'signing_certificate',
                general.as_signing_certificate(self.tsa_cert),
            ),
            simple_cms_attribute('message_digest', digest.finalize()),
        ])
        signature = self.identity.sign(signed_attrs.dump(), md_algorithm)
        return signature, signed_attrs

    def _build_signed_data(self, tst_info_data, md_algorithm, signature,
                           signed_attrs):
        signed_data = super()._build_signed_data(
            tst_info_data, md_algorithm, signature, signed_attrs
        )
        if isinstance(self.identity.private_key, ec.EllipticCurvePrivateKey):
            signer_info = signed_data['signer_infos'][0]
            signer_info['signature_algorithm'] = algos.SignedDigestAlgorithm(
                {'algorithm': f'{md_algorithm}_ecdsa'}
            )
        return signed_data

    def request_tsa_response(self, req: tsp.TimeStampReq) -> tsp.TimeStampResp:
        # RFC 3161 genTime is UTC; pyHanko's default uses the local zone.
        self.fixed_dt = datetime.now(timezone.utc).replace(microsecond=0)
        try:
            return super().request_tsa_response(req)
        finally:
            self.fixed_dt = None


def basic_auth_header(username: str, password: str) -> str:
    """RFC 7617 basic credentials, UTF-8 encoded (passwords may be Japanese)."""
    token = base64.b64encode(f'{username}:{password}'.encode()).decode()
    return f'Basic {token}'


@functools.cache
def tls_context() -> ssl.SSLContext:
    """One TLS context per process, verifying against certifi's bundle."""
    return ssl.create_default_context(cafile=certifi.where())


class ReusedTlsTimeStamper(HTTPTimeStamper):
    """pyHanko's HTTP client, sharing one TLS context across requests.

    Without a session of its own, pyHanko opens one per request, and each
    loads certifi's CA bundle into a new TLS context: about a third of an
    agreement's time, even for a plain http TSA. The session cannot be kept
    (each signature runs its own event loop); the context can.
    """

    @asynccontextmanager
    async def _acquire_session(self) -> AsyncIterator[aiohttp.ClientSession]:
        session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(ssl=tls_context())
        )
        try:
            yield session
        finally:
            await session.close()


def http_timestamper(config: HttpTsaConfig) -> TimeStamper:
    """pyHanko's HTTP client for an external TSA, with optional basic auth."""
    headers = (
        {'Authorization': basic_auth_header(config.username, config.password)}
        if config.username else None
    )
    return ReusedTlsTimeStamper(
        config.url, timeout=config.timeout_seconds, headers=headers
    )


class Rfc3161HttpServer:
    """An RFC 3161 responder over HTTP, backed by an embedded TSA.

    Used as a context manager it serves on ``127.0.0.1`` in a thread::

        with Rfc3161HttpServer(tsa_identity) as server:
            server.url  # http://127.0.0.1:PORT/tsa

    ``request_count`` counts the tokens issued, so callers can check that a
    client asks once per signature.

    It speaks plain HTTP and checks basic credentials at most: keep it on
    loopback or behind a TLS proxy. Request bodies above ``max_request_bytes``
    get 413, a missing or malformed Content-Length 400.
    """

    def __init__(self, identity: SigningIdentity, host: str = '127.0.0.1',
                 port: int = 0, username: str = '', password: str = '',
                 max_request_bytes: int = MAX_REQUEST_BYTES):
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
        return hmac.compare_digest(
            (header or '').encode(), expected.encode()
        )

    def _respond(self, body: bytes) -> bytes:
        """The DER TimeStampResp; ValueError when ``body`` is no request."""
        try:
            req = tsp.TimeStampReq.load(body)
            req.native  # parse fully now: a malformed request must fail here
        except Exception as exc:  # noqa: BLE001 - asn1crypto raises many types
            raise ValueError(f'malformed TimeStampReq: {exc!r}') from exc
        with self._lock:
            self.request_count += 1
            return self.timestamper.request_tsa_response(req).dump()

    def _handler_class(self):
        server = self

        class Handler(BaseHTTPRequestHandler):
            # Headers and body leave in two writes: without TCP_NODELAY the
            # body can wait for the client's delayed ACK (up to 40 ms).
            disable_nagle_algorithm = True
            # A client that stops sending mid-request frees its thread.
            timeout = REQUEST_TIMEOUT

            def log_message(self, *args):  # keep test output quiet
                pass

            def _fail(self, status: int) -> None:
                # The body may be unread: the connection cannot be reused.
                self.close_connection = True
                self.send_response(status)
                self.send_header('Content-Length', '0')
                self.send_header('Connection', 'close')
                self.end_headers()

            def do_POST(self):
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
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> Rfc3161HttpServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def _content_length(header: str | None) -> int | None:
    """The declared body length, or None unless it is plain decimal digits
    (RFC 9110: no sign, no spaces inside, one value)."""
    value = (header or '').strip()
    if not _DIGITS.fullmatch(value):
        return None
    # Past 18 digits it is too large anyway, and int() refuses past 4300.
    return int(value) if len(value) <= 18 else sys.maxsize
