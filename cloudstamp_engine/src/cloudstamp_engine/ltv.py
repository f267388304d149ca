"""Long-term validation: PAdES B-LTA, its renewal, and validating it later.

A B-T signature proves who signed and when, but checking it needs the
signer's and the TSA's certificates to be valid and their revocation status
to be known. B-LTA puts that validation material (certificates and CRLs) in
the PDF's Document Security Store and covers everything with a document
timestamp, so the file can be checked offline. Before that timestamp's own
TSA certificate expires, a renewal adds the material for it and a fresh
timestamp on top (ETSI EN 319 142-1); earlier signatures are never touched.
"""

from __future__ import annotations

import asyncio
import urllib.parse
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from io import BytesIO

from asn1crypto import cms
from asn1crypto import crl as asn1_crl
from asn1crypto import x509 as asn1_x509
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.fields import enumerate_sig_fields
from pyhanko.sign.signers.pdf_signer import PdfTimeStamper
from pyhanko.sign.timestamps import TimeStamper
from pyhanko.sign.validation.ades import ades_lta_validation
from pyhanko.sign.validation.dss import DocumentSecurityStore
from pyhanko.sign.validation.policy_decl import (
    CertValidationPolicySpec,
    PdfSignatureValidationSpec,
    RevinfoOnlineFetchingRule,
    RevocationInfoGatheringSpec,
    SignatureValidationSpec,
)
from pyhanko_certvalidator.context import ValidationTimingInfo
from pyhanko_certvalidator.policy_decl import (
    CertRevTrustPolicy,
    RevocationCheckingPolicy,
    RevocationCheckingRule,
)
from pyhanko_certvalidator.registry import SimpleTrustManager

from .config import MB
from .errors import RevocationFetchError, SigningError


@dataclass(frozen=True)
class ValidationMaterial:
    """What proves the certificates good: the trusted roots, every
    certificate the signatures and timestamps use, and the CRLs (DER)."""

    trust_roots: tuple[asn1_x509.Certificate, ...]
    crls: tuple[bytes, ...]
    certificates: tuple[asn1_x509.Certificate, ...] = ()


@dataclass(frozen=True)
class LtaSignatureStatus:
    field_name: str
    passed: bool
    indication: str


def _is_document_timestamp(signature) -> bool:
    return signature.sig_object.get('/Type') == '/DocTimeStamp'


async def async_extend_to_lta(
    data: bytes, material: ValidationMaterial, timestamper: TimeStamper, field_name: str, reserved_bytes: int
) -> bytes:
    """``data`` made B-LTA (or its archive timestamp renewed): one incremental
    update holding the DSS (certificates and CRLs) and, over it and
    everything before, a document timestamp.

    The material is what the service knows, not what is read back from each
    signature: reading a file's signatures parses every /Contents and costs
    more than the whole step.
    """
    writer = IncrementalPdfFileWriter(BytesIO(data))
    DocumentSecurityStore.supply_dss_in_writer(
        writer,
        None,
        certs=[*material.certificates, *material.trust_roots],
        crls=[asn1_crl.CertificateList.load(crl) for crl in material.crls],
    )
    output = BytesIO()
    await PdfTimeStamper(timestamper, field_name=field_name).async_timestamp_pdf(
        writer, 'sha256', bytes_reserved=reserved_bytes, output=output
    )
    return output.getvalue()


async def async_renew_archive_timestamp(
    data: bytes, material: ValidationMaterial, timestamper: TimeStamper, field_name: str, reserved_bytes: int
) -> bytes:
    """A fresh archive timestamp, with material that proves the newest one
    (its TSA's certificates and fresh CRLs), before the newest one expires."""
    if not _ends_with_document_timestamp(data):
        raise SigningError('Only a B-LTA file (ending with an archive timestamp) can be renewed.')
    return await async_extend_to_lta(data, material, timestamper, field_name, reserved_bytes)


def newest_signature_value(data: bytes):
    fields = list(enumerate_sig_fields(PdfFileReader(BytesIO(data))))
    if not fields or fields[-1][1] is None:
        return None
    return fields[-1][1].get_object()


def _ends_with_document_timestamp(data: bytes) -> bool:
    value = newest_signature_value(data)
    return value is not None and value.get('/Type') == '/DocTimeStamp'


def timestamp_certificates(data: bytes) -> tuple[asn1_x509.Certificate, ...]:
    """The certificates in the timestamp token of ``data``'s newest
    signature (its signature timestamp) or newest document timestamp: an
    external TSA's certificate and chain, whose revocation data B-LTA needs.
    Only that one signature is parsed."""
    value = newest_signature_value(data)
    if value is None:
        return ()
    try:
        content = cms.ContentInfo.load(value['/Contents'].original_bytes)
        if value.get('/Type') != '/DocTimeStamp':
            attributes = content['content']['signer_infos'][0]['unsigned_attrs']
            tokens = [
                attribute['values'][0]
                for attribute in (attributes if attributes.native else ())
                if attribute['type'].native == 'signature_time_stamp_token'
            ]
            if not tokens:
                return ()
            content = tokens[0]
        return tuple(choice.chosen for choice in content['content']['certificates'] or ())
    except (ValueError, KeyError, TypeError) as exc:
        raise SigningError(f'Cannot read the timestamp of the newest signature: {exc}') from exc


def fetch_crls(
    certificates: Sequence[asn1_x509.Certificate], fetch: Callable[[str], bytes] | None = None
) -> tuple[bytes, ...]:
    """The current CRL (DER) at the distribution point of each certificate
    that names one, fetched with ``fetch`` (default: HTTP GET).

    :raises RevocationFetchError: a CRL could not be fetched or is not one.
    """
    fetch = fetch or http_get
    crls = []
    for url in dict.fromkeys(url for cert in certificates for url in _crl_urls(cert)):
        try:
            data = fetch(url)
            _parse_fully(asn1_crl.CertificateList.load(data))  # a page of HTML is not a CRL
        except (OSError, ValueError) as exc:
            raise RevocationFetchError(f'Cannot fetch the CRL at {url}: {exc}') from exc
        crls.append(data)
    return tuple(crls)


def _parse_fully(value: asn1_crl.CertificateList) -> None:
    # asn1crypto parses lazily; .native reads every field, raising on junk.
    _ = value.native


def _crl_urls(certificate: asn1_x509.Certificate) -> list[str]:
    return [
        name.native
        for point in certificate.crl_distribution_points
        for name in point['distribution_point'].chosen
        if point['distribution_point'].name == 'full_name' and name.name == 'uniform_resource_identifier'
    ]


def http_get(url: str, timeout: float = 10.0, max_bytes: int = 10 * MB) -> bytes:
    """GET ``url`` (http or https only), at most ``max_bytes``."""
    if urllib.parse.urlsplit(url).scheme not in ('http', 'https'):
        raise ValueError(f'not an HTTP address: {url}')
    with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 - scheme checked above
        data = response.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise ValueError('larger than any CRL should be')
    return data


def validate_lta(
    data: bytes, trust_roots: Sequence[asn1_x509.Certificate], at: datetime
) -> tuple[LtaSignatureStatus, ...]:
    """Each signature (not timestamp) of ``data`` validated as PAdES B-LTA
    at time ``at``, from the file alone: no fetching, only the roots given."""
    return asyncio.run(_validate_lta(data, list(trust_roots), at))


async def _validate_lta(data: bytes, roots: list, at: datetime) -> tuple[LtaSignatureStatus, ...]:
    trust = SimpleTrustManager.build(trust_roots=roots)
    required = RevocationCheckingRule.CRL_OR_OCSP_REQUIRED
    policy = CertValidationPolicySpec(
        trust_manager=trust,
        revinfo_policy=CertRevTrustPolicy(
            RevocationCheckingPolicy(ee_certificate_rule=required, intermediate_ca_cert_rule=required)
        ),
    )
    spec = PdfSignatureValidationSpec(
        SignatureValidationSpec(
            cert_validation_policy=policy,
            revinfo_gathering_policy=RevocationInfoGatheringSpec(
                online_fetching_rule=RevinfoOnlineFetchingRule.LOCAL_ONLY
            ),
        )
    )
    timing = ValidationTimingInfo(validation_time=at, best_signature_time=at, point_in_time_validation=False)
    statuses = []
    for signature in PdfFileReader(BytesIO(data)).embedded_signatures:
        if _is_document_timestamp(signature):
            continue
        result = await ades_lta_validation(signature, spec, timing_info=timing)
        indication = str(result.ades_subindic)
        statuses.append(LtaSignatureStatus(signature.field_name, indication.endswith('.OK'), indication))
    return tuple(statuses)
