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
    newest_archive_timestamp,
    verify_pdf,
)
from cloudstamp_engine.errors import RevocationFetchError, SigningError
from cloudstamp_engine.ltv import ValidationMaterial, fetch_crls, timestamp_certificates, validate_lta
from cloudstamp_engine.pki import (
    LeafRole,
    Revocation,
    RevocationReason,
    SigningIdentity,
    crl_distribution_url,
    issue_certificate_crl,
    issue_leaf_certificate,
)
from cloudstamp_engine_testing.checkers import assert_pdfsig_accepts
from cloudstamp_engine_testing.clock import freeze_time
from cloudstamp_engine_testing.crl_server import CrlHttpServer
from cloudstamp_engine_testing.flows import sign_round
from cloudstamp_engine_testing.pdf_samples import contract_pdf

NOW = dt.datetime.now(dt.UTC)
AFTER_EXPIRY = NOW + dt.timedelta(days=400)


CRL_BASE = 'http://127.0.0.1:9/crl/1'


@pytest.fixture(scope='module')
def short_lived():
    """Signing and TSA certificates that expire in 30 days, with CRL points."""
    return generate_service_pki('短命テスト株式会社', leaf_days=30, crl_base_url=CRL_BASE)


def not_after(pem):
    return load_pem_certificates(pem)[0]['tbs_certificate']['validity']['not_after'].native


def material(pki, extra_tsa_pems=(), revoked=None, now=None):
    """What the service embeds: every certificate, and a CRL for each one
    still valid (``revoked``: a Revocation of the signing certificate)."""
    now = now or dt.datetime.now(dt.UTC)
    pems = [pki.signer_cert_pem, pki.tsa_cert_pem, *extra_tsa_pems]
    crls = tuple(
        issue_certificate_crl(
            pki.root_cert_pem, pki.root_key_pem, pem, revoked if pem == pki.signer_cert_pem else None, now=now
        )
        for pem in pems
        if not_after(pem) > now
    )
    return ValidationMaterial(
        trust_roots=tuple(load_pem_certificates(pki.root_cert_pem)),
        crls=crls,
        certificates=tuple(cert for pem in pems for cert in load_pem_certificates(pem)),
    )


@pytest.fixture(scope='module')
def signed_b_t(short_lived):
    signer = DocumentSigner(short_lived.signer(), EmbeddedTimeStamper(short_lived.tsa()))
    return signer, sign_round(signer)


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
    archive = newest_archive_timestamp(lta)
    tsa_end = load_pem_certificates(short_lived.tsa_cert_pem)[0]['tbs_certificate']['validity']['not_after'].native
    assert archive.tsa_valid_until == tsa_end, 'the evidence lasts as long as the archive TSA certificate'
    assert newest_archive_timestamp(data) is None, 'a B-T file has no archive timestamp'
    # the verifier's report says so too
    assert report.validation_material_embedded and report.evidence_valid_until == tsa_end
    assert not verify_pdf(data, roots).validation_material_embedded
    assert_pdfsig_accepts(lta, short_lived.root_cert_pem, expected_count=4, document_timestamps=1)
    # Once the archive timestamp's own TSA certificate expired, it proves nothing: renew before.
    assert not any(s.passed for s in validate_lta(lta, roots, AFTER_EXPIRY))


def test_renewed_twice_over_a_year_it_validates_offline_after_every_signer_expired():
    """The service's CA replaces its TSA certificate before each renewal; the
    file alone proves the signatures long after the first ones expired."""
    t0 = dt.datetime.now(dt.UTC).replace(microsecond=0)
    pki = generate_service_pki('更新テスト株式会社', leaf_days=200, now=t0, crl_base_url=CRL_BASE)
    tsa_pems = []
    with freeze_time(t0):
        signer = DocumentSigner(pki.signer(), EmbeddedTimeStamper(pki.tsa()))
        data = signer.sign(contract_pdf(), SignatureRequest('sales@example.jp', SignatureAction.SEND))
        data = signer.sign(data, SignatureRequest('buyer@example.jp', SignatureAction.AGREE))
        lta = signer.extend_to_lta(data, material(pki, now=t0))
    versions = [lta]
    for day in (175, 350):
        now = t0 + dt.timedelta(days=day)
        with freeze_time(now):
            tsa = issue_leaf_certificate(pki.root_cert_pem, pki.root_key_pem, LeafRole.TSA, 200, CRL_BASE, now)
            tsa_pems.append(tsa.cert_pem)
            renewer = DocumentSigner(
                pki.signer(),
                EmbeddedTimeStamper(SigningIdentity.from_pem(tsa.cert_pem, tsa.key_pem, pki.root_cert_pem)),
            )
            renewed = renewer.renew_archive_timestamp(versions[-1], material(pki, tsa_pems, now=now))
        assert renewed.startswith(versions[-1]), 'a renewal never rewrites what came before'
        assert newest_archive_timestamp(renewed).tsa_valid_until == not_after(tsa.cert_pem)
        versions.append(renewed)
    roots = load_pem_certificates(pki.root_cert_pem)
    later = t0 + dt.timedelta(days=400)  # the signer and the first two TSA certificates expired
    assert not_after(pki.signer_cert_pem) < later and not_after(tsa_pems[0]) < later
    with freeze_time(later):
        assert [s.passed for s in validate_lta(versions[-1], roots, later)] == [True, True]
        # Renewed once only, the evidence ran out with the second TSA certificate
        assert not any(s.passed for s in validate_lta(versions[1], roots, later))
    # the file itself is intact for pyHanko, and for poppler and OpenSSL
    assert verify_pdf(versions[-1], roots).verdict in (Verdict.VALID, Verdict.UNTRUSTED)
    assert_pdfsig_accepts(versions[-1], pki.root_cert_pem, expected_count=5, document_timestamps=3, at=later)


def test_each_certificate_has_its_own_crl_ending_before_it_does(short_lived):
    from cryptography import x509

    crl = x509.load_der_x509_crl(
        issue_certificate_crl(short_lived.root_cert_pem, short_lived.root_key_pem, short_lived.tsa_cert_pem)
    )
    tsa = x509.load_pem_x509_certificate(short_lived.tsa_cert_pem)
    assert crl_distribution_url(tsa) == f'{CRL_BASE}/{tsa.serial_number:x}.crl'
    scope = crl.extensions.get_extension_for_class(x509.IssuingDistributionPoint).value
    assert [name.value for name in scope.full_name] == [crl_distribution_url(tsa)]
    assert crl.next_update_utc < tsa.not_valid_after_utc
    assert len(crl) == 0


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
    revoked = material(
        short_lived,
        revoked=Revocation(
            certificate.serial_number, certificate.not_valid_before_utc, RevocationReason.KEY_COMPROMISE
        ),
    )
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


def test_an_external_tsa_s_revocation_data_is_fetched_over_http_and_embedded(short_lived):
    """Timestamps from another CA's TSA: its certificates come from the
    tokens, its CRL from its distribution point, and B-LTA holds both."""
    with CrlHttpServer() as crl_point:
        external = generate_service_pki('外部認定TSA', crl_base_url=crl_point.base_url)
        crl_point.publish(external.root_cert_pem, external.root_key_pem, [external.tsa_cert_pem])
        signer = DocumentSigner(short_lived.signer(), EmbeddedTimeStamper(external.tsa()))
        data = signer.sign(contract_pdf(), SignatureRequest('sales@example.jp', SignatureAction.SEND))
        tsa_certs = timestamp_certificates(data)
        assert load_pem_certificates(external.tsa_cert_pem)[0].dump() in [c.dump() for c in tsa_certs]
        fetched = fetch_crls(tsa_certs)
        assert crl_point.request_count == 1 and len(fetched) == 1
    roots = (*load_pem_certificates(short_lived.root_cert_pem), *load_pem_certificates(external.root_cert_pem))
    own = material(short_lived)

    def with_external(crls):
        return ValidationMaterial(roots, own.crls + crls, own.certificates + tsa_certs)

    lta = signer.extend_to_lta(data, with_external(fetched))
    assert [s.passed for s in validate_lta(lta, roots, NOW)] == [True]
    # without the external CA's CRL, nothing in the file proves its TSA unrevoked
    missing = signer.extend_to_lta(data, with_external(()))
    assert not any(s.passed for s in validate_lta(missing, roots, NOW))


def test_an_unreachable_crl_point_is_an_engine_error(short_lived):
    with CrlHttpServer() as crl_point:
        url = crl_point.base_url
    external = generate_service_pki('Gone TSA', crl_base_url=url)
    with pytest.raises(RevocationFetchError):
        fetch_crls(load_pem_certificates(external.tsa_cert_pem))
    with pytest.raises(RevocationFetchError):
        fetch_crls(load_pem_certificates(external.tsa_cert_pem), fetch=lambda url: b'<html>not a CRL</html>')


def test_the_verifier_reads_revocation_from_the_file(short_lived, signed_b_t):
    from cryptography import x509

    signer, data = signed_b_t
    certificate = x509.load_pem_x509_certificate(short_lived.signer_cert_pem)
    roots = load_pem_certificates(short_lived.root_cert_pem)
    # revoked before it signed: not valid, and the report says why
    before = Revocation(certificate.serial_number, certificate.not_valid_before_utc, RevocationReason.KEY_COMPROMISE)
    report = verify_pdf(signer.extend_to_lta(data, material(short_lived, revoked=before)), roots)
    assert report.verdict == Verdict.INVALID
    assert any('revoked' in problem for problem in report.problems), report.problems
    # superseded after it signed: the timestamps prove the signatures earlier
    later = Revocation(certificate.serial_number, NOW + dt.timedelta(days=1), RevocationReason.SUPERSEDED)
    assert verify_pdf(signer.extend_to_lta(data, material(short_lived, revoked=later)), roots).verdict == Verdict.VALID
