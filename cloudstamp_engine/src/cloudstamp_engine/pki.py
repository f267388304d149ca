"""Key material: the per-database PKI and loading of signing identities.

Each CloudStamp database owns a small PKI, generated on install:
a root CA, a document-signing certificate and a time-stamping (TSA)
certificate. Customers may replace the signing identity with a PKCS#12 from
a public CA. Private keys are parsed once into :class:`SigningIdentity`
objects and reused for every signature.
"""

from __future__ import annotations

import datetime as dt
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
) -> x509.Certificate:
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
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
    crl_url: str = '',
) -> ServicePki:
    """A fresh root CA, signing certificate and TSA certificate.

    The signing certificate carries digitalSignature + nonRepudiation
    (contentCommitment); the TSA certificate the critical timeStamping EKU
    that RFC 3161 requires.
    """
    now = now or dt.datetime.now(dt.UTC)
    root_key = rsa.generate_private_key(public_exponent=65537, key_size=3072)
    signer_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    tsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
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
    leaf_basics = (x509.BasicConstraints(ca=False, path_length=None), True)
    # Where validators find the root's CRL: part of the evidence for decades.
    crl_points = [(_crl_distribution_points(crl_url), False)] if crl_url else []
    signer = _issue(
        _name(f'{organization} CloudStamp Signing', organization),
        signer_key.public_key(),
        root_name,
        root_key,
        leaf_days,
        [
            leaf_basics,
            (_key_usage(digital_signature=True, content_commitment=True), True),
            *crl_points,
        ],
        now,
    )
    tsa = _issue(
        _name(f'{organization} CloudStamp TSA', organization),
        tsa_key.public_key(),
        root_name,
        root_key,
        leaf_days,
        [
            leaf_basics,
            (_key_usage(digital_signature=True, content_commitment=True), True),
            (x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), True),
            *crl_points,
        ],
        now,
    )
    pem = serialization.Encoding.PEM
    return ServicePki(
        root_cert_pem=root.public_bytes(pem),
        signer_cert_pem=signer.public_bytes(pem),
        signer_key_pem=private_key_pem(signer_key),
        tsa_cert_pem=tsa.public_bytes(pem),
        tsa_key_pem=private_key_pem(tsa_key),
        root_key_pem=private_key_pem(root_key),
    )


def _crl_distribution_points(url: str) -> x509.CRLDistributionPoints:
    return x509.CRLDistributionPoints([x509.DistributionPoint([x509.UniformResourceIdentifier(url)], None, None, None)])


def issue_crl(
    issuer_cert_pem: bytes,
    issuer_key_pem: bytes,
    revoked_serials: Iterable[int] = (),
    now: dt.datetime | None = None,
    valid_days: int = 7,
    revoked_at: dt.datetime | None = None,
) -> bytes:
    """A CRL (DER) of the CA ``issuer_cert_pem``, listing ``revoked_serials``,
    valid ``valid_days``: what validators need to know nothing was revoked."""
    if not issuer_key_pem:
        raise KeyMaterialError('No key of the issuing CA: it cannot issue CRLs.')
    now = now or dt.datetime.now(dt.UTC)
    root = x509.load_pem_x509_certificate(issuer_cert_pem)
    root_key = serialization.load_pem_private_key(issuer_key_pem, password=None)
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(root.subject)
        .last_update(now - dt.timedelta(minutes=5))
        .next_update(now + dt.timedelta(days=valid_days))
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(root_key.public_key()), False)
    )
    for serial in revoked_serials:
        builder = builder.add_revoked_certificate(
            x509.RevokedCertificateBuilder().serial_number(serial).revocation_date(revoked_at or now).build()
        )
    return builder.sign(root_key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)
