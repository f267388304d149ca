"""Key material: the per-database PKI and loading of signing identities.

Each CloudStamp database owns a small PKI, generated on install:
a root CA, a document-signing certificate and a time-stamping (TSA)
certificate. Customers may replace the signing identity with a PKCS#12 from
a public CA. Private keys are parsed once into :class:`SigningIdentity`
objects and reused for every signature.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from asn1crypto import algos, pem
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.types import (
    CertificatePublicKeyTypes,
    PrivateKeyTypes,
)
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from pyhanko.sign.general import get_pyca_cryptography_hash

from .errors import KeyMaterialError

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey


def _to_asn1(cert: x509.Certificate) -> asn1_x509.Certificate:
    return asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))


def private_key_pem(key: PrivateKey) -> bytes:
    """Unencrypted PKCS#8 PEM; the addon encrypts it before storing it."""
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


@dataclass(frozen=True)
class SigningIdentity:
    """A certificate, its parsed private key and the chain above it."""

    certificate: asn1_x509.Certificate
    private_key: PrivateKey = field(repr=False)
    chain: tuple[asn1_x509.Certificate, ...] = ()

    @classmethod
    def from_pem(cls, cert_pem: bytes, key_pem: bytes, chain_pem: bytes = b'') -> SigningIdentity:
        try:
            cert = x509.load_pem_x509_certificate(cert_pem)
            key = serialization.load_pem_private_key(key_pem, password=None)
            chain = x509.load_pem_x509_certificates(chain_pem) if chain_pem.strip() else []
        except (ValueError, TypeError) as exc:
            raise KeyMaterialError(f'Cannot load key material: {exc}') from exc
        return cls._checked(cert, key, chain)

    @classmethod
    def from_pkcs12(cls, data: bytes, password: bytes | None = None) -> SigningIdentity:
        try:
            key, cert, extra = pkcs12.load_key_and_certificates(data, password)
        except (ValueError, TypeError) as exc:
            raise KeyMaterialError(f'Cannot open the PKCS#12 file: {exc}') from exc
        if cert is None or key is None:
            raise KeyMaterialError('The PKCS#12 file must hold a certificate and its private key.')
        return cls._checked(cert, key, extra or [])

    @classmethod
    def _checked(
        cls,
        cert: x509.Certificate,
        key: PrivateKeyTypes,
        chain: Sequence[x509.Certificate],
    ) -> SigningIdentity:
        if not isinstance(key, (rsa.RSAPrivateKey, ec.EllipticCurvePrivateKey)):
            raise KeyMaterialError('Only RSA and ECDSA keys are supported.')
        if cert.public_key().public_numbers() != key.public_key().public_numbers():
            raise KeyMaterialError('The private key does not match the certificate.')
        return cls(
            certificate=_to_asn1(cert),
            private_key=key,
            chain=tuple(_to_asn1(c) for c in chain),
        )

    def sign(self, data: bytes, hash_algorithm: str | hashes.HashAlgorithm) -> bytes:
        """A raw signature over ``data``: PKCS#1 v1.5 for RSA, DER ECDSA for EC.

        ``hash_algorithm`` is a pyHanko name such as ``'sha256'`` or a
        cryptography hash object. One place for the key-type dispatch that
        document signatures and time-stamp tokens share.
        """
        if isinstance(hash_algorithm, str):
            hash_algorithm = get_pyca_cryptography_hash(hash_algorithm)
        if isinstance(self.private_key, ec.EllipticCurvePrivateKey):
            return self.private_key.sign(data, ec.ECDSA(hash_algorithm))
        return self.private_key.sign(data, padding.PKCS1v15(), hash_algorithm)

    def signature_algorithm(self, md_algorithm: str) -> algos.SignedDigestAlgorithm:
        """The CMS identifier of what :meth:`sign` produces with the pyHanko
        hash name ``md_algorithm``, beside it so the two cannot disagree."""
        if isinstance(self.private_key, ec.EllipticCurvePrivateKey):
            return algos.SignedDigestAlgorithm({'algorithm': f'{md_algorithm}_ecdsa'})
        return algos.SignedDigestAlgorithm({'algorithm': 'rsassa_pkcs1v15'})

    def key_pem(self) -> bytes:
        return private_key_pem(self.private_key)

    def certificate_pem(self) -> bytes:
        return certificates_to_pem([self.certificate])

    def chain_pem(self) -> bytes:
        return certificates_to_pem(self.chain)


def certificates_to_pem(certs: Iterable[asn1_x509.Certificate]) -> bytes:
    return b''.join(pem.armor('CERTIFICATE', c.dump()) for c in certs)


def is_self_signed(cert: asn1_x509.Certificate) -> bool:
    """True when ``cert`` names itself as issuer and its signature verifies
    with its own public key: a root. Matching names alone prove nothing."""
    try:
        parsed = x509.load_der_x509_certificate(cert.dump())
        parsed.verify_directly_issued_by(parsed)
    except (ValueError, TypeError, InvalidSignature, UnsupportedAlgorithm):
        # ValueError: issuer is not subject, or an unparsable certificate;
        # TypeError, UnsupportedAlgorithm: a key or signature algorithm
        # cryptography cannot verify.
        return False
    return True


def load_pem_certificates(data: bytes) -> list[asn1_x509.Certificate]:
    """Every certificate in a PEM bundle (or a single DER certificate)."""
    try:
        if b'-----BEGIN' in data:
            return [_to_asn1(c) for c in x509.load_pem_x509_certificates(data)]
        return [_to_asn1(x509.load_der_x509_certificate(data))]
    except ValueError as exc:
        raise KeyMaterialError(f'Cannot read certificate: {exc}') from exc


@dataclass(frozen=True)
class ServicePki:
    """The generated PKI of one database, as PEM, ready to store."""

    root_cert_pem: bytes
    signer_cert_pem: bytes
    signer_key_pem: bytes
    tsa_cert_pem: bytes
    tsa_key_pem: bytes
    # Kept to issue CRLs (long-term validation); empty for PKIs made before.
    root_key_pem: bytes = b''

    def signer(self) -> SigningIdentity:
        return SigningIdentity.from_pem(self.signer_cert_pem, self.signer_key_pem, self.root_cert_pem)

    def tsa(self) -> SigningIdentity:
        return SigningIdentity.from_pem(self.tsa_cert_pem, self.tsa_key_pem, self.root_cert_pem)


def _name(common_name: str, organization: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _issue(
    subject: x509.Name,
    public_key: CertificatePublicKeyTypes,
    issuer: x509.Name,
    issuer_key: rsa.RSAPrivateKey,
    days: int,
    extensions: list[tuple[x509.ExtensionType, bool]],
    now: dt.datetime,
    serial_number: int | None = None,
) -> x509.Certificate:
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(serial_number or x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=days))
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()),
            False,
        )
    )
    for extension, critical in extensions:
        builder = builder.add_extension(extension, critical)
    return builder.sign(issuer_key, hashes.SHA256())


def _key_usage(**flags: bool) -> x509.KeyUsage:
    names = (
        'digital_signature',
        'content_commitment',
        'key_encipherment',
        'data_encipherment',
        'key_agreement',
        'key_cert_sign',
        'crl_sign',
        'encipher_only',
        'decipher_only',
    )
    return x509.KeyUsage(**{n: flags.get(n, False) for n in names})


def generate_service_pki(
    organization: str,
    root_days: int = 3650 * 2,
    leaf_days: int = 3650,
    now: dt.datetime | None = None,
    crl_base_url: str = '',
) -> ServicePki:
    """A fresh root CA, signing certificate and TSA certificate."""
    now = now or dt.datetime.now(dt.UTC)
    root_key = rsa.generate_private_key(public_exponent=65537, key_size=3072)
    root_name = _name(f'{organization} CloudStamp Root CA', organization)
    root = _issue(
        root_name,
        root_key.public_key(),
        root_name,
        root_key,
        root_days,
        [
            (x509.BasicConstraints(ca=True, path_length=0), True),
            (_key_usage(key_cert_sign=True, crl_sign=True), True),
        ],
        now,
    )
    pem = serialization.Encoding.PEM
    root_cert_pem = root.public_bytes(pem)
    root_key_pem = private_key_pem(root_key)
    signer = issue_leaf_certificate(root_cert_pem, root_key_pem, LeafRole.SIGNER, leaf_days, crl_base_url, now)
    tsa = issue_leaf_certificate(root_cert_pem, root_key_pem, LeafRole.TSA, leaf_days, crl_base_url, now)
    return ServicePki(
        root_cert_pem=root_cert_pem,
        signer_cert_pem=signer.cert_pem,
        signer_key_pem=signer.key_pem,
        tsa_cert_pem=tsa.cert_pem,
        tsa_key_pem=tsa.key_pem,
        root_key_pem=root_key_pem,
    )


class LeafRole(str, enum.Enum):
    """What a certificate of the service's own CA is for."""

    SIGNER = 'signer'
    TSA = 'tsa'


@dataclass(frozen=True)
class IssuedCertificate:
    cert_pem: bytes
    # Empty when the key lives elsewhere (a PKCS#11 token).
    key_pem: bytes = field(default=b'', repr=False)


def _load_ca(cert_pem: bytes, key_pem: bytes, what: str) -> tuple[x509.Certificate, PrivateKeyTypes]:
    """The service CA's certificate and key, to issue ``what`` with."""
    if not key_pem:
        raise KeyMaterialError(f'No key of the CA: it cannot issue {what}.')
    try:
        # The CA key is one this service generated and stored encrypted with
        # authentication: OpenSSL's RSA consistency check (about 150 ms for
        # 3072 bits, paid for every CRL) guards against foreign keys only.
        key = serialization.load_pem_private_key(key_pem, password=None, unsafe_skip_rsa_key_validation=True)
        return x509.load_pem_x509_certificate(cert_pem), key
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        raise KeyMaterialError(f'Cannot load the CA to issue {what}: {exc}') from exc


def issue_leaf_certificate(
    root_cert_pem: bytes,
    root_key_pem: bytes,
    role: LeafRole,
    days: int = 3650,
    crl_base_url: str = '',
    now: dt.datetime | None = None,
    public_key_der: bytes = b'',
) -> IssuedCertificate:
    """A signing or TSA certificate from the service's root: for a new key,
    or for ``public_key_der`` (SubjectPublicKeyInfo) whose private key stays
    where it is (a hardware token).

    With ``crl_base_url``, the certificate's CRL distribution point is
    ``<crl_base_url>/<serial in hex>.crl``: a CRL partition of its own (see
    :func:`issue_certificate_crl`).

    Both carry digitalSignature + nonRepudiation (contentCommitment); the TSA
    certificate also the critical timeStamping EKU that RFC 3161 requires.
    Renewing the TSA certificate this way, before the old one expires, is
    what keeps archive timestamps renewable for decades.
    """
    root, root_key = _load_ca(root_cert_pem, root_key_pem, 'certificates')
    now = now or dt.datetime.now(dt.UTC)
    try:
        key = None if public_key_der else rsa.generate_private_key(public_exponent=65537, key_size=2048)
        public_key = serialization.load_der_public_key(public_key_der) if public_key_der else key.public_key()
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        raise KeyMaterialError(f'Cannot issue a certificate: {exc}') from exc
    organization = root.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value
    extensions = [
        (x509.BasicConstraints(ca=False, path_length=None), True),
        (_key_usage(digital_signature=True, content_commitment=True), True),
    ]
    if role == LeafRole.TSA:
        extensions.append((x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), True))
    serial_number = x509.random_serial_number()
    if crl_base_url:
        # Where validators find its CRL: part of the evidence for decades.
        extensions.append((_crl_distribution_points(f'{crl_base_url}/{serial_number:x}.crl'), False))
    label = 'Signing' if role == LeafRole.SIGNER else 'TSA'
    cert = _issue(
        _name(f'{organization} CloudStamp {label}', organization),
        public_key,
        root.subject,
        root_key,
        days,
        extensions,
        now,
        serial_number,
    )
    return IssuedCertificate(
        cert_pem=cert.public_bytes(serialization.Encoding.PEM),
        key_pem=private_key_pem(key) if key else b'',
    )


def _crl_distribution_points(url: str) -> x509.CRLDistributionPoints:
    return x509.CRLDistributionPoints([x509.DistributionPoint([x509.UniformResourceIdentifier(url)], None, None, None)])


class RevocationReason(str, enum.Enum):
    """The RFC 5280 reasons an administrator may give (names of
    :class:`cryptography.x509.ReasonFlags`)."""

    UNSPECIFIED = 'unspecified'
    KEY_COMPROMISE = 'key_compromise'
    AFFILIATION_CHANGED = 'affiliation_changed'
    SUPERSEDED = 'superseded'
    CESSATION_OF_OPERATION = 'cessation_of_operation'


@dataclass(frozen=True)
class Revocation:
    """One revoked certificate of the service's CA. ``revoked_at`` is when
    its signatures stop counting: for a compromised key, the time it may have
    been compromised since, since validators go by this date alone."""

    serial_number: int
    revoked_at: dt.datetime
    reason: RevocationReason = RevocationReason.UNSPECIFIED


def crl_distribution_url(certificate: x509.Certificate) -> str:
    """The first URL of ``certificate``'s CRL distribution points, or ''."""
    try:
        points = certificate.extensions.get_extension_for_class(x509.CRLDistributionPoints).value
    except x509.ExtensionNotFound:
        return ''
    for point in points:
        for name in point.full_name or ():
            if isinstance(name, x509.UniformResourceIdentifier):
                return name.value
    return ''


def issue_certificate_crl(
    issuer_cert_pem: bytes,
    issuer_key_pem: bytes,
    certificate_pem: bytes,
    revocation: Revocation | None = None,
    now: dt.datetime | None = None,
    next_update: dt.datetime | None = None,
) -> bytes:
    """The CRL (DER) of the partition of one certificate of the service's CA:
    it covers that certificate alone (its issuing distribution point is the
    certificate's CRL distribution point) and lists it when ``revocation``.

    One partition per certificate is what keeps renewed archive timestamps
    provable: a validator slides its control time back to the end of the
    newest CRL about a certificate, so that CRL must end while the
    certificate is still valid. One CA-wide CRL, re-issued at every renewal,
    would always be newer than an expired TSA certificate. By default the CRL
    is valid until a day before the certificate expires: the archival form
    put in B-LTA files, which later renewals supersede with newer ones.
    """
    root, root_key = _load_ca(issuer_cert_pem, issuer_key_pem, 'CRLs')
    now = now or dt.datetime.now(dt.UTC)
    try:
        certificate = x509.load_pem_x509_certificate(certificate_pem)
    except ValueError as exc:
        raise KeyMaterialError(f'Cannot issue a CRL: {exc}') from exc
    url = crl_distribution_url(certificate)
    if not url:
        raise KeyMaterialError('The certificate names no CRL distribution point.')
    end = certificate.not_valid_after_utc - dt.timedelta(days=1)
    last_update = now - dt.timedelta(minutes=5)
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(root.subject)
        .last_update(last_update)
        .next_update(max(min(next_update or end, end), last_update + dt.timedelta(minutes=10)))
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(root_key.public_key()), False)
        .add_extension(
            x509.IssuingDistributionPoint(
                full_name=[x509.UniformResourceIdentifier(url)],
                relative_name=None,
                only_contains_user_certs=True,
                only_contains_ca_certs=False,
                only_some_reasons=None,
                indirect_crl=False,
                only_contains_attribute_certs=False,
            ),
            True,
        )
    )
    if revocation is not None:
        entry = (
            x509.RevokedCertificateBuilder()
            .serial_number(revocation.serial_number)
            .revocation_date(revocation.revoked_at)
            .add_extension(x509.CRLReason(x509.ReasonFlags[revocation.reason.value]), False)
        )
        builder = builder.add_revoked_certificate(entry.build())
    return builder.sign(root_key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)
