"""Seal stamp cost: drawing one seal, and a 1 MB contract signed with and
without a seal (the seal makes the signature visible, same revision).

Prints medians, then as its last line:
    seal_render_ms=<n> sign_1mb_ms=<n> sign_1mb_seal_ms=<n>
Run: python3 bench/bench_seal.py  (a few seconds).
"""

from __future__ import annotations

import statistics
import time

from cloudstamp_engine import (
    DocumentSigner,
    EmbeddedTimeStamper,
    SealPlacement,
    SealShape,
    SealSpec,
    SignatureAction,
    SignatureRequest,
    generate_service_pki,
    render_seal_pdf,
)
from cloudstamp_engine.config import MB
from cloudstamp_engine_testing.pdf_samples import contract_pdf

PLAIN = SignatureRequest('bench@example.jp', SignatureAction.AGREE)
SEALED = SignatureRequest(
    'bench@example.jp',
    SignatureAction.AGREE,
    seal=SealSpec('株式会社ベータ商', SealPlacement(0, 400, 300)),
)


def median_ms(fn, runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main() -> None:
    start = time.perf_counter()
    render_seal_pdf('佐藤', SealShape.ROUND, 54)
    print(f'first seal (loads the font): {(time.perf_counter() - start) * 1000:.1f} ms')
    render = median_ms(lambda: render_seal_pdf('株式会社ベータ商', SealShape.ROUND, 54), 50)
    pki = generate_service_pki('ベンチ株式会社')
    signer = DocumentSigner(pki.signer(), EmbeddedTimeStamper(pki.tsa()))
    data = contract_pdf(padding_bytes=MB)
    signer.sign(data, SEALED)  # warm up
    plain = median_ms(lambda: signer.sign(data, PLAIN), 15)
    sealed = median_ms(lambda: signer.sign(data, SEALED), 15)
    print(f'seal render median: {render:.1f} ms')
    print(f'sign 1 MB: {plain:.1f} ms, with seal: {sealed:.1f} ms')
    print(f'seal_render_ms={render:.1f} sign_1mb_ms={plain:.1f} sign_1mb_seal_ms={sealed:.1f}')


if __name__ == '__main__':
    main()
