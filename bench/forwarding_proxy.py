"""A small reverse proxy on 127.0.0.1, configured as nginx is in front of Odoo.

    proxy_set_header X-Forwarded-For   $proxy_add_x_forwarded_for;  # appended
    proxy_set_header X-Forwarded-Host  $host;
    proxy_set_header X-Forwarded-Proto $scheme;

Whatever X-Forwarded-* headers a client sends, the last X-Forwarded-For entry
is the address the client really connected from, and Odoo (--proxy-mode)
takes that one. Used by reliability.py in its own process:

    python bench/forwarding_proxy.py UPSTREAM_PORT   # prints the port it listens on
"""

from __future__ import annotations

import http.client
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HOP_BY_HOP = {
    'connection',
    'keep-alive',
    'proxy-authenticate',
    'proxy-authorization',
    'te',
    'trailers',
    'transfer-encoding',
    'upgrade',
    'content-length',
}
SET_BY_PROXY = {'x-forwarded-for', 'x-forwarded-host', 'x-forwarded-proto'}


class ProxyHandler(BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'  # keep-alive with clients
    disable_nagle_algorithm = True
    upstream_port = 0

    def log_message(self, *args):
        pass

    def do_GET(self):
        self.forward()

    do_HEAD = do_POST = do_GET

    def forward(self) -> None:
        length = int(self.headers.get('Content-Length') or 0)
        body = self.rfile.read(length) if length else None
        headers = [
            (name, value) for name, value in self.headers.items() if name.lower() not in HOP_BY_HOP | SET_BY_PROXY
        ]
        earlier = ', '.join(self.headers.get_all('X-Forwarded-For') or [])
        client = self.client_address[0]
        headers += [
            ('X-Forwarded-For', f'{earlier}, {client}' if earlier else client),
            ('X-Forwarded-Host', self.headers.get('Host', '')),
            ('X-Forwarded-Proto', 'http'),
        ]
        upstream = http.client.HTTPConnection('127.0.0.1', self.upstream_port, timeout=120)
        try:
            upstream.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
            for name, value in headers:
                upstream.putheader(name, value)
            upstream.endheaders(body)
            response = upstream.getresponse()
            data = response.read()
        except OSError as exc:
            self.send_error(502, explain=repr(exc))
            return
        finally:
            upstream.close()
        self.send_response_only(response.status, response.reason)
        for name, value in response.getheaders():
            if name.lower() not in HOP_BY_HOP:
                self.send_header(name, value)
        self.send_header('Content-Length', str(len(data)))
        self.end_headers()
        if self.command != 'HEAD':
            self.wfile.write(data)


class ProxyServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128


def main() -> None:
    ProxyHandler.upstream_port = int(sys.argv[1])
    server = ProxyServer(('127.0.0.1', 0), ProxyHandler)
    print(server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == '__main__':
    main()
