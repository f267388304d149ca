"""Verify every signature and document timestamp in a PDF.

The verdict errs on the side of "not valid": any exception, an unsigned
tail, bytes after the last ``%%EOF`` or a change after signing beyond form
filling and further signatures makes the document invalid. Trust in the
signing certificate is judged separately, so a document can be intact but
signed by someone we do not trust (``Verdict.UNTRUSTED``). The same goes for
warnings: a signature without a timestamp (PAdES B-B where the product
promises B-T) is not tampering, but it is not VALID either.
"""

from __future__ import annotations

import asyncio
import enum
import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from asn1crypto import cms, tsp
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from pyhanko.sign.diff_analysis import ModificationLevel
from pyhanko.sign.validation import (
    EmbeddedPdfSignature,
    async_validate_pdf_signature,
    async_validate_pdf_timestamp,
)
from pyhanko.sign.validation.dss import DocumentSecurityStore, NoDSSFoundError
from pyhanko.sign.validation.generic_cms import validate_tst_signed_data
from pyhanko.sign.validation.status import (
    SignatureCoverageLevel,
    TimestampSignatureStatus,
)
from pyhanko_certvalidator import ValidationContext

from .errors import CloudStampEngineError, PreflightRefusal
from .ltv import newest_signature_value
from .preflight import open_reader
from .signing import FIELD_SEPARATOR, SHA256_LENGTH, message_imprint

_ACCEPTED_MODIFICATIONS = (
    ModificationLevel.NONE,
    ModificationLevel.LTA_UPDATES,
    ModificationLevel.FORM_FILLING,
)
# Only whitespace may follow the last %%EOF.
_EOF_TAIL = re.compile(rb'%%EOF[\r\n\t \x00\x0c]*\Z')
SIGNER_REVOKED = "the signer's certificate was revoked before it signed (revocation data in the file)"
NO_TIMESTAMP = 'no timestamp: the signing time is only claimed by the signer (PAdES B-B, not B-T)'


class Verdict(str, enum.Enum):
    VALID = 'valid'
    UNTRUSTED = 'untrusted'  # intact, but no trusted chain
    INVALID = 'invalid'


@dataclass(frozen=True)
class SignatureReport:
    """One signature or document timestamp, oldest first."""

    field_name: str
    is_document_timestamp: bool = False
    actor: str = ''
    action: str = ''
    signer_name: str = ''
    reason: str = ''
    signer_subject: str = ''
    signing_time: datetime | None = None
    timestamp_time: datetime | None = None
    tsa: str = ''
    # The end of the TSA certificate behind the timestamp: until then the
    # timestamp can be validated.
    tsa_valid_until: datetime | None = None
    timestamp_ok: bool = False
    intact: bool = False
    valid: bool = False
    trusted: bool = False
    coverage: str = 'unclear'
    modification_level: str = 'other'
    docmdp_ok: bool = False
    problems: tuple[str, ...] = ()
    # Shortcomings that are not tampering; they keep the verdict from VALID.
    warnings: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass(frozen=True)
class VerificationReport:
    verdict: Verdict
    signatures: tuple[SignatureReport, ...] = ()
    problems: tuple[str, ...] = field(default=())
    warnings: tuple[str, ...] = field(default=())
    # Certificates and revocation data in the file's DSS (PAdES B-LT/B-LTA).
    validation_material_embedded: bool = False

    @property
    def evidence_valid_until(self) -> datetime | None:
        """Until when the file proves itself: with embedded material and an
        archive timestamp last, that timestamp's TSA certificate end; without,
        the first TSA certificate to expire."""
        ends = [s.tsa_valid_until for s in self.signatures if s.tsa_valid_until]
        if not ends:
            return None
        if self.validation_material_embedded and self.signatures[-1].is_document_timestamp:
            return self.signatures[-1].tsa_valid_until
        return min(ends)

    @property
    def is_valid(self) -> bool:
        return self.verdict == Verdict.VALID


# The note our signatures print on page 1 (revision.add_page_note), in an
# uncompressed content stream: readable from the bytes, without parsing.
_PRINTED_DOCUMENT_REF = re.compile(rb'CloudStamp Document ID: (CS(?:-[0-9A-Z]{4}){4})\b')


def printed_document_refs(data: bytes) -> tuple[str, ...]:
    """The CloudStamp document IDs printed on ``data``, in order, once each."""
    return tuple(dict.fromkeys(match.decode('ascii') for match in _PRINTED_DOCUMENT_REF.findall(data)))


def verify_pdf(data: bytes, trust_roots: Sequence[asn1_x509.Certificate] = ()) -> VerificationReport:
    """Report on every signature in ``data``; never raises on bad input."""
    try:
        return asyncio.run(_verify(data, list(trust_roots)))
    except Exception as exc:  # noqa: BLE001 - any failure means "not valid"
        return VerificationReport(Verdict.INVALID, problems=(f'verification failed: {exc!r}',))


async def _verify(data: bytes, roots: list[asn1_x509.Certificate]) -> VerificationReport:
    problems: list[str] = []
    if not _EOF_TAIL.search(data):
        problems.append('data follows the last %%EOF marker')
    try:
        reader = open_reader(data)
    except PreflightRefusal:
        return VerificationReport(Verdict.INVALID, problems=('not a readable PDF',))
    if reader.encrypted:
        # Preflight only admits files that open with an empty user password.
        reader.decrypt('')
    embedded = reader.embedded_signatures
    if not embedded:
        return VerificationReport(Verdict.INVALID, problems=('no signatures',))

    crls = _file_crls(reader)
    reports = _drop_covered_timestamp_warnings([await _check_one(sig, roots, crls) for sig in embedded])
    newest = reports[-1]
    # After the newest signature, only the validation material (DSS) of
    # long-term validation may follow (PAdES B-LT/B-LTA).
    material_only = newest.coverage == SignatureCoverageLevel.ENTIRE_REVISION.name.lower() and (
        newest.modification_level == ModificationLevel.LTA_UPDATES.name.lower()
    )
    if newest.coverage != SignatureCoverageLevel.ENTIRE_FILE.name.lower() and not material_only:
        problems.append(f'newest signature {newest.field_name} does not cover the whole file')
    problems.extend(f'{r.field_name}: {problem}' for r in reports for problem in r.problems)
    warnings = tuple(f'{r.field_name}: {warning}' for r in reports for warning in r.warnings)
    if problems:
        verdict = Verdict.INVALID
    elif warnings or not all(r.trusted for r in reports):
        verdict = Verdict.UNTRUSTED
    else:
        verdict = Verdict.VALID
    return VerificationReport(verdict, tuple(reports), tuple(problems), warnings, _has_validation_material(reader))


def _has_validation_material(reader: Any) -> bool:
    dss = reader.root.get('/DSS')
    if dss is None:
        return False
    dss = dss.get_object()
    return bool(dss.get('/Certs')) and bool(dss.get('/CRLs') or dss.get('/OCSPs'))


def _drop_covered_timestamp_warnings(
    reports: list[SignatureReport],
) -> list[SignatureReport]:
    """A valid document timestamp in a later revision covers every earlier
    byte, so the signatures before it are B-T after all."""
    result = []
    for i, report in enumerate(reports):
        if NO_TIMESTAMP in report.warnings and any(
            later.is_document_timestamp and later.timestamp_ok for later in reports[i + 1 :]
        ):
            report = replace(report, warnings=tuple(w for w in report.warnings if w != NO_TIMESTAMP))
        result.append(report)
    return result


def _context(roots: list[asn1_x509.Certificate]) -> ValidationContext:
    # The verifier works offline: nothing is fetched. Revocation is read
    # from the CRLs the file carries, by _revoked_before.
    return ValidationContext(trust_roots=roots, allow_fetching=False, revocation_mode='soft-fail')


def _file_crls(reader: Any) -> list[x509.CertificateRevocationList]:
    """The CRLs in the file's DSS (B-LT/B-LTA), unchecked."""
    try:
        dss = DocumentSecurityStore.read_dss(reader)
    except NoDSSFoundError:
        return []
    crls = []
    for ref in dss.crls:
        try:
            crls.append(x509.load_der_x509_crl(ref.get_object().data))
        except ValueError:
            continue  # not a CRL: proves nothing either way
    return crls


def _revoked_before(
    certificate: asn1_x509.Certificate,
    moment: datetime | None,
    crls: Sequence[x509.CertificateRevocationList],
    issuers: Sequence[asn1_x509.Certificate],
) -> bool:
    """Whether a CRL in the file, signed by the certificate's issuer, says it
    was revoked at or before ``moment`` (when it signed). A revocation after
    that leaves the signature valid: the timestamp proves it earlier."""
    if moment is None:
        return False
    serial = certificate.serial_number
    for issuer in issuers:
        if issuer.subject != certificate.issuer:
            continue
        public_key = x509.load_der_x509_certificate(issuer.dump()).public_key()
        for crl in crls:
            entry = crl.get_revoked_certificate_by_serial_number(serial)
            if entry is not None and crl.is_signature_valid(public_key) and entry.revocation_date_utc <= moment:
                return True
    return False


async def _check_one(
    sig: EmbeddedPdfSignature,
    roots: list[asn1_x509.Certificate],
    crls: Sequence[x509.CertificateRevocationList] = (),
) -> SignatureReport:
    is_timestamp = sig.sig_object_type == '/DocTimeStamp'
    base = _describe(sig, is_timestamp)
    try:
        if is_timestamp:
            status = await async_validate_pdf_timestamp(sig, validation_context=_context(roots))
        else:
            status = await async_validate_pdf_signature(
                sig,
                signer_validation_context=_context(roots),
                ts_validation_context=_context(roots),
            )
    except Exception as exc:  # noqa: BLE001 - any failure means "not valid"
        return SignatureReport(**base, problems=(f'cannot validate: {exc!r}',))

    problems = []
    if not status.intact:
        problems.append('content changed after signing (digest mismatch)')
    tst = status if is_timestamp else status.timestamp_validity
    signed_at = tst.timestamp if tst is not None else base['signing_time']
    if crls and _revoked_before(status.signing_cert, signed_at, crls, [*roots, *sig.other_embedded_certs]):
        problems.append(SIGNER_REVOKED)
    if not status.valid:
        problems.append('cryptographic signature is not valid')
    level = status.modification_level
    if level is None or level not in _ACCEPTED_MODIFICATIONS:
        problems.append(
            f'modified after signing beyond form filling and signing ({level.name.lower() if level else "unknown"})'
        )
    # A document timestamp's status leaves docmdp_ok unset when no
    # certification applies; a signature's is always evaluated.
    if status.docmdp_ok is False or (status.docmdp_ok is None and not is_timestamp):
        problems.append('changes violate the certification (DocMDP) policy')
    coverage = status.coverage
    if coverage is None or coverage < SignatureCoverageLevel.ENTIRE_REVISION:
        problems.append('signature does not cover its whole revision')

    timestamp_ok = tst is not None and tst.intact and tst.valid
    if tst is not None and not timestamp_ok:
        problems.append('signature timestamp is not valid')
    trusted = bool(status.trusted) and (tst is None or bool(tst.trusted))
    warnings = (NO_TIMESTAMP,) if tst is None and not is_timestamp else ()
    return SignatureReport(
        **base,
        signer_subject=status.signing_cert.subject.human_friendly,
        timestamp_time=tst.timestamp if tst is not None else None,
        tsa=tst.signing_cert.subject.human_friendly if tst is not None else '',
        tsa_valid_until=tst.signing_cert.not_valid_after if tst is not None else None,
        timestamp_ok=timestamp_ok,
        intact=bool(status.intact),
        valid=bool(status.valid),
        trusted=trusted,
        coverage=coverage.name.lower() if coverage else 'unclear',
        modification_level=level.name.lower() if level else 'unknown',
        docmdp_ok=bool(status.docmdp_ok),
        problems=tuple(problems),
        warnings=warnings,
    )


def _describe(sig: EmbeddedPdfSignature, is_timestamp: bool) -> dict[str, Any]:
    """What the signature dictionary claims: field name, actor, action."""
    obj = sig.sig_object
    field_name = sig.field_name or ''
    parts = field_name.split(FIELD_SEPARATOR)
    return {
        'field_name': field_name,
        'is_document_timestamp': is_timestamp,
        'actor': str(obj.get('/ContactInfo', '')),
        'action': parts[-1] if len(parts) == 3 else '',
        'signer_name': str(obj.get('/Name', '')),
        'reason': str(obj.get('/Reason', '')),
        'signing_time': sig.self_reported_timestamp,
    }


@dataclass(frozen=True)
class TimestampCheck:
    """What a detached RFC 3161 token proves about a SHA-256 digest.

    ``valid``: the token parses, its CMS signature verifies and its message
    imprint is SHA-256 and equal to the digest. ``trusted``: it is valid,
    and the TSA certificate chains to a trust root and carries the
    timeStamping extended key usage.
    """

    valid: bool
    trusted: bool
    gen_time: datetime | None = None
    tsa: str = ''
    problems: tuple[str, ...] = ()


@dataclass(frozen=True)
class TimestampClaim:
    """What a TimeStampToken says, read without checking it."""

    gen_time: datetime
    tsa: str
    # The TSA's certificate, when the token carries it (RFC 3161 certReq).
    tsa_certificate: asn1_x509.Certificate | None = None

    @property
    def tsa_valid_until(self) -> datetime | None:
        """Until when the token can be validated: its TSA certificate's end."""
        if self.tsa_certificate is None:
            return None
        return self.tsa_certificate['tbs_certificate']['validity']['not_after'].native


def read_timestamp_token(token: bytes) -> TimestampClaim:
    """The time and TSA a token claims. Nothing is checked: use it to show a
    token one just received from one's own TSA, and
    :func:`verify_timestamp_token` to rely on one.

    :raises ValueError: the bytes are not a TimeStampToken.
    """
    signed_data = cms.ContentInfo.load(bytes(token))['content']
    tst_info = signed_data['encap_content_info']['content'].parsed
    if not isinstance(tst_info, tsp.TSTInfo):
        raise ValueError('not a TimeStampToken')
    sid = signed_data['signer_infos'][0]['sid']
    tsa, tsa_certificate = '', None
    for choice in signed_data['certificates'] or ():
        cert = choice.chosen
        if sid.name == 'issuer_and_serial_number':
            match = cert.issuer == sid.chosen['issuer'] and cert.serial_number == sid.chosen['serial_number'].native
        else:
            match = cert.key_identifier == sid.chosen.native
        if match:
            tsa, tsa_certificate = cert.subject.human_friendly, cert
            break
    return TimestampClaim(gen_time=tst_info['gen_time'].native, tsa=tsa, tsa_certificate=tsa_certificate)


def newest_archive_timestamp(data: bytes) -> TimestampClaim | None:
    """The archive timestamp a B-LTA file ends with (its time, TSA and the
    TSA certificate whose end bounds the evidence), or None. Only that one
    signature is parsed."""
    value = newest_signature_value(data)
    if value is None or value.get('/Type') != '/DocTimeStamp':
        return None
    try:
        return read_timestamp_token(value['/Contents'].original_bytes)
    except ValueError:
        return None


def verify_timestamp_token(
    token: bytes,
    digest: bytes,
    trust_roots: Sequence[asn1_x509.Certificate] = (),
) -> TimestampCheck:
    """Check a TimeStampToken (DER ContentInfo) over ``digest``; never raises
    on bad input. Use :func:`async_verify_timestamp_token` in a coroutine."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        pass
    else:
        raise CloudStampEngineError(
            'verify_timestamp_token cannot run inside an event loop; await async_verify_timestamp_token instead.'
        )
    return asyncio.run(async_verify_timestamp_token(token, digest, trust_roots))


async def async_verify_timestamp_token(
    token: bytes,
    digest: bytes,
    trust_roots: Sequence[asn1_x509.Certificate] = (),
) -> TimestampCheck:
    try:
        return await _check_token(token, digest, list(trust_roots))
    except Exception as exc:  # noqa: BLE001 - any failure means "not valid"
        return TimestampCheck(
            valid=False,
            trusted=False,
            problems=(f'cannot read the token: {exc!r}',),
        )


async def _check_token(token: bytes, digest: bytes, roots: list[asn1_x509.Certificate]) -> TimestampCheck:
    if not isinstance(digest, bytes) or len(digest) != SHA256_LENGTH:
        return TimestampCheck(False, False, problems=('the digest to check is not 32 bytes of SHA-256',))
    content_info = cms.ContentInfo.load(bytes(token), strict=True)
    if content_info['content_type'].native != 'signed_data':
        return TimestampCheck(False, False, problems=('not a CMS SignedData',))
    signed_data = content_info['content']
    tst_info = signed_data['encap_content_info']['content'].parsed
    if not isinstance(tst_info, tsp.TSTInfo):
        return TimestampCheck(False, False, problems=('holds no TSTInfo',))

    problems = []
    algorithm, stamped = message_imprint(tst_info)
    if algorithm != 'sha256':
        problems.append(f'the token stamps a {algorithm} digest, not SHA-256')
    elif stamped != digest:
        problems.append('the token stamps another digest')
    # pyHanko compares the imprint with what we expect; the comparison with
    # ``digest`` is done above, so that "intact" speaks of the CMS alone.
    status = TimestampSignatureStatus(
        **await validate_tst_signed_data(
            signed_data,
            _context(roots),
            expected_tst_imprint=lambda _algo: stamped,
        )
    )
    if not (status.intact and status.valid):
        problems.append('the TSA signature does not verify')
    valid = not problems
    if valid and not status.trusted:
        problems.append(
            'the TSA certificate is not trusted'
            + (f' ({status.trust_problem_indic.name.lower()})' if status.trust_problem_indic else '')
        )
    return TimestampCheck(
        valid=valid,
        trusted=valid and status.trusted,
        gen_time=tst_info['gen_time'].native,
        tsa=status.signing_cert.subject.human_friendly,
        problems=tuple(problems),
    )
