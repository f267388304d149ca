import hashlib
import io
import sys

import pytest
import rfc3161ng
from pyhanko.pdf_utils.reader import PdfFileReader

from cloudstamp_engine import (
    DocumentSigner,
    HttpTsaConfig,
    SignatureAction,
    SignatureRequest,
    SigningError,
    TimestampError,
    Verdict,
    http_timestamper,
    verify_pdf,
)
from cloudstamp_engine_testing.checkers import assert_pdfsig_accepts, openssl_verify_timestamp
from cloudstamp_engine_testing.pdf_samples import certified_pdf, contract_pdf, inherited_media_box_pdf
from cloudstamp_engine_testing.tsa_server import Rfc3161HttpServer

ROUND = [
    ('sender@example.co.jp', SignatureAction.SEND, '送信 太郎'),
    ('yamada@example.jp', SignatureAction.FORWARD, '山田 花子'),
    ('boss@example.jp', SignatureAction.AGREE, '鈴木 一郎'),
    ('legal@partner.example', SignatureAction.AGREE, 'Jane Doe'),
]


def sign_round(signer, data):
    """Send, forward, agree, agree: checking every earlier signature each time."""
    for count, (email, action, name) in enumerate(ROUND, start=1):
        signed = signer.sign(data, SignatureRequest(email, action, actor_name=name))
        assert signed.startswith(data), 'not an incremental update'
        data = signed
        yield count, data


def test_engine_imports_nothing_from_odoo():
    assert not any(m == 'odoo' or m.startswith('odoo.') for m in sys.modules)


def test_four_sequential_signatures_stay_valid(signer, roots, pki):
    for count, data in sign_round(signer, contract_pdf()):
        report = verify_pdf(data, roots)
        assert report.verdict == Verdict.VALID, report.problems
        assert len(report.signatures) == count
        assert report.signatures[-1].coverage == 'entire_file'
        assert all(s.coverage in ('entire_revision', 'entire_file') for s in report.signatures)
    assert_pdfsig_accepts(data, pki.root_cert_pem, expected_count=4)


def test_signature_fields_record_actor_action_and_time_in_japanese(signer, roots):
    *_, (_, data) = sign_round(signer, contract_pdf())
    report = verify_pdf(data, roots)
    for sig, (email, action, name) in zip(report.signatures, ROUND, strict=True):
        assert sig.actor == email
        assert sig.action == action.value
        assert sig.signer_name == f'{name} <{email}>'
        assert action.label_ja in sig.reason and email in sig.reason
        assert sig.timestamp_ok and sig.timestamp_time is not None
        assert abs((sig.timestamp_time - sig.signing_time).total_seconds()) < 60
        assert 'TSA' in sig.tsa
    # read back independently of our verifier, straight from the PDF
    reader = PdfFileReader(io.BytesIO(data))
    names = [s.sig_object['/Name'] for s in reader.embedded_signatures]
    assert names[1] == '山田 花子 <yamada@example.jp>'


def test_signatures_are_pades_cades_detached_sha256(signer):
    data = signer.sign(contract_pdf(), SignatureRequest('a@example.jp', SignatureAction.SEND))
    sig = PdfFileReader(io.BytesIO(data)).embedded_signatures[0]
    assert sig.sig_object['/SubFilter'] == '/ETSI.CAdES.detached'
    signer_info = sig.signer_info
    assert signer_info['digest_algorithm']['algorithm'].native == 'sha256'
    unsigned = signer_info['unsigned_attrs'].native
    assert any(a['type'] == 'signature_time_stamp_token' for a in unsigned)


def test_input_is_never_modified(signer):
    data = contract_pdf()
    copy = bytes(data)
    signer.sign(data, SignatureRequest('a@example.jp', SignatureAction.SEND))
    assert data == copy


def _timestamp_token(data):
    sig = PdfFileReader(io.BytesIO(data)).embedded_signatures[-1]
    attrs = sig.signer_info['unsigned_attrs']
    token = next(a for a in attrs if a['type'].native == 'signature_time_stamp_token')
    return token['values'][0], sig.signer_info['signature'].native


def test_http_tsa_one_request_per_signature_with_basic_auth(pki, roots):
    with Rfc3161HttpServer(pki.tsa(), username='tsa-user', password='秘密') as server:
        timestamper = http_timestamper(HttpTsaConfig(server.url, username='tsa-user', password='秘密'))
        signer = DocumentSigner(pki.signer(), timestamper)
        for count, data in sign_round(signer, contract_pdf()):  # noqa: B007 - the last round's data is checked below
            assert server.request_count == count
        report = verify_pdf(data, roots)
        assert report.verdict == Verdict.VALID, report.problems
        assert_pdfsig_accepts(data, pki.root_cert_pem, expected_count=4)

    # Cross-check the last token with two other RFC 3161 implementations.
    token, signature = _timestamp_token(data)
    digest = hashlib.sha256(signature).hexdigest()
    assert openssl_verify_timestamp(token.dump(), digest, pki.root_cert_pem)
    assert not openssl_verify_timestamp(token.dump(), '00' * 32, pki.root_cert_pem)
    assert rfc3161ng.check_timestamp(token.dump(), certificate=pki.tsa_cert_pem, data=signature, hashname='sha256')


def test_http_tsa_failures_raise_timestamp_error_and_sign_nothing(pki):
    with Rfc3161HttpServer(pki.tsa(), username='u', password='right') as server:
        wrong = DocumentSigner(
            pki.signer(), http_timestamper(HttpTsaConfig(server.url, username='u', password='wrong'))
        )
        with pytest.raises(TimestampError):
            wrong.sign(contract_pdf(), SignatureRequest('a@example.jp', SignatureAction.SEND))
        assert server.request_count == 0
        url = server.url
    gone = DocumentSigner(pki.signer(), http_timestamper(HttpTsaConfig(url, timeout_seconds=2)))
    with pytest.raises(TimestampError):
        gone.sign(contract_pdf(), SignatureRequest('a@example.jp', SignatureAction.SEND))


def test_signing_keeps_a_certified_document_valid(signer, roots, pki):
    from pyhanko.sign import fields

    data = certified_pdf(contract_pdf(), fields.MDPPerm.FILL_FORMS, pki)
    data = signer.sign(data, SignatureRequest('a@example.jp', SignatureAction.AGREE))
    report = verify_pdf(data, roots)
    assert report.verdict == Verdict.VALID, report.problems
    assert len(report.signatures) == 2


def test_page_note_is_printed_in_the_same_revision_as_the_signature(signer, roots):
    import pypdf

    original = contract_pdf(pages=2)
    note = 'CloudStamp Document ID: CS-ABCD-EFGH (x)'
    data = signer.sign(original, SignatureRequest('sender@example.jp', SignatureAction.SEND, page_note=note))
    pages = pypdf.PdfReader(io.BytesIO(data)).pages
    assert note in pages[0].extract_text()
    assert note not in pages[1].extract_text()
    assert note not in pypdf.PdfReader(io.BytesIO(original)).pages[0].extract_text()
    report = verify_pdf(data, roots)
    assert report.verdict == Verdict.VALID, report.problems
    # one revision: the note is covered by the send signature itself
    assert len(report.signatures) == 1 and report.signatures[0].coverage == 'entire_file'
    assert data.count(b'%%EOF') == original.count(b'%%EOF') + 1


def _page_text(data, page=0):
    import pypdf

    return pypdf.PdfReader(io.BytesIO(data)).pages[page].extract_text()


def test_page_note_on_a_page_that_inherits_its_media_box(signer, roots):
    """Many producers put /MediaBox on the page tree only; the note used to
    fail there with a raw TypeError (a 500 at send)."""
    data = signer.sign(
        inherited_media_box_pdf(), SignatureRequest('sender@example.jp', SignatureAction.SEND, page_note='CS-INHERIT')
    )
    assert 'CS-INHERIT' in _page_text(data)
    # placed from the inherited box's corner (100, 100), not from (0, 0)
    assert b'114.00 110.00 Td (CS-INHERIT)' in data
    assert verify_pdf(data, roots).verdict == Verdict.VALID


def test_a_file_that_already_carries_our_note_can_be_sent_again(signer, roots):
    """A signed CloudStamp PDF uploaded as a new contract: the second note
    needs a font name of its own (it used to fail on /CSNote with a raw
    PdfError)."""
    first = signer.sign(
        contract_pdf(), SignatureRequest('sender@example.jp', SignatureAction.SEND, page_note='CS-FIRST')
    )
    second = signer.sign(first, SignatureRequest('sender@example.jp', SignatureAction.SEND, page_note='CS-SECOND'))
    text = _page_text(second)
    assert 'CS-FIRST' in text and 'CS-SECOND' in text
    assert b'/CSNote2 6 Tf' in second
    old, new = verify_pdf(second, roots).signatures
    assert new.ok and new.intact and new.valid
    # A note rewrites page 1, which the earlier signature covered: the
    # verifier rightly reports that as a change beyond form filling.
    assert any('beyond form filling' in p for p in old.problems)


@pytest.mark.parametrize(
    'data',
    [
        b'not a pdf',
        # decimal.InvalidOperation inside pyHanko, raised raw before
        contract_pdf().replace(b'/Count 1', b'/Count 1.2.3'),
        # KeyError in pyHanko's page lookup, raised raw before
        contract_pdf().replace(b'/Count 1', b'/Cuont 1'),
    ],
)
def test_sign_raises_only_signing_error(signer, data):
    with pytest.raises(SigningError) as info:
        signer.sign(data, SignatureRequest('a@example.jp', SignatureAction.SEND, page_note='CS-X'))
    assert type(info.value) is SigningError


def test_a_document_timestamp_proves_an_unsigned_scan_unchanged(signer, roots, pki):
    scan = contract_pdf()
    stamped = signer.timestamp_document(scan)
    assert stamped.startswith(scan), 'not an incremental update'
    report = verify_pdf(stamped, roots)
    assert report.verdict == Verdict.VALID, report.problems
    (stamp,) = report.signatures
    assert stamp.is_document_timestamp and stamp.timestamp_ok and stamp.coverage == 'entire_file'
    assert_pdfsig_accepts(stamped, pki.root_cert_pem, expected_count=1, document_timestamps=1)
    tampered = stamped.replace(b'CloudStamp', b'CloudStump', 1)
    assert verify_pdf(tampered, roots).verdict == Verdict.INVALID


def test_a_document_timestamp_keeps_earlier_signatures_valid(signer, roots, pki):
    *_, (_, signed_elsewhere) = sign_round(signer, contract_pdf())
    stamped = signer.timestamp_document(signed_elsewhere)
    report = verify_pdf(stamped, roots)
    assert report.verdict == Verdict.VALID, report.problems
    assert [s.is_document_timestamp for s in report.signatures] == [False] * len(ROUND) + [True]
    assert report.signatures[-1].field_name.endswith('-timestamp')
    assert_pdfsig_accepts(stamped, pki.root_cert_pem, expected_count=len(ROUND) + 1, document_timestamps=1)


def test_a_document_timestamp_refuses_what_is_not_a_pdf(signer):
    with pytest.raises(SigningError):
        signer.timestamp_document(b'%PDF-1.7 not really')
