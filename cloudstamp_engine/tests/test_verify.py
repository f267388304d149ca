"""The verifier must call every manipulated file "not valid"."""

import io
import re
from pathlib import Path

import pytest
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

from cloudstamp_engine import SignatureAction, SignatureRequest, Verdict, printed_document_refs, verify_pdf
from cloudstamp_engine.verify import NO_TIMESTAMP
from cloudstamp_engine_testing.pdf_samples import contract_pdf

# Published attack files, with their sources and licences: data/pdf-attacks/README.md
ATTACKS = Path(__file__).parent / 'data' / 'pdf-attacks'
MANIPULATED = sorted(ATTACKS.rglob('*manipulat*.pdf'))
HONEST_ORIGINALS = sorted(ATTACKS.rglob('3_*signed.pdf'))
if (len(MANIPULATED), len(HONEST_ORIGINALS)) != (11, 7):
    # A missing folder or file must fail the run, not skip attacks.
    raise FileNotFoundError(f'published attack files missing from {ATTACKS}')


@pytest.fixture(scope='module')
def signed(signer):
    data = contract_pdf('秘密保持契約書 / NDA')
    data = signer.sign(data, SignatureRequest('sender@example.jp', SignatureAction.SEND))
    return signer.sign(data, SignatureRequest('party@example.jp', SignatureAction.AGREE))


def _byte_range(data, which=-1):
    ranges = re.findall(rb'/ByteRange\s*\[\s*(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s*\]', data)
    return [int(x) for x in ranges[which]]


def test_honest_file_is_valid(signed, roots):
    report = verify_pdf(signed, roots)
    assert report.verdict == Verdict.VALID
    assert not report.problems and not report.warnings


def test_untrusted_without_our_root(signed):
    report = verify_pdf(signed, [])
    assert report.verdict == Verdict.UNTRUSTED
    assert not report.problems


def test_content_added_in_a_later_incremental_update(signed, roots):
    writer = IncrementalPdfFileWriter(io.BytesIO(signed))
    page_ref = writer.root['/Pages']['/Kids'][0]
    page = page_ref.get_object()
    stream = generic.StreamObject(stream_data=b'BT /F1 24 Tf 72 400 Td (PAID IN FULL) Tj ET')
    contents = page['/Contents']
    page['/Contents'] = generic.ArrayObject([contents, writer.add_object(stream)])
    writer.update_container(page)
    out = io.BytesIO()
    writer.write(out)
    report = verify_pdf(out.getvalue(), roots)
    assert report.verdict == Verdict.INVALID
    assert any('whole file' in p for p in report.problems)
    assert any('beyond form filling' in p for p in report.problems)


def test_bytes_after_the_last_eof(signed, roots):
    report = verify_pdf(signed + b'\n1 0 obj (evil) endobj\n', roots)
    assert report.verdict == Verdict.INVALID
    assert any('%%EOF' in p for p in report.problems)


def test_signature_wrapping(signed, roots):
    """Close /Contents early and hide an object in the unsigned gap."""
    start, first_len, gap_end, _ = _byte_range(signed)
    gap = signed[first_len:gap_end]
    hex_digits = gap[1:-1].rstrip(b'0')
    payload = b'> 99 0 obj (wrapped) endobj %'
    forged_gap = b'<' + hex_digits + payload
    forged_gap += b'0' * (len(gap) - len(forged_gap) - 1) + b'>'
    assert len(forged_gap) == len(gap)
    forged = signed[:first_len] + forged_gap + signed[gap_end:]
    assert verify_pdf(forged, roots).verdict == Verdict.INVALID


def test_byte_range_zeroed(signed, roots):
    match = list(re.finditer(rb'/ByteRange\s*\[[^\]]*\]', signed))[-1]
    original = match.group(0)
    zeroed = b'/ByteRange [0 0 0 0' + b' ' * (len(original) - len(b'/ByteRange [0 0 0 0]')) + b']'
    forged = signed[: match.start()] + zeroed + signed[match.end() :]
    assert len(forged) == len(signed)
    assert verify_pdf(forged, roots).verdict == Verdict.INVALID


def test_cms_copied_from_another_document(signer, signed, roots):
    other = signer.sign(
        contract_pdf('別の契約 / Another contract'), SignatureRequest('sender@example.jp', SignatureAction.SEND)
    )
    _, a_len, a_end, _ = _byte_range(signed)
    _, b_len, b_end, _ = _byte_range(other)
    foreign = other[b_len:b_end]
    assert len(foreign) == a_end - a_len  # same reserve, so it fits exactly
    forged = signed[:a_len] + foreign + signed[a_end:]
    report = verify_pdf(forged, roots)
    assert report.verdict == Verdict.INVALID
    assert any('digest' in p or 'not valid' in p for p in report.problems)


def test_a_changed_byte_in_signed_content(signed, roots):
    index = signed.index(b'/F1')  # inside the first, signed revision
    forged = signed[:index] + b'/F2' + signed[index + 3 :]
    assert verify_pdf(forged, roots).verdict == Verdict.INVALID


@pytest.mark.parametrize('data', [b'', b'not a pdf', b'%PDF-1.7\n%%EOF\n'])
def test_garbage_is_invalid_without_raising(data, roots):
    assert verify_pdf(data, roots).verdict == Verdict.INVALID


def test_unsigned_pdf_is_invalid(roots):
    report = verify_pdf(contract_pdf(), roots)
    assert report.verdict == Verdict.INVALID
    assert report.problems == ('no signatures',)


@pytest.mark.parametrize('path', MANIPULATED, ids=lambda p: str(p.relative_to(ATTACKS)))
def test_published_attack_files_are_not_valid(path):
    report = verify_pdf(path.read_bytes())
    assert report.verdict == Verdict.INVALID, report


@pytest.mark.parametrize('path', HONEST_ORIGINALS, ids=lambda p: str(p.relative_to(ATTACKS)))
def test_the_honest_originals_are_intact(path):
    """Guards against a verifier that rejects everything."""
    report = verify_pdf(path.read_bytes())
    assert report.verdict == Verdict.UNTRUSTED, report.problems
    assert not report.problems


def test_document_timestamps_are_reported(signed, roots, pki):
    from pyhanko.sign.signers import PdfTimeStamper

    from cloudstamp_engine import EmbeddedTimeStamper

    out = io.BytesIO()
    PdfTimeStamper(EmbeddedTimeStamper(pki.tsa())).timestamp_pdf(
        IncrementalPdfFileWriter(io.BytesIO(signed)), 'sha256', output=out
    )
    report = verify_pdf(out.getvalue(), roots)
    assert report.verdict == Verdict.VALID, report.problems
    *signatures, stamp = report.signatures
    assert [s.action for s in signatures] == ['send', 'agree']
    assert stamp.is_document_timestamp and stamp.timestamp_ok
    assert stamp.coverage == 'entire_file' and 'TSA' in stamp.tsa


def _sign_without_timestamp(data, pki):
    """PAdES B-B: what a DocumentSigner never makes, but others do."""
    from pyhanko.sign import fields, signers

    from cloudstamp_engine.signing import CachedKeySigner

    out = io.BytesIO()
    signers.PdfSigner(
        signers.PdfSignatureMetadata(
            field_name='NoTimestamp', md_algorithm='sha256', subfilter=fields.SigSeedSubFilter.PADES
        ),
        signer=CachedKeySigner(pki.signer()),
    ).sign_pdf(IncrementalPdfFileWriter(io.BytesIO(data)), output=out)
    return out.getvalue()


def test_a_signature_without_timestamp_is_untrusted_with_a_warning(pki, roots):
    """The product promises B-T; B-B is not tampering, but not VALID."""
    report = verify_pdf(_sign_without_timestamp(contract_pdf(), pki), roots)
    assert report.verdict == Verdict.UNTRUSTED
    assert not report.problems
    [sig] = report.signatures
    assert sig.intact and sig.valid and sig.trusted and not sig.timestamp_ok
    assert sig.warnings == (NO_TIMESTAMP,)
    assert report.warnings == (f'NoTimestamp: {NO_TIMESTAMP}',)
    assert 'no timestamp' in report.warnings[0]


def test_a_later_document_timestamp_makes_it_b_t(pki, roots):
    """A document timestamp covers every earlier byte (PAdES B-T allows
    either kind of timestamp)."""
    from pyhanko.sign.signers import PdfTimeStamper

    from cloudstamp_engine import EmbeddedTimeStamper

    out = io.BytesIO()
    PdfTimeStamper(EmbeddedTimeStamper(pki.tsa())).timestamp_pdf(
        IncrementalPdfFileWriter(io.BytesIO(_sign_without_timestamp(contract_pdf(), pki))), 'sha256', output=out
    )
    report = verify_pdf(out.getvalue(), roots)
    assert report.verdict == Verdict.VALID, (report.problems, report.warnings)
    assert not report.warnings


def test_the_printed_document_id_is_read_from_the_bytes(signer):
    note = 'CloudStamp Document ID: CS-AB12-CD34-EF56-GH78'
    data = signer.sign(contract_pdf(), SignatureRequest('a@example.jp', SignatureAction.SEND, page_note=note))
    data = signer.sign(data, SignatureRequest('b@example.jp', SignatureAction.AGREE, page_note=note))
    assert printed_document_refs(data) == ('CS-AB12-CD34-EF56-GH78',)
    assert printed_document_refs(contract_pdf()) == ()
