"""Seal stamps (印影): drawing, and the seal as a signature's appearance."""

import io
import shutil
import subprocess

import pytest
from PIL import Image
from pyhanko.pdf_utils.reader import PdfFileReader

from cloudstamp_engine import (
    MAX_SEAL_CHARS,
    SealError,
    SealPlacement,
    SealShape,
    SealSpec,
    SignatureAction,
    SignatureRequest,
    SigningError,
    Verdict,
    render_seal_pdf,
    seal_appearance_texts,
    seal_text,
    verify_pdf,
)
from cloudstamp_engine.seal import page_text
from cloudstamp_engine_testing.checkers import assert_pdfsig_accepts
from cloudstamp_engine_testing.pdf_samples import contract_pdf, encrypted_pdf

SEND = SignatureRequest('sender@example.jp', SignatureAction.SEND, actor_name='送信 太郎')


def agree(text='佐藤', page=1, x=400.0, y=300.0, size=54.0, shape=SealShape.ROUND):
    return SignatureRequest(
        'sato@example.jp',
        SignatureAction.AGREE,
        actor_name='佐藤 花子',
        seal=SealSpec(text, SealPlacement(page, x, y, size), shape),
    )


@pytest.fixture(scope='module')
def sent(signer):
    """A 2-page contract after the sender's (invisible) signature."""
    return signer.sign(contract_pdf(pages=2), SEND)


@pytest.fixture(scope='module')
def sealed(signer, sent):
    return signer.sign(sent, agree())


# --- seal_text ---------------------------------------------------------------


@pytest.mark.parametrize(
    ('name', 'expected'),
    [
        ('佐藤 花子', '佐藤花子'),
        ('  Ｓｍｉｔｈ\u3000', 'Smith'),  # full-width Latin and ideographic space
        ('ｻﾄｳ', 'サトウ'),  # half-width kana
        ('株式会社ベータ商事 営業部', '株式会社ベータ商事営'),  # cut to 10
        ('ABCDEFGHIJK', 'ABCDEFGHIJ'),
        ('佐\u200b藤\n', '佐藤'),  # zero-width space and newline
    ],
)
def test_seal_text_normalises_and_cuts(name, expected):
    assert seal_text(name) == expected
    assert len(seal_text(name)) <= MAX_SEAL_CHARS


@pytest.mark.parametrize('name', ['', '   ', '\u3000\t', '\u200b'])
def test_seal_text_refuses_nothing_visible(name):
    with pytest.raises(SealError, match='at least one'):
        seal_text(name)


@pytest.mark.parametrize('name', ['𠮷田', '山田😀'])
def test_seal_text_refuses_characters_the_font_cannot_draw(name):
    with pytest.raises(SealError, match='cannot draw'):
        seal_text(name)


def test_seal_text_keeps_old_forms_the_font_has():
    assert seal_text('髙橋 﨑') == '髙橋﨑'


# --- rendering ---------------------------------------------------------------


@pytest.mark.parametrize('shape', list(SealShape))
@pytest.mark.parametrize('text', ['印', '佐藤', 'Smith', '株式会社ベータ商', 'ABCDEFGHIJ'])
def test_render_one_page_with_embedded_font_and_extractable_text(text, shape):
    data = render_seal_pdf(text, shape, 54)
    reader = PdfFileReader(io.BytesIO(data))
    assert int(reader.root['/Pages']['/Count']) == 1
    page = reader.find_page_for_modification(0)[0].get_object()
    assert [float(v) for v in page['/MediaBox']] == [0, 0, 54, 54]
    assert b'/FontFile2' in data and b'/ToUnicode' in data
    assert page_text(data) == text


def test_render_refuses_bad_sizes_and_empty_text():
    with pytest.raises(SealError):
        render_seal_pdf('佐藤', SealShape.ROUND, 5)
    with pytest.raises(SealError):
        render_seal_pdf('佐藤', SealShape.ROUND, 1000)
    with pytest.raises(SealError):
        render_seal_pdf(' ', SealShape.SQUARE, 54)


def test_render_is_fast_once_the_font_is_loaded():
    import time

    render_seal_pdf('佐藤', SealShape.ROUND, 54)
    start = time.perf_counter()
    for _ in range(10):
        render_seal_pdf('株式会社ベータ商', SealShape.SQUARE, 54)
    # a few ms each here; generous for slow CI machines
    assert (time.perf_counter() - start) / 10 < 0.1


# --- the seal as the appearance of a signature --------------------------------


def test_seal_becomes_the_visible_appearance_of_the_new_signature(sealed, sent, roots, pki):
    assert sealed.startswith(sent), 'not an incremental update'
    report = verify_pdf(sealed, roots)
    assert report.verdict == Verdict.VALID, report.problems
    first, second = report.signatures
    assert first.coverage == 'entire_revision' and second.coverage == 'entire_file'
    assert_pdfsig_accepts(sealed, pki.root_cert_pem, expected_count=2)
    # the seal is in the agree signature's own revision, nowhere else
    assert seal_appearance_texts(sealed) == {'CloudStamp-002-agree': '佐藤'}
    assert seal_appearance_texts(sent) == {}
    assert sealed.count(b'%%EOF') == sent.count(b'%%EOF') + 1


def test_seal_widget_sits_on_the_chosen_page_at_the_chosen_box(sealed):
    reader = PdfFileReader(io.BytesIO(sealed))
    field = reader.root['/AcroForm']['/Fields'][1].get_object()
    assert field['/T'] == 'CloudStamp-002-agree'
    assert [float(v) for v in field['/Rect']] == [373, 273, 427, 327]
    page2 = reader.find_page_for_modification(1)[0]
    assert field.raw_get('/P') == page2
    assert int(field['/F']) & 4, 'the seal must print'


def test_without_seal_signatures_stay_invisible(sent):
    reader = PdfFileReader(io.BytesIO(sent))
    field = reader.root['/AcroForm']['/Fields'][0].get_object()
    assert [float(v) for v in field['/Rect']] == [0, 0, 0, 0]


def test_a_signature_after_the_seal_keeps_everything_valid(signer, sealed, roots, pki):
    data = signer.sign(sealed, agree('ABCDEFGHIJ', page=0, x=100.5, y=700.25, shape=SealShape.SQUARE))
    report = verify_pdf(data, roots)
    assert report.verdict == Verdict.VALID, report.problems
    assert len(report.signatures) == 3
    assert_pdfsig_accepts(data, pki.root_cert_pem, expected_count=3)
    assert seal_appearance_texts(data) == {'CloudStamp-002-agree': '佐藤', 'CloudStamp-003-agree': 'ABCDEFGHIJ'}


def _render_page(data: bytes, page: int, dpi: int, tmp_path) -> Image.Image:
    source = tmp_path / 'in.pdf'
    source.write_bytes(data)
    root = tmp_path / f'page{page}'
    subprocess.run(
        ['pdftoppm', '-r', str(dpi), '-f', str(page + 1), '-l', str(page + 1), '-png', '-singlefile', source, root],
        check=True,
    )
    return Image.open(f'{root}.png').convert('RGB')


def _is_red(pixel) -> bool:
    r, g, b = pixel
    return r > 150 and g < 110 and b < 110


@pytest.mark.skipif(not shutil.which('pdftoppm'), reason='poppler-utils not installed')
def test_the_seal_is_red_inside_its_box_on_the_rendered_page(sealed, tmp_path):
    dpi = 36  # half a pixel per point: cheap
    image = _render_page(sealed, 1, dpi, tmp_path)
    scale = dpi / 72
    height_pt = image.height / scale

    def red_pixels(x1, y1, x2, y2):
        box = (int(x1 * scale), int((height_pt - y2) * scale), int(x2 * scale), int((height_pt - y1) * scale))
        return sum(1 for pixel in image.crop(box).getdata() if _is_red(pixel))

    assert red_pixels(373, 273, 427, 327) > 50
    # nothing red outside the box
    total = sum(1 for pixel in image.getdata() if _is_red(pixel))
    assert total == red_pixels(371, 271, 429, 329)
    # page 1 carries no seal
    assert not any(_is_red(pixel) for pixel in _render_page(sealed, 0, dpi, tmp_path).getdata())


@pytest.mark.parametrize(
    ('placement', 'message'),
    [
        (SealPlacement(2, 300, 300), 'no page 3'),
        (SealPlacement(-1, 300, 300), 'no page'),
        (SealPlacement(1, 10, 300), 'does not fit'),  # sticks out on the left
        (SealPlacement(1, 300, 830), 'does not fit'),  # over the top edge
        (SealPlacement(1, 600, 300), 'does not fit'),  # off the page
        (SealPlacement(1, 300, 300, size=4), 'points wide'),
        (SealPlacement(1, float('nan'), 300), 'pair of numbers'),
    ],
)
def test_a_bad_placement_raises_seal_error_and_signs_nothing(signer, sent, placement, message):
    request = SignatureRequest('x@example.jp', SignatureAction.AGREE, seal=SealSpec('佐藤', placement))
    with pytest.raises(SealError, match=message) as caught:
        signer.sign(sent, request)
    assert isinstance(caught.value, SigningError)  # callers catching SigningError still do


def test_a_seal_without_visible_text_raises_seal_error(signer, sent):
    with pytest.raises(SealError):
        signer.sign(sent, agree(' \u3000'))


def _page_boxes_pdf(rotate=0, crop_box=None):
    import pypdf
    from pypdf.generic import RectangleObject

    reader = pypdf.PdfReader(io.BytesIO(contract_pdf()))
    writer = pypdf.PdfWriter()
    page = writer.add_page(reader.pages[0])
    if rotate:
        page.rotation = rotate
    if crop_box:
        page.cropbox = RectangleObject(crop_box)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


@pytest.mark.parametrize('rotate', [90, 270])
def test_a_seal_on_a_rotated_page_stays_valid(signer, roots, pki, rotate):
    data = signer.sign(_page_boxes_pdf(rotate=rotate), agree(page=0, x=300, y=400))
    assert verify_pdf(data, roots).verdict == Verdict.VALID
    assert_pdfsig_accepts(data, pki.root_cert_pem, expected_count=1)
    assert seal_appearance_texts(data) == {'CloudStamp-001-agree': '佐藤'}


def test_the_crop_box_limits_where_a_seal_may_go(signer, roots):
    data = _page_boxes_pdf(crop_box=(100, 100, 400, 600))
    with pytest.raises(SealError, match='does not fit'):
        signer.sign(data, agree(page=0, x=90, y=300))  # on the media box, outside the crop box
    signed = signer.sign(data, agree(page=0, x=130, y=130))
    assert verify_pdf(signed, roots).verdict == Verdict.VALID


def test_a_seal_on_an_encrypted_file(signer, roots, pki):
    """Preflight admits files that open with an empty password; the seal's
    font and page are encrypted with the rest of the update."""
    data = signer.sign(encrypted_pdf('', 'owner'), agree(page=0, x=300, y=300, shape=SealShape.SQUARE))
    assert verify_pdf(data, roots).verdict == Verdict.VALID
    assert_pdfsig_accepts(data, pki.root_cert_pem, expected_count=1)
    assert seal_appearance_texts(data) == {'CloudStamp-001-agree': '佐藤'}


def test_a_sender_seal_and_the_page_note_share_one_revision(signer, roots, pki):
    original = contract_pdf()
    request = SignatureRequest(
        'sender@example.jp',
        SignatureAction.SEND,
        page_note='CS-SEAL-NOTE',
        seal=SealSpec('ベータ商事', SealPlacement(0, 500, 760), SealShape.SQUARE),
    )
    data = signer.sign(original, request)
    assert data.count(b'%%EOF') == original.count(b'%%EOF') + 1
    report = verify_pdf(data, roots)
    assert report.verdict == Verdict.VALID, report.problems
    assert_pdfsig_accepts(data, pki.root_cert_pem, expected_count=1)
    assert seal_appearance_texts(data) == {'CloudStamp-001-send': 'ベータ商事'}
