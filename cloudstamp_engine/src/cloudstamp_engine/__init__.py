"""CloudStamp signing engine: preflight, PAdES signing, time stamping, verification.

A plain Python package: it imports nothing from Odoo, so it can be tested and
benchmarked on its own. The Odoo addon ``cloudstamp_sign`` wraps it in its
``models/``; test helpers live apart, in ``cloudstamp_engine_testing``.
"""

from .config import (
    HttpTsaConfig,
    PreflightLimits,
    SignatureAction,
    SignatureRequest,
    SigningOptions,
)
from .errors import (
    CloudStampEngineError,
    KeyMaterialError,
    PreflightRefusal,
    HsmError,
    RefusalCode,
    RevocationFetchError,
    SigningError,
    TimestampError,
)
from .hsm import (
    Pkcs11Config,
    TokenSession,
    TokenSigner,
    generate_token_key,
    open_token_signer,
    token_public_key,
)
from .ltv import LtaSignatureStatus, ValidationMaterial, fetch_crls, timestamp_certificates, validate_lta
from .pki import (
    IssuedCertificate,
    LeafRole,
    Revocation,
    RevocationReason,
    ServicePki,
    SigningIdentity,
    certificates_to_pem,
    generate_service_pki,
    crl_distribution_url,
    issue_certificate_crl,
    issue_leaf_certificate,
    is_self_signed,
    load_pem_certificates,
)
from .preflight import PreflightResult, preflight, preflight_send
from .signing import DocumentSigner
from .timestamps import EmbeddedTimeStamper, http_timestamper
from .verify import (
    SignatureReport,
    TimestampCheck,
    TimestampClaim,
    Verdict,
    VerificationReport,
    async_verify_timestamp_token,
    newest_archive_timestamp,
    printed_document_refs,
    read_timestamp_token,
    verify_pdf,
    verify_timestamp_token,
)

__all__ = [
    'CloudStampEngineError',
    'DocumentSigner',
    'EmbeddedTimeStamper',
    'HttpTsaConfig',
    'KeyMaterialError',
    'LtaSignatureStatus',
    'PreflightLimits',
    'PreflightRefusal',
    'PreflightResult',
    'RefusalCode',
    'ServicePki',
    'SignatureAction',
    'SignatureReport',
    'SignatureRequest',
    'SigningError',
    'SigningIdentity',
    'SigningOptions',
    'TimestampCheck',
    'TimestampClaim',
    'TimestampError',
    'ValidationMaterial',
    'Verdict',
    'VerificationReport',
    'async_verify_timestamp_token',
    'newest_archive_timestamp',
    'printed_document_refs',
    'certificates_to_pem',
    'generate_service_pki',
    'IssuedCertificate',
    'LeafRole',
    'Revocation',
    'RevocationReason',
    'crl_distribution_url',
    'issue_certificate_crl',
    'issue_leaf_certificate',
    'http_timestamper',
    'is_self_signed',
    'load_pem_certificates',
    'preflight',
    'preflight_send',
    'read_timestamp_token',
    'verify_pdf',
    'validate_lta',
    'HsmError',
    'Pkcs11Config',
    'TokenSession',
    'TokenSigner',
    'generate_token_key',
    'open_token_signer',
    'token_public_key',
    'fetch_crls',
    'timestamp_certificates',
    'RevocationFetchError',
    'verify_timestamp_token',
]
