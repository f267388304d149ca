"""Signing benchmark: CloudStamp's engine against stock pyHanko, same run.

Prints medians, then as its last line:
    sign_bt_4mb_median_ms=<n> ratio_vs_stock_pyhanko=<r> peak_rss_mb=<m>
    lta_completion_ms=<n> ratio_vs_bt=<r>   (issue #11: r <= 2)
Targets (issue #2): ratio <= 0.5, peak RSS < 150 MB.
Run with `make bench`.
"""

from __future__ import annotations

import argparse
import io
import resource
import statistics
import subprocess
import sys
import time

from pyhanko.keys import load_private_key_from_pemder_data
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import fields, signers
from pyhanko.sign.timestamps.dummy_client import DummyTimeStamper
from pyhanko_certvalidator.registry import SimpleCertificateStore

from cloudstamp_engine import (
    DocumentSigner,
    EmbeddedTimeStamper,
    PreflightLimits,
    SignatureAction,
    SignatureRequest,
    ValidationMaterial,
    generate_service_pki,
    issue_certificate_crl,
    load_pem_certificates,
    preflight,
)
from cloudstamp_engine.config import MB
from cloudstamp_engine_testing.pdf_samples import contract_pdf

REQUEST = SignatureRequest('bench@example.jp', SignatureAction.AGREE)


def stock_pyhanko(pki):
    """What pyHanko's documentation shows: SimpleSigner + DummyTimeStamper."""

    def key(pem):
        return load_private_key_from_pemder_data(pem, passphrase=None)

    def cert(pem):
        return load_pem_certificates(pem)[0]

    root = cert(pki.root_cert_pem)
    signer = signers.SimpleSigner(
        signing_cert=cert(pki.signer_cert_pem),
        signing_key=key(pki.signer_key_pem),
        cert_registry=SimpleCertificateStore.from_certs([root]),
    )
    timestamper = DummyTimeStamper(
        tsa_cert=cert(pki.tsa_cert_pem),
        tsa_key=key(pki.tsa_key_pem),
        certs_to_embed=[root],
    )

    def sign(data: bytes) -> bytes:
        meta = signers.PdfSignatureMetadata(
            field_name='Signature',
            md_algorithm='sha256',
            subfilter=fields.SigSeedSubFilter.PADES,
        )
        out = io.BytesIO()
        signers.PdfSigner(meta, signer=signer, timestamper=timestamper).sign_pdf(
            IncrementalPdfFileWriter(io.BytesIO(data)), output=out
        )
        return out.getvalue()

    return sign


def median_ms(fn, data: bytes, runs: int) -> float:
    fn(data)  # warm-up
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn(data)
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def rss_child(size: int) -> None:
    """Fresh process: sign the 4 MB file and report peak RSS in MB."""
    pki = generate_service_pki('Bench')
    engine = DocumentSigner(pki.signer(), EmbeddedTimeStamper(pki.tsa()))
    data = contract_pdf(padding_bytes=size)
    for _ in range(3):
        engine.sign(data, REQUEST)
    print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument('--runs', type=int, default=15)
    parser.add_argument('--rss-child', type=int, default=0)
    args = parser.parse_args()
    if args.rss_child:
        rss_child(args.rss_child)
        return

    pki = generate_service_pki('Bench')
    engine = DocumentSigner(pki.signer(), EmbeddedTimeStamper(pki.tsa()))
    ours = lambda data: engine.sign(data, REQUEST)  # noqa: E731
    stock = stock_pyhanko(pki)
    big_size = 4 * MB - 64 * 1024
    files = {
        '4mb': contract_pdf(padding_bytes=big_size),
        '100kb': contract_pdf(padding_bytes=100 * 1024),
    }
    assert preflight(files['4mb'], limits=PreflightLimits()).size <= 4 * MB
    results = {}
    for label, data in files.items():
        results[label] = (median_ms(ours, data, args.runs), median_ms(stock, data, args.runs))
        print(
            f'{label:>6} ({len(data) / MB:.2f} MB): cloudstamp median '
            f'{results[label][0]:.1f} ms, stock pyHanko median '
            f'{results[label][1]:.1f} ms, ratio {results[label][0] / results[label][1]:.2f}'
        )
    peak = float(
        subprocess.run(
            [sys.executable, __file__, '--rss-child', str(big_size)],
            check=True,
            capture_output=True,
            text=True,
        )
        .stdout.strip()
        .splitlines()[-1]
    )
    ours_4mb, stock_4mb = results['4mb']
    print(
        f'sign_bt_4mb_median_ms={ours_4mb:.1f} ratio_vs_stock_pyhanko={ours_4mb / stock_4mb:.2f} peak_rss_mb={peak:.1f}'
    )
    lta_ms, bt_ms = lta_completion(args.runs)
    print(f'lta_completion_ms={lta_ms:.1f} ratio_vs_bt={lta_ms / bt_ms:.2f}')


def lta_completion(runs: int) -> tuple[float, float]:
    """The B-LTA step at completion (validation material for 3 signatures,
    then the archive timestamp) on a 1 MB PDF, against one B-T signature of
    the same file, in the same run."""
    pki = generate_service_pki('Bench', crl_base_url='http://127.0.0.1:9/crl/1')
    engine = DocumentSigner(pki.signer(), EmbeddedTimeStamper(pki.tsa()))
    # What the service embeds: one CRL per certificate (signer and TSA).
    material = ValidationMaterial(
        trust_roots=tuple(load_pem_certificates(pki.root_cert_pem)),
        crls=tuple(
            issue_certificate_crl(pki.root_cert_pem, pki.root_key_pem, pem)
            for pem in (pki.signer_cert_pem, pki.tsa_cert_pem)
        ),
        certificates=tuple(load_pem_certificates(pki.signer_cert_pem + pki.tsa_cert_pem)),
    )
    data = contract_pdf(padding_bytes=MB - 64 * 1024)
    for email in ('a@bench.example', 'b@bench.example', 'c@bench.example'):
        data = engine.sign(data, SignatureRequest(email, SignatureAction.AGREE))
    lta_ms = median_ms(lambda pdf: engine.extend_to_lta(pdf, material), data, runs)
    bt_ms = median_ms(lambda pdf: engine.sign(pdf, REQUEST), data, runs)
    print(f'  1 MB, 3 signatures: B-LTA step median {lta_ms:.1f} ms, one B-T signature median {bt_ms:.1f} ms')
    return lta_ms, bt_ms


if __name__ == '__main__':
    main()
