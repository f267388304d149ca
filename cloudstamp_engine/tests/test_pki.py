import datetime as dt

import pytest
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from cloudstamp_engine import (
    DocumentSigner,
    EmbeddedTimeStamper,
    SignatureAction,
    SignatureRequest,
    SigningIdentity,
    is_self_signed,
    load_pem_certificates,
)
from cloudstamp_engine_testing.pdf_samples import contract_pdf


def _certificate(subject_key, issuer_key, subject='Someone', issuer=None, ca=False, eku=None) -> x509.Certificate:
    def name(cn):
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])

    now = dt.datetime.now(dt.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name(subject))
        .issuer_name(name(issuer or subject))
        .public_key(subject_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), True)
    )
    if eku:
        builder = builder.add_extension(x509.ExtendedKeyUsage(eku), True)
    return builder.sign(issuer_key, hashes.SHA256())


def _pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def test_is_self_signed_tells_the_root_from_the_leaves(pki):
    [root] = load_pem_certificates(pki.root_cert_pem)
    [signer] = load_pem_certificates(pki.signer_cert_pem)
    [tsa] = load_pem_certificates(pki.tsa_cert_pem)
    assert is_self_signed(root)
    assert not is_self_signed(signer)
    assert not is_self_signed(tsa)


def test_a_certificate_naming_itself_as_issuer_is_not_enough():
    """Issuer == subject, but signed with someone else's key: a forged root."""
    own, other = (rsa.generate_private_key(65537, 2048) for _ in range(2))
    [forged] = load_pem_certificates(_pem(_certificate(own, other, 'Fake Root', ca=True)))
    assert forged.issuer == forged.subject
    assert not is_self_signed(forged)
    [real] = load_pem_certificates(_pem(_certificate(own, own, 'Real Root', ca=True)))
    assert is_self_signed(real)


def _ec_identity(eku=None) -> SigningIdentity:
    key = ec.generate_private_key(ec.SECP256R1())
    cert = _certificate(key, key, 'EC TSA', eku=eku)
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return SigningIdentity.from_pem(_pem(cert), key_pem)


@pytest.mark.parametrize('algorithm', ['sha256', hashes.SHA256()])
def test_identity_signs_with_rsa_and_ec(pki, algorithm):
    data = b'signed attributes'
    rsa_identity = pki.signer()
    signature = rsa_identity.sign(data, algorithm)
    public = rsa_identity.private_key.public_key()
    public.verify(signature, data, padding.PKCS1v15(), hashes.SHA256())
    with pytest.raises(InvalidSignature):
        public.verify(signature, data + b'!', padding.PKCS1v15(), hashes.SHA256())

    ec_identity = _ec_identity()
    signature = ec_identity.sign(data, algorithm)
    ec_identity.private_key.public_key().verify(signature, data, ec.ECDSA(hashes.SHA256()))


class _CountingIdentity(SigningIdentity):
    calls: list = []

    def sign(self, data, hash_algorithm):
        _CountingIdentity.calls.append(self.certificate.subject.human_friendly)
        return super().sign(data, hash_algorithm)


def test_document_signatures_and_tokens_sign_through_the_identity(pki):
    """One key-type dispatch, used by both the signer and the embedded TSA."""

    def counting(identity):
        return _CountingIdentity(identity.certificate, identity.private_key, identity.chain)

    _CountingIdentity.calls.clear()
    signer = DocumentSigner(counting(pki.signer()), EmbeddedTimeStamper(counting(pki.tsa())))
    signer.sign(contract_pdf(), SignatureRequest('a@example.jp', SignatureAction.SEND))
    assert len(_CountingIdentity.calls) == 2
    assert any('Signing' in subject for subject in _CountingIdentity.calls)
    assert any('TSA' in subject for subject in _CountingIdentity.calls)


def test_an_ec_tsa_issues_tokens_that_verify(signer):
    """The EC branch of the dispatch, end to end through a token."""
    import hashlib

    from cloudstamp_engine import verify_timestamp_token

    tsa = _ec_identity(eku=[ExtendedKeyUsageOID.TIME_STAMPING])
    ec_signer = DocumentSigner(signer.identity, EmbeddedTimeStamper(tsa))
    digest = hashlib.sha256(b'audit chain head').digest()
    check = verify_timestamp_token(ec_signer.timestamp_digest(digest), digest, [tsa.certificate])
    assert check.valid and check.trusted, check.problems
