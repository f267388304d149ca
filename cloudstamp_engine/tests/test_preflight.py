import decimal
import hashlib
import re
import time
import zlib

import pytest
from pyhanko.pdf_utils.crypt.permissions import StandardPermissions
from pyhanko.sign import fields

from cloudstamp_engine import (
    PreflightLimits,
    PreflightRefusal,
    RefusalCode,
    SignatureAction,
    SignatureRequest,
    SigningError,
    Verdict,
    preflight,
    preflight_send,
    verify_pdf,
)
from cloudstamp_engine.config import MB
from cloudstamp_engine_testing.fuzzing import deadline
from cloudstamp_engine_testing.pdf_samples import (
    certified_pdf,
    contract_pdf,
    encrypted_pdf,
    inherited_media_box_pdf,
    object_stream_pdf,
)


def refusal(data, name='doc.pdf', limits=PreflightLimits()):
    with pytest.raises(PreflightRefusal) as info:
        preflight(data, name, limits)
    return info.value


def test_accepts_a_pdf_with_page_count_size_and_sha256():
    data = contract_pdf(pages=3)
    result = preflight(data, 'contract.pdf')
    assert result.page_count == 3
    assert result.size == len(data)
    assert result.sha256 == hashlib.sha256(data).hexdigest()


def test_judges_by_content_not_by_name():
    png = b'\x89PNG\r\n\x1a\n' + b'\x00' * 200
    assert refusal(png, 'looks-like.pdf').code == RefusalCode.NOT_PDF
    # and a real PDF with a wrong extension is fine
    assert preflight(contract_pdf(), 'scan.png').page_count == 1


def test_empty_file():
    assert refusal(b'').code == RefusalCode.EMPTY


@pytest.mark.parametrize(
    'damage',
    [
        lambda d: d[: len(d) // 2],  # truncated
        lambda d: d.replace(b'xref', b'xxxx').replace(b'/Root', b'/Ruut'),
        lambda d: b'%PDF-1.7\n' + b'garbage ' * 100,  # header only
    ],
)
def test_damaged_files_are_refused(damage):
    assert refusal(damage(contract_pdf())).code == RefusalCode.DAMAGED


def test_password_protected_file_is_refused():
    error = refusal(encrypted_pdf('secret', 'owner'), '契約書.pdf')
    assert error.code == RefusalCode.ENCRYPTED
    assert 'password' in str(error) and '契約書.pdf' in str(error)


@pytest.mark.parametrize(
    'allowed',
    [
        # printing only: no modification, no annotations, no form filling
        StandardPermissions.ALLOW_PRINTING,
        # everything but form filling / annotations (signing adds a form field)
        StandardPermissions.ALLOW_PRINTING | StandardPermissions.ALLOW_MODIFICATION_GENERIC,
        # everything but generic modification
        StandardPermissions.ALLOW_ANNOTS_FORM_FILLING | StandardPermissions.ALLOW_FORM_FILLING,
    ],
)
def test_permissions_forbidding_signing_are_refused(allowed):
    error = refusal(encrypted_pdf('', 'owner', allowed))
    assert error.code == RefusalCode.PERMISSIONS
    # The product's own wording (FAQ)
    assert 'security settings do not forbid signing' in str(error)


def test_owner_password_with_full_permissions_is_accepted():
    assert preflight(encrypted_pdf('', 'owner')).page_count == 1


def test_certification_allowing_no_changes_is_refused(pki):
    data = certified_pdf(contract_pdf(), fields.MDPPerm.NO_CHANGES, pki)
    assert refusal(data).code == RefusalCode.CERTIFIED_NO_CHANGES


def test_certification_allowing_form_filling_is_accepted(pki):
    data = certified_pdf(contract_pdf(), fields.MDPPerm.FILL_FORMS, pki)
    assert preflight(data).page_count == 1


def test_file_size_limit_default_is_4mb_and_configurable():
    big = contract_pdf(padding_bytes=4 * MB)
    error = refusal(big, 'big.pdf')
    assert error.code == RefusalCode.FILE_TOO_LARGE
    assert error.limit_mb == '4' and '4 MB' in str(error)
    assert preflight(big, 'big.pdf', PreflightLimits(max_file_bytes=5 * MB))
    small_limit = PreflightLimits(max_file_bytes=1000)
    assert refusal(contract_pdf(padding_bytes=2000), limits=small_limit).code == RefusalCode.FILE_TOO_LARGE


def test_send_size_limit_default_is_8mb():
    three_mb = contract_pdf(padding_bytes=3 * MB)
    assert len(preflight_send([('a.pdf', three_mb), ('b.pdf', three_mb)])) == 2
    with pytest.raises(PreflightRefusal) as info:
        preflight_send([('a.pdf', three_mb)] * 3)
    assert info.value.code == RefusalCode.SEND_TOO_LARGE
    assert info.value.limit_mb == '8' and '8 MB' in str(info.value)


def test_a_bad_file_in_a_send_refuses_the_send_naming_the_file():
    with pytest.raises(PreflightRefusal) as info:
        preflight_send([('good.pdf', contract_pdf()), ('bad.pdf', b'hello')])
    assert info.value.filename == 'bad.pdf'


def test_cross_reference_streams_and_inherited_media_boxes_are_accepted():
    assert preflight(object_stream_pdf()).page_count == 1
    assert preflight(inherited_media_box_pdf()).page_count == 1


@pytest.mark.parametrize(
    'index, widths',
    [
        # 10^30 rows claimed, 46 bytes of rows present
        (b'[ 0 1 1 999999999999999999999999999999 ]', b'[ 1 8 2 ]'),
        # 10^8 rows of no bytes at all: a negative width cancels the others
        (b'[ 0 100000000 ]', b'[ 1 -2 0 ]'),
    ],
)
def test_xref_stream_claiming_more_rows_than_it_holds_is_refused_quickly(index, widths):
    """pyHanko, reading leniently, fills the missing rows one by one: without
    the guard this ran for minutes and grew memory by ~50 MB/s."""
    data = object_stream_pdf()
    assert b'/W [ 1 8 2 ]' in data
    data = re.sub(rb'/Index \[[^\]]*\]', b'/Index ' + index, data)
    data = data.replace(b'/W [ 1 8 2 ]', b'/W ' + widths)
    start = time.monotonic()
    with deadline(10):
        assert refusal(data).code == RefusalCode.DAMAGED
        # verification reads through the same guard
        assert verify_pdf(data).verdict == Verdict.INVALID
    assert time.monotonic() - start < 2


def _startxref_at(data, target):
    """Point the last startxref at ``target`` instead of the xref table."""
    tail = b'startxref\n' + str(data.index(target)).encode() + b'\n%%EOF\n'
    return data[: data.rindex(b'startxref')] + tail


def _xref_stream_garbled(data):
    start = data.index(b'stream\n', data.index(b'/Type /XRef')) + len(b'stream\n')
    return data[:start] + b'\x00\x00' + data[start + 2 :]


# Each raised straight out of preflight before: only pyHanko's own PdfError
# and a few builtins were caught.
@pytest.mark.parametrize(
    'sample, damage, cause',
    [
        (
            contract_pdf,
            lambda d: d.replace(b'/Root 5 0 R', b'/Root 9 0 R'),
            AssertionError,
        ),  # reader.root: the catalog does not exist
        (
            contract_pdf,
            lambda d: _startxref_at(d, b'7 0 obj'),
            AssertionError,
        ),  # an object where the xref stream should be
        (contract_pdf, lambda d: d.replace(b'/Count 1', b'/Count 1.2.3'), decimal.InvalidOperation),
        (
            contract_pdf,
            lambda d: d[: d.rindex(b'startxref')] + b'startxref\n' + b'9' * 30 + b'\n%%EOF\n',
            OverflowError,
        ),
        (object_stream_pdf, lambda d: d.replace(b'/FlateDecode', b'/FlapeDecode'), NotImplementedError),
        (object_stream_pdf, _xref_stream_garbled, zlib.error),
    ],
    ids=['no-catalog', 'startxref-at-object', 'bad-decimal', 'huge-startxref', 'unknown-filter', 'bad-deflate'],
)
def test_any_parser_exception_is_a_damaged_refusal(sample, damage, cause):
    error = refusal(damage(sample()))
    assert error.code == RefusalCode.DAMAGED
    assert isinstance(error.__cause__, cause)  # kept for the log


@pytest.mark.parametrize(
    'damage',
    [
        # the page tree lacks /Count: our page walk counts kids, pyHanko's
        # page lookup for the note and the signature widget needs /Count
        lambda d: d.replace(b'/Count 1', b'/Cuont 1'),
        # /Contents is a dictionary, not a stream: nothing can be added to it
        lambda d: d.replace(b'/Contents 8 0 R', b'/Contents 1 0 R'),
    ],
    ids=['no-count', 'contents-not-a-stream'],
)
def test_a_file_signing_would_fail_on_is_refused_by_the_trial_run(damage, signer):
    """Both used to pass preflight and then fail in sign() with a raw
    exception (a 500 at send); the trial run of the unsigned update refuses
    them, and sign() now raises SigningError."""
    data = damage(contract_pdf())
    error = refusal(data)
    assert error.code == RefusalCode.DAMAGED
    with pytest.raises(SigningError):
        signer.sign(data, SignatureRequest('a@example.jp', SignatureAction.SEND, page_note='CS-TEST'))
