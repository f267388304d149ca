"""Independent checkers: poppler's pdfsig and OpenSSL's RFC 3161 verifier.

They share no code with pyHanko, so they catch mistakes that pyHanko would
repeat on both sides. Missing tools are an error, not a skip: ``make test``
installs them.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class PdfsigSignature:
    field_name: str
    signature_valid: bool
    certificate_trusted: bool
    total_document_signed: bool


def _require(tool: str) -> str:
    path = shutil.which(tool)
    if not path:
        raise AssertionError(f'{tool} is not installed; run `make setup` (poppler-utils, libnss3-tools, openssl)')
    return path


def pdfsig(pdf: bytes, root_cert_pem: bytes | None = None) -> list[PdfsigSignature]:
    """Run pdfsig, with ``root_cert_pem`` trusted in a fresh NSS database."""
    pdfsig_bin = _require('pdfsig')
    with tempfile.TemporaryDirectory() as tmp:
        pdf_path = Path(tmp, 'doc.pdf')
        pdf_path.write_bytes(pdf)
        cmd = [pdfsig_bin]
        if root_cert_pem:
            certutil = _require('certutil')
            nss = Path(tmp, 'nss')
            nss.mkdir()
            Path(tmp, 'root.pem').write_bytes(root_cert_pem)
            subprocess.run(
                [certutil, '-N', '-d', f'sql:{nss}', '--empty-password'],
                check=True,
                capture_output=True,
            )
            subprocess.run(
                [
                    certutil,
                    '-A',
                    '-d',
                    f'sql:{nss}',
                    '-n',
                    'cloudstamp-root',
                    '-t',
                    'CT,C,C',
                    '-a',
                    '-i',
                    str(Path(tmp, 'root.pem')),
                ],
                check=True,
                capture_output=True,
            )
            cmd += ['-nssdir', f'sql:{nss}']
        proc = subprocess.run(cmd + [str(pdf_path)], capture_output=True, text=True, timeout=60)
    return _parse_pdfsig(proc.stdout)


def _parse_pdfsig(output: str) -> list[PdfsigSignature]:
    blocks = re.split(r'^Signature #\d+:\s*$', output, flags=re.M)[1:]
    result = []
    for block in blocks:
        name = re.search(r'Signature Field Name: (.*)', block)
        result.append(
            PdfsigSignature(
                field_name=name.group(1).strip() if name else '',
                signature_valid='Signature Validation: Signature is Valid.' in block,
                certificate_trusted='Certificate Validation: Certificate is Trusted.' in block,
                total_document_signed='Total document signed' in block,
            )
        )
    return result


def assert_pdfsig_accepts(pdf: bytes, root_cert_pem: bytes, expected_count: int | None = None) -> list[PdfsigSignature]:
    """Every signature valid; the first one's certificate trusted.

    poppler 22.12 reports "Unknown issue with Certificate" for later
    signatures made with the same certificate, although pyHanko trusts the
    same chain, so trust is only required of the first.
    """
    sigs = pdfsig(pdf, root_cert_pem)
    assert sigs, 'pdfsig found no signature'
    if expected_count is not None:
        assert len(sigs) == expected_count, sigs
    assert all(s.signature_valid for s in sigs), sigs
    assert sigs[0].certificate_trusted, sigs
    assert sigs[-1].total_document_signed, sigs
    return sigs


def openssl_verify_timestamp(token_der: bytes, data_digest_hex: str, ca_pem: bytes) -> bool:
    """``openssl ts -verify`` of a TimeStampToken against a SHA-256 digest."""
    openssl = _require('openssl')
    with tempfile.TemporaryDirectory() as tmp:
        Path(tmp, 'token.der').write_bytes(token_der)
        Path(tmp, 'ca.pem').write_bytes(ca_pem)
        proc = subprocess.run(
            [
                openssl,
                'ts',
                '-verify',
                '-token_in',
                '-in',
                str(Path(tmp, 'token.der')),
                '-digest',
                data_digest_hex,
                '-CAfile',
                str(Path(tmp, 'ca.pem')),
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )
    return proc.returncode == 0 and 'Verification: OK' in proc.stdout
