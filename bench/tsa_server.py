"""A real RFC 3161 time-stamping authority on 127.0.0.1, in its own process.

Used by bench_e2e.py so that Odoo and the engine-alone measurement reach the
same TSA over HTTP, as in production, without sharing a Python interpreter
(and its lock) with either. Prints its URL, serves until stdin closes, then
prints how many tokens it issued.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import conftest  # noqa: E402,F401 - registers the engine package without Odoo

from cloudstamp_sign.engine import generate_service_pki  # noqa: E402
from cloudstamp_sign.engine.timestamps import Rfc3161HttpServer  # noqa: E402


def main() -> None:
    with Rfc3161HttpServer(generate_service_pki('CloudStamp Bench TSA').tsa()) as server:
        print(server.url, flush=True)
        sys.stdin.read()
        print(server.request_count, flush=True)


if __name__ == '__main__':
    main()
