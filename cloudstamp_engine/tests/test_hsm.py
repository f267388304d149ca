"""Keys in a PKCS#11 token (SoftHSM2): signatures made by the token, valid
for pyHanko and poppler; the private key never leaves it."""

import dataclasses

import pytest
from pkcs11 import Attribute
from pkcs11.exceptions import AttributeSensitive

from cloudstamp_engine import (
    DocumentSigner,
    EmbeddedTimeStamper,
    HsmError,
    LeafRole,
    TokenSession,
    Verdict,
    generate_service_pki,
    issue_leaf_certificate,
    load_pem_certificates,
    validate_lta,
    verify_pdf,
)
from cloudstamp_engine.ltv import ValidationMaterial
from cloudstamp_engine.pki import issue_certificate_crl
from cloudstamp_engine_testing.checkers import assert_pdfsig_accepts
from cloudstamp_engine_testing.flows import sign_round
from cloudstamp_engine_testing.softhsm import new_token

CRL_BASE = 'http://127.0.0.1:9/crl/1'


@pytest.fixture(scope='module')
def token():
    config = new_token()
    with TokenSession(config, read_write=True) as session:
        public_key = session.generate_key()
    return config, public_key


@pytest.fixture(scope='module')
def pki():
    return generate_service_pki('ハードウェア鍵株式会社', crl_base_url=CRL_BASE)


def test_the_token_signs_and_both_checkers_accept_it(token, pki):
    config, public_key = token
    issued = issue_leaf_certificate(
        pki.root_cert_pem, pki.root_key_pem, LeafRole.SIGNER, crl_base_url=CRL_BASE, public_key_der=public_key
    )
    assert issued.key_pem == b'', 'the CA never sees a private key'
    certificate = load_pem_certificates(issued.cert_pem)[0]
    assert certificate.public_key.dump() == public_key
    roots = load_pem_certificates(pki.root_cert_pem)
    with TokenSession(config) as session:
        signer = DocumentSigner(session.signer(certificate, roots), EmbeddedTimeStamper(pki.tsa()))
        data = sign_round(signer)
        material = ValidationMaterial(
            trust_roots=tuple(roots),
            crls=tuple(
                issue_certificate_crl(pki.root_cert_pem, pki.root_key_pem, pem)
                for pem in (issued.cert_pem, pki.tsa_cert_pem)
            ),
            certificates=tuple(load_pem_certificates(issued.cert_pem + pki.tsa_cert_pem)),
        )
        lta = signer.extend_to_lta(data, material)
    report = verify_pdf(lta, roots)
    assert report.verdict == Verdict.VALID, report.problems
    assert [s.signer_subject for s in report.signatures[:3]] == [certificate.subject.human_friendly] * 3
    assert all(s.passed for s in validate_lta(lta, roots, report.signatures[-1].timestamp_time))
    assert_pdfsig_accepts(lta, pki.root_cert_pem, expected_count=4, document_timestamps=1)


def test_the_private_key_never_leaves_the_token(token):
    config, _public_key = token
    with TokenSession(config) as session:
        key = session.private_key()
        assert key[Attribute.SENSITIVE] is True
        assert key[Attribute.EXTRACTABLE] is False
        assert key[Attribute.NEVER_EXTRACTABLE] is True
        with pytest.raises(AttributeSensitive):
            key[Attribute.PRIVATE_EXPONENT]


@pytest.mark.parametrize(
    'change',
    [
        {'pin': 'wrong-pin-31337'},
        {'key_label': 'no-such-key'},
        {'token_label': 'no-such-token'},
        {'module_path': '/nonexistent/libpkcs11.so'},
    ],
)
def test_a_misconfigured_token_is_an_hsm_error_without_the_pin(token, pki, change):
    config = dataclasses.replace(token[0], **change)
    certificate = load_pem_certificates(pki.signer_cert_pem)[0]
    with pytest.raises(HsmError) as caught:
        with TokenSession(config) as session:
            session.signer(certificate)
    assert config.pin not in str(caught.value)
    assert token[0].pin not in repr(config)
