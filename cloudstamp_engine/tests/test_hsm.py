"""Keys in a PKCS#11 token (SoftHSM2): signatures made by the token, valid
for pyHanko and poppler; the private key never leaves it; a token that fails
is an engine error, never a crash or a hang.

SoftHSM2 missing fails these tests rather than skipping them: ``make setup``
installs it (and python-pkcs11, without which the engine does not import).
"""

import asyncio
import dataclasses
import threading
from io import BytesIO

import pytest
from pkcs11 import Attribute, KeyType, MechanismFlag
from pkcs11.exceptions import AttributeSensitive, KeyUnextractable
from pkcs11.util.ec import encode_named_curve_parameters
from pyhanko.pdf_utils.reader import PdfFileReader

from cloudstamp_engine import (
    DocumentSigner,
    EmbeddedTimeStamper,
    HsmError,
    LeafRole,
    Pkcs11Config,
    SignatureAction,
    SignatureRequest,
    SigningError,
    TokenSession,
    Verdict,
    generate_service_pki,
    generate_token_key,
    issue_leaf_certificate,
    load_pem_certificates,
    open_token_signer,
    token_public_key,
    validate_lta,
    verify_pdf,
)
from cloudstamp_engine.ltv import ValidationMaterial
from cloudstamp_engine.pki import issue_certificate_crl
from cloudstamp_engine_testing.checkers import assert_pdfsig_accepts
from cloudstamp_engine_testing.flows import sign_round
from cloudstamp_engine_testing.pdf_samples import contract_pdf
from cloudstamp_engine_testing.softhsm import new_token, remove_token

CRL_BASE = 'http://127.0.0.1:9/crl/1'
SEND = SignatureRequest('sales@example.jp', SignatureAction.SEND)


def fresh_token(key_label: str = 'cloudstamp-signer') -> Pkcs11Config:
    """A new, empty SoftHSM2 token (see cloudstamp_engine_testing.softhsm)."""
    try:
        return new_token(key_label)
    except RuntimeError as exc:
        pytest.fail(f'No SoftHSM2 token: {exc}')


@pytest.fixture(scope='module')
def pki():
    return generate_service_pki('ハードウェア鍵株式会社', crl_base_url=CRL_BASE)


@pytest.fixture(scope='module')
def token():
    """A token holding one RSA key; the configuration and its public key."""
    config = fresh_token()
    return config, generate_token_key(config)


def certify(pki, public_key: bytes):
    """What the Odoo side does: the service's CA certifies the token's key."""
    issued = issue_leaf_certificate(
        pki.root_cert_pem, pki.root_key_pem, LeafRole.SIGNER, crl_base_url=CRL_BASE, public_key_der=public_key
    )
    assert issued.key_pem == b'', 'the CA never sees a private key'
    return issued


@pytest.fixture(scope='module')
def issued(token, pki):
    return certify(pki, token[1])


@pytest.fixture(scope='module')
def certificate(issued):
    return load_pem_certificates(issued.cert_pem)[0]


@pytest.fixture(scope='module')
def roots(pki):
    return load_pem_certificates(pki.root_cert_pem)


def engine(pki, signer) -> DocumentSigner:
    return DocumentSigner.with_signer(signer, EmbeddedTimeStamper(pki.tsa()))


def signer_keys(data: bytes) -> list[bytes]:
    """The public key of each signature's certificate, document timestamps left out."""
    return [
        signature.signer_cert.public_key.dump()
        for signature in PdfFileReader(BytesIO(data)).embedded_signatures
        if signature.sig_object.get('/Type') != '/DocTimeStamp'
    ]


def test_the_token_signs_and_both_checkers_accept_it(token, pki, issued, certificate, roots):
    config, public_key = token
    assert certificate.public_key.dump() == public_key == token_public_key(config)
    with open_token_signer(config, certificate, roots) as signer:
        # send, agree, agree through one cached signer, then B-LTA
        document_signer = engine(pki, signer)
        data = sign_round(document_signer)
        material = ValidationMaterial(
            trust_roots=tuple(roots),
            crls=tuple(
                issue_certificate_crl(pki.root_cert_pem, pki.root_key_pem, pem)
                for pem in (issued.cert_pem, pki.tsa_cert_pem)
            ),
            certificates=tuple(load_pem_certificates(issued.cert_pem + pki.tsa_cert_pem)),
        )
        lta = document_signer.extend_to_lta(data, material)
    report = verify_pdf(lta, roots)
    assert report.verdict == Verdict.VALID, report.problems
    assert signer_keys(lta) == [public_key] * 3, 'every signature by the token key'
    assert all(s.passed for s in validate_lta(lta, roots, report.signatures[-1].timestamp_time))
    assert_pdfsig_accepts(lta, pki.root_cert_pem, expected_count=4, document_timestamps=1)


def test_an_ec_key_in_the_token_signs_too(pki, roots):
    config = fresh_token(key_label='ec-signer')
    with TokenSession(config, read_write=True) as session:
        curve = {Attribute.EC_PARAMS: encode_named_curve_parameters('secp256r1')}
        session.session.create_domain_parameters(KeyType.EC, curve, local=True).generate_keypair(
            store=True,
            label=config.key_label,
            capabilities=MechanismFlag.SIGN | MechanismFlag.VERIFY,
            private_template={Attribute.SENSITIVE: True, Attribute.EXTRACTABLE: False},
        )
    public_key = token_public_key(config)
    certificate = load_pem_certificates(certify(pki, public_key).cert_pem)[0]
    assert certificate.public_key.algorithm == 'ec'
    with open_token_signer(config, certificate, roots) as signer:
        data = sign_round(engine(pki, signer))
    report = verify_pdf(data, roots)
    assert report.verdict == Verdict.VALID, report.problems
    assert signer_keys(data) == [public_key] * 3
    assert_pdfsig_accepts(data, pki.root_cert_pem, expected_count=3)


def test_the_private_key_never_leaves_the_token(token):
    config, _public_key = token
    with TokenSession(config, read_write=True) as session:
        key = session.private_key()
        assert key[Attribute.SENSITIVE] is True
        assert key[Attribute.EXTRACTABLE] is False
        assert key[Attribute.NEVER_EXTRACTABLE] is True
        assert key[Attribute.DECRYPT] is False, 'a signing key only'
        with pytest.raises(AttributeSensitive):
            key[Attribute.PRIVATE_EXPONENT]
        # nor wrapped under a key of our own, the other way out of a token
        wrapping = session.session.generate_key(KeyType.AES, 256, store=False, capabilities=MechanismFlag.WRAP)
        with pytest.raises(KeyUnextractable):
            wrapping.wrap_key(key)


@pytest.mark.parametrize(
    ('change', 'message'),
    [
        ({'pin': 'wrong-pin-31337'}, 'refused the PIN'),
        ({'key_label': 'no-such-key'}, 'labelled "no-such-key"'),
        ({'token_label': 'no-such-token'}, 'No PKCS#11 token labelled "no-such-token"'),
        ({'token_label': '', 'slot_no': 99}, 'No PKCS#11 token is in slot 99'),
        ({'module_path': '/nonexistent/libpkcs11.so'}, 'Cannot load the PKCS#11 module'),
    ],
)
def test_a_misconfigured_token_is_an_hsm_error_without_the_pin(token, certificate, change, message):
    config = dataclasses.replace(token[0], **change)
    with pytest.raises(HsmError, match=message) as caught:
        open_token_signer(config, certificate)
    error, told = caught.value, []
    while error is not None:  # the chained errors reach the logs too
        told += [str(error), repr(error)]
        error = error.__cause__ or error.__context__
    assert not [text for text in told if config.pin in text or token[0].pin in text]
    assert config.pin not in repr(config)
    with pytest.raises(HsmError, match=message):
        token_public_key(config)


def test_a_certificate_for_another_key_is_refused(token, pki):
    elsewhere = load_pem_certificates(pki.signer_cert_pem)[0]
    with pytest.raises(HsmError, match='not for the key'):
        open_token_signer(token[0], elsewhere)


def test_a_key_is_generated_once_per_label_and_strong_enough(token):
    config, _public_key = token
    with pytest.raises(HsmError, match='already holds'):
        generate_token_key(config)
    with pytest.raises(HsmError, match='too weak'):
        generate_token_key(dataclasses.replace(config, key_label='short'), key_size=1024)
    with TokenSession(dataclasses.replace(config, key_label='read-only')) as session:
        with pytest.raises(HsmError, match='read-write'):
            session.generate_key()


def test_a_removed_token_fails_each_signature_cleanly(pki, roots):
    config = fresh_token()
    certificate = load_pem_certificates(certify(pki, generate_token_key(config)).cert_pem)[0]
    signer = open_token_signer(config, certificate, roots)
    document_signer = engine(pki, signer)
    document_signer.sign(contract_pdf(), SEND)
    remove_token(config)
    for _attempt in range(2):
        with pytest.raises(SigningError, match='gone') as caught:
            document_signer.sign(contract_pdf(), SEND)
        assert isinstance(caught.value.__cause__, HsmError)
    signer.close()
    signer.close()  # closing twice, or a dead session, is harmless
    with pytest.raises(HsmError, match='No PKCS#11 token labelled'):
        open_token_signer(config, certificate)


def test_a_closed_session_fails_and_a_new_one_signs(token, certificate, pki, roots):
    config, _public_key = token
    signer = open_token_signer(config, certificate, roots)
    document_signer = engine(pki, signer)
    signer.token_session.session.close()  # the session dies under the cached signer
    with pytest.raises(SigningError, match='gone'):
        document_signer.sign(contract_pdf(), SEND)
    signer.close()
    with open_token_signer(config, certificate, roots) as again:
        assert verify_pdf(engine(pki, again).sign(contract_pdf(), SEND), roots).verdict == Verdict.VALID


def test_sessions_on_one_token_share_its_login(token, certificate, pki, roots):
    config, _public_key = token
    first = open_token_signer(config, certificate, roots)
    second = open_token_signer(config, certificate, roots)
    # PKCS#11 logs in the process: closing one session must not log out the other
    first.close()
    assert verify_pdf(engine(pki, second).sign(contract_pdf(), SEND), roots).verdict == Verdict.VALID
    # While logged in, the token would not check another PIN: refused here
    with pytest.raises(HsmError, match='another PIN'):
        TokenSession(dataclasses.replace(config, pin='wrong-pin-31337'))
    second.close()
    # With every session closed, the token checks it itself
    with pytest.raises(HsmError, match='refused the PIN'):
        TokenSession(dataclasses.replace(config, pin='wrong-pin-31337'))


def test_one_signer_signs_concurrently(token, certificate, pki, roots):
    config, _public_key = token
    results: list[bytes] = []

    async def three_at_once(document_signer: DocumentSigner) -> None:
        outputs = [BytesIO() for _ in range(3)]
        await asyncio.gather(*(document_signer.async_sign_into(contract_pdf(), SEND, out) for out in outputs))
        results.extend(out.getvalue() for out in outputs)

    def sign_twice(document_signer: DocumentSigner) -> None:
        results.extend(document_signer.sign(contract_pdf(), SEND) for _ in range(2))

    with open_token_signer(config, certificate, roots) as signer:
        document_signer = engine(pki, signer)
        # one event loop (a lock held across an await would hang here), then threads
        workers = [threading.Thread(target=asyncio.run, args=(three_at_once(document_signer),), daemon=True)]
        workers += [threading.Thread(target=sign_twice, args=(document_signer,), daemon=True) for _ in range(3)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(timeout=60)
        assert not any(worker.is_alive() for worker in workers), 'signing hung'
    assert len(results) == 9
    assert {verify_pdf(data, roots).verdict for data in results} == {Verdict.VALID}


def test_sessions_are_used_from_several_threads_at_once(token, certificate):
    """python-pkcs11 tells modules that no two threads call at once (SoftHSM2
    then drops its mutexes, and crashed here before the engine serialised its
    calls): signatures in several sessions, while others open and close."""
    config, public_key = token
    failures: list[BaseException] = []

    def work(signer) -> None:
        try:
            for _round in range(20):
                asyncio.run(signer.async_sign_raw(b'contract', 'sha256'))
                assert token_public_key(config) == public_key
        except BaseException as exc:  # noqa: BLE001 - reported below
            failures.append(exc)

    signers = [open_token_signer(config, certificate) for _ in range(4)]
    try:
        workers = [threading.Thread(target=work, args=(signer,), daemon=True) for signer in signers]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(timeout=120)
        assert not any(worker.is_alive() for worker in workers), 'signing hung'
    finally:
        for signer in signers:
            signer.close()
    assert not failures, failures
