"""A real RFC 3161 time-stamping authority on 127.0.0.1, in its own process.

Used by bench_e2e.py and reliability.py (through common.TsaProcess) so that
Odoo and the engine-alone measurement reach the same TSA over HTTP, as in
production, without sharing a Python interpreter (and its lock) with either.

Prints its URL, then obeys commands on stdin, one a line:
    hold N     the N-th request from now blocks inside the handler, before
               it is answered; prints "held <client port>" when it arrives
    release    unblocks held requests (answered if their client still lives)
When stdin closes it stops and prints how many tokens it issued.
``--root-ca FILE`` writes the TSA's root certificate (PEM) to FILE.
"""

from __future__ import annotations

import argparse
import sys
import threading
from pathlib import Path

from cloudstamp_engine import generate_service_pki
from cloudstamp_engine_testing.tsa_server import Rfc3161HttpServer

HOLD_LIMIT_SECONDS = 300  # a forgotten hold never blocks forever
_print_lock = threading.Lock()


def say(line: str) -> None:
    with _print_lock:
        try:
            print(line, flush=True)
        except BrokenPipeError:  # the parent is gone: nobody to tell
            pass


class HoldingTsa(Rfc3161HttpServer):
    """The engine's RFC 3161 server, able to hold one request on command."""

    def __init__(self, identity):
        super().__init__(identity)
        self._countdown = 0
        self._countdown_lock = threading.Lock()
        self._released = threading.Event()
        self._released.set()

    def hold(self, nth: int) -> None:
        with self._countdown_lock:
            self._released.clear()
            self._countdown = nth

    def release(self) -> None:
        with self._countdown_lock:
            self._countdown = 0
            self._released.set()

    def _maybe_hold(self, client_address) -> None:
        with self._countdown_lock:
            if not self._countdown:
                return
            self._countdown -= 1
            if self._countdown:
                return
        say(f'held {client_address[1]}')
        self._released.wait(HOLD_LIMIT_SECONDS)

    def _handler_class(self):
        server, base = self, super()._handler_class()

        class Handler(base):
            def do_POST(self):
                server._maybe_hold(self.client_address)
                try:
                    super().do_POST()
                except OSError:  # the client died while its request was held
                    self.close_connection = True

        return Handler


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument('--root-ca', type=Path, help='write the root certificate (PEM) here')
    args = parser.parse_args()
    pki = generate_service_pki('CloudStamp Bench TSA')
    if args.root_ca:
        args.root_ca.write_bytes(pki.root_cert_pem)
    with HoldingTsa(pki.tsa()) as server:
        say(server.url)
        for line in sys.stdin:
            command, *params = line.split() or ['']
            if command == 'hold':
                server.hold(int(params[0]) if params else 1)
            elif command == 'release':
                server.release()
        server.release()
        say(str(server.request_count))


if __name__ == '__main__':
    main()
