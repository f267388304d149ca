"""Independent checkers: poppler's pdfsig and OpenSSL's RFC 3161 verifier.

They share no code with pyHanko, so they catch mistakes that pyHanko would
repeat on both sides. Missing tools are an error, not a skip: ``make test``
installs them.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path


@dataclass(frozen=True)
class PdfsigSignature:
    field_name: str
    signature_valid: bool
    certificate_trusted: bool
    total_document_signed: bool
    # poppler 22.12 cannot check an ETSI.RFC3161 document timestamp: it says
    # "Signature Type: unknown" and leaves it unverified.
    unverified_type: bool = False


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
                unverified_type='Signature Type: unknown' in block,
            )
        )
    return result


def assert_pdfsig_accepts(
    pdf: bytes,
    root_cert_pem: bytes,
    expected_count: int | None = None,
    document_timestamps: int = 0,
    at: datetime | None = None,
) -> list[PdfsigSignature]:
    """Every signature valid; the first one's certificate trusted.

    poppler 22.12 reports "Unknown issue with Certificate" for later
    signatures made with the same certificate, although pyHanko trusts the
    same chain, so trust is only required of the first.

    The last ``document_timestamps`` entries are document timestamps, which
    pdfsig lists but cannot check: OpenSSL's ``ts -verify`` checks them
    instead, over the byte ranges that pdfsig reports as the whole file, at
    time ``at`` (default: now; a file renewed under a frozen clock needs its
    own time).
    """
    sigs = pdfsig(pdf, root_cert_pem)
    assert sigs, 'pdfsig found no signature'
    if expected_count is not None:
        assert len(sigs) == expected_count, sigs
    signatures, stamps = sigs[: len(sigs) - document_timestamps], sigs[len(sigs) - document_timestamps :]
    assert all(s.signature_valid for s in signatures), sigs
    assert all(s.unverified_type for s in stamps), sigs
    if signatures:
        assert signatures[0].certificate_trusted, sigs
    assert sigs[-1].total_document_signed, sigs
    if document_timestamps:
        assert openssl_verify_document_timestamp(pdf, root_cert_pem, at), 'openssl ts -verify refused the timestamp'
    return sigs


_BYTE_RANGE = re.compile(rb'/ByteRange\s*\[\s*(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s*\]')


def openssl_verify_document_timestamp(pdf: bytes, ca_pem: bytes, at: datetime | None = None) -> bool:
    """The newest signature of ``pdf``, read as a document timestamp, with
    OpenSSL: the token in its /Contents must vouch for the SHA-256 of its
    byte ranges, and those ranges must span the whole file."""
    start1, length1, start2, length2 = (int(n) for n in _BYTE_RANGE.findall(pdf)[-1])
    if start1 != 0 or start2 + length2 != len(pdf):
        return False
    contents = pdf[start1 + length1 : start2].strip(b'<>')
    token = _der_prefix(bytes.fromhex(contents.decode('ascii')))
    digest = hashlib.sha256(pdf[start1 : start1 + length1] + pdf[start2 : start2 + length2]).hexdigest()
    return openssl_verify_timestamp(token, digest, ca_pem, at)


def openssl_verify_timestamp(token_der: bytes, data_digest_hex: str, ca_pem: bytes, at: datetime | None = None) -> bool:
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
                *(['-attime', str(int(at.timestamp()))] if at else []),
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )
    return proc.returncode == 0 and 'Verification: OK' in proc.stdout


def _der_prefix(padded: bytes) -> bytes:
    """The DER value at the start of ``padded`` (/Contents is zero-padded)."""
    if padded[1] < 0x80:
        return padded[: 2 + padded[1]]
    size_bytes = padded[1] & 0x7F
    return padded[: 2 + size_bytes + int.from_bytes(padded[2 : 2 + size_bytes], 'big')]
