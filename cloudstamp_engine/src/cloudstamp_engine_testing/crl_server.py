"""A certification authority's CRL distribution point over real HTTP, for
tests: the CA of an "external" TSA, whose revocation data B-LTA must fetch
and embed.

Start it first, issue certificates whose distribution point is under
``base_url``, then ``publish`` them::

    with CrlHttpServer() as crls:
        pki = generate_service_pki('External TSA', crl_base_url=crls.base_url)
        crls.publish(pki.root_cert_pem, pki.root_key_pem, [pki.tsa_cert_pem])

Each GET signs a fresh CRL valid ``validity``, as a real CA's would be.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from cryptography import x509

from cloudstamp_engine import issue_certificate_crl


class CrlHttpServer:
    def __init__(self, host: str = '127.0.0.1', port: int = 0, validity: dt.timedelta = dt.timedelta(days=7)):
        self.validity = validity
        self.request_count = 0
        self._issuers: dict[str, tuple[bytes, bytes, bytes]] = {}
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer((host, port), self._handler_class())

    @property
    def base_url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f'http://{host}:{port}/crl'

    def publish(self, root_cert_pem: bytes, root_key_pem: bytes, cert_pems: Iterable[bytes]) -> None:
        for pem in cert_pems:
            serial = x509.load_pem_x509_certificate(pem).serial_number
            self._issuers[f'/crl/{serial:x}.crl'] = (root_cert_pem, root_key_pem, pem)

    def _crl(self, path: str) -> bytes | None:
        issuer = self._issuers.get(path)
        if issuer is None:
            return None
        now = dt.datetime.now(dt.UTC)
        with self._lock:
            self.request_count += 1
        return issue_certificate_crl(*issuer, now=now, next_update=now + self.validity)

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:  # keep test output quiet
                pass

            def do_GET(self) -> None:
                crl = server._crl(self.path)
                self.send_response(200 if crl else 404)
                self.send_header('Content-Type', 'application/pkix-crl')
                self.send_header('Content-Length', str(len(crl or b'')))
                self.end_headers()
                self.wfile.write(crl or b'')

        return Handler

    def __enter__(self) -> CrlHttpServer:
        threading.Thread(target=self._httpd.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
