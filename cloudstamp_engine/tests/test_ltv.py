"""PAdES B-LTA: built at completion, renewed, and valid offline long after
every signing certificate expired."""

import datetime as dt

import pytest

from cloudstamp_engine import (
    DocumentSigner,
    EmbeddedTimeStamper,
    SignatureAction,
    SignatureRequest,
    Verdict,
    generate_service_pki,
    load_pem_certificates,
    verify_pdf,
)
from cloudstamp_engine.errors import SigningError
from cloudstamp_engine.ltv import ValidationMaterial, validate_lta
from cloudstamp_engine.pki import issue_crl
from cloudstamp_engine_testing.checkers import assert_pdfsig_accepts
from cloudstamp_engine_testing.pdf_samples import contract_pdf

NOW = dt.datetime.now(dt.UTC)
AFTER_EXPIRY = NOW + dt.timedelta(days=400)


@pytest.fixture(scope='module')
def short_lived():
    """Signing and TSA certificates that expire in 30 days, with a CRL point."""
    return generate_service_pki('短命テスト株式会社', leaf_days=30, crl_url='http://127.0.0.1:9/crl')


@pytest.fixture(scope='module')
def later_tsas():
    """TSAs of the years after (another root each), for the renewals."""
    return [generate_service_pki(f'Renewal TSA {n}', crl_url=f'http://127.0.0.1:9/crl{n}') for n in (1, 2)]


def material(*pkis, revoked=(), revoked_at=None):
    return ValidationMaterial(
        trust_roots=tuple(root for pki in pkis for root in load_pem_certificates(pki.root_cert_pem)),
        crls=tuple(
            issue_crl(pki.root_cert_pem, pki.root_key_pem, revoked_serials=revoked, revoked_at=revoked_at)
            for pki in pkis
        ),
        certificates=tuple(
            cert for pki in pkis for cert in load_pem_certificates(pki.signer_cert_pem + pki.tsa_cert_pem)
        ),
    )


@pytest.fixture(scope='module')
def signed_b_t(short_lived):
    signer = DocumentSigner(short_lived.signer(), EmbeddedTimeStamper(short_lived.tsa()))
    data = contract_pdf()
    for email, action in (
        ('sales@example.jp', SignatureAction.SEND),
        ('buyer@example.jp', SignatureAction.AGREE),
        ('boss@example.jp', SignatureAction.AGREE),
    ):
        data = signer.sign(data, SignatureRequest(email, action))
    return signer, data


def test_completion_makes_every_signature_b_lta(short_lived, signed_b_t):
    signer, data = signed_b_t
    lta = signer.extend_to_lta(data, material(short_lived))
    assert lta.startswith(data), 'earlier revisions untouched'
    roots = load_pem_certificates(short_lived.root_cert_pem)
    statuses = validate_lta(lta, roots, NOW)
    assert [s.passed for s in statuses] == [True, True, True], statuses
    report = verify_pdf(lta, roots)
    assert report.verdict == Verdict.VALID, report.problems
    assert report.signatures[-1].is_document_timestamp
    assert_pdfsig_accepts(lta, short_lived.root_cert_pem, expected_count=4, document_timestamps=1)
    # Once the archive timestamp's own TSA certificate expired, it proves nothing: renew before.
    assert not any(s.passed for s in validate_lta(lta, roots, AFTER_EXPIRY))


def test_renewed_twice_it_validates_offline_after_every_signing_certificate_expired(
    short_lived, later_tsas, signed_b_t
):
    signer, data = signed_b_t
    everything = material(short_lived, *later_tsas)
    lta = signer.extend_to_lta(data, material(short_lived))
    for renewal_pki in later_tsas:
        renewer = DocumentSigner(renewal_pki.signer(), EmbeddedTimeStamper(renewal_pki.tsa()))
        renewed = renewer.renew_archive_timestamp(lta, everything)
        assert renewed.startswith(lta), 'a renewal never rewrites what came before'
        lta = renewed
    roots = everything.trust_roots
    statuses = validate_lta(lta, roots, AFTER_EXPIRY)
    assert [s.passed for s in statuses] == [True, True, True], statuses
    # the file itself is intact for pyHanko and for poppler and OpenSSL
    assert verify_pdf(lta, roots).verdict in (Verdict.VALID, Verdict.UNTRUSTED)
    pems = short_lived.root_cert_pem + later_tsas[0].root_cert_pem + later_tsas[1].root_cert_pem
    assert_pdfsig_accepts(lta, pems, expected_count=6, document_timestamps=3)


def test_only_a_b_lta_file_is_renewed(short_lived, signed_b_t):
    signer, data = signed_b_t
    with pytest.raises(SigningError):
        signer.renew_archive_timestamp(data, material(short_lived))


def test_a_revoked_signing_certificate_shows_in_validation(short_lived, signed_b_t):
    from cryptography import x509

    signer, data = signed_b_t
    certificate = x509.load_pem_x509_certificate(short_lived.signer_cert_pem)
    # Revoked before it signed: the signatures made with it are not valid.
    # (Revoked later, signatures the timestamps prove earlier stay valid.)
    revoked = material(short_lived, revoked=[certificate.serial_number], revoked_at=certificate.not_valid_before_utc)
    lta = signer.extend_to_lta(data, revoked)
    statuses = validate_lta(lta, revoked.trust_roots, NOW)
    assert statuses and not any(s.passed for s in statuses), statuses


def test_validation_material_added_after_the_newest_timestamp_keeps_the_file_valid(short_lived, signed_b_t):
    """Other tools (pyHanko's own LTV, Adobe) append the DSS after the last
    timestamp: only that may follow it."""
    import asyncio
    from io import BytesIO

    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import async_add_validation_info
    from pyhanko_certvalidator import ValidationContext

    signer, data = signed_b_t
    lta = signer.extend_to_lta(data, material(short_lived))
    roots = load_pem_certificates(short_lived.root_cert_pem)
    newest = PdfFileReader(BytesIO(lta)).embedded_signatures[-1]
    output = BytesIO()
    context = ValidationContext(trust_roots=roots, allow_fetching=False)
    asyncio.run(async_add_validation_info(newest, context, output=output, force_write=True))
    extended = output.getvalue()
    assert len(extended) > len(lta)
    assert verify_pdf(extended, roots).verdict == Verdict.VALID
    assert verify_pdf(extended + b'1 0 obj\n<<>>\nendobj\n%%EOF\n', roots).verdict == Verdict.INVALID
