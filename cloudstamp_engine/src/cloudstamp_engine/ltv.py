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
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from io import BytesIO

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
    FreshnessReqType,
    RevocationCheckingPolicy,
    RevocationCheckingRule,
)
from pyhanko_certvalidator.registry import SimpleTrustManager

from .errors import SigningError

# How long after its issue a CRL in the file still counts for an archive
# timestamp, offline: longer than any retention period.
OFFLINE_FRESHNESS = timedelta(days=365 * 50)


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


def _ends_with_document_timestamp(data: bytes) -> bool:
    fields = list(enumerate_sig_fields(PdfFileReader(BytesIO(data))))
    if not fields:
        return False
    _name, value, _ref = fields[-1]
    return value is not None and value.get_object().get('/Type') == '/DocTimeStamp'


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
    # The archive timestamps are checked at the validation time itself, for
    # which no CRL in the file can be recent. From the file alone, their CRLs
    # count however old (a CRL listing the TSA still fails it); a renewal
    # adds newer ones before each TSA certificate expires.
    timestamp_policy = CertValidationPolicySpec(
        trust_manager=trust,
        revinfo_policy=CertRevTrustPolicy(
            RevocationCheckingPolicy(ee_certificate_rule=required, intermediate_ca_cert_rule=required),
            freshness=OFFLINE_FRESHNESS,
            freshness_req_type=FreshnessReqType.MAX_DIFF_REVOCATION_VALIDATION,
        ),
    )
    spec = PdfSignatureValidationSpec(
        SignatureValidationSpec(
            cert_validation_policy=policy,
            ts_cert_validation_policy=timestamp_policy,
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
