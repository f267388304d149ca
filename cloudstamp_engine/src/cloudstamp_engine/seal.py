"""Seal stamps (印影) drawn as the visible appearance of a signature.

A seal is a red ring (or square) with the name written vertically inside,
like a hanko: columns read top to bottom, the first column on the right.
reportlab draws it into a one-page PDF with an embedded, subset Japanese
TrueType font and a ToUnicode map, so the name can be read back from the
signed file. :class:`~.signing.DocumentSigner` imports that page as the
appearance of the signature's own widget, in the signature's revision: the
seal is covered by the signature it stands for.
"""

from __future__ import annotations

import functools
import math
import re
import threading
import unicodedata
from io import BytesIO
from pathlib import Path

from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.content import PdfContent
from pyhanko.pdf_utils.layout import AxisAlignment, BoxConstraints, Margins, SimpleBoxLayoutRule
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import fields
from pyhanko.stamp import StaticStampStyle

from .config import SealPlacement, SealShape
from .errors import SealError

MAX_SEAL_CHARS = 10
# Seals smaller than ~4 mm are unreadable; larger than ~70 mm cover a page.
MIN_SEAL_SIZE = 12.0
MAX_SEAL_SIZE = 200.0
SEAL_RED = (0.8, 0.1, 0.1)
# Mincho looks like a carved seal; both fonts come with Debian's
# fonts-ipaexfont, installed here and in docker/Dockerfile.
MINCHO_FONT = Path('/usr/share/fonts/opentype/ipaexfont-mincho/ipaexm.ttf')
GOTHIC_FONT = Path('/usr/share/fonts/opentype/ipaexfont-gothic/ipaexg.ttf')
# Ring line width and the gap between ring and text, as parts of the size.
_RING_WIDTH = 0.05
_RING_GAP = 0.04
# Characters written sideways in vertical text (long vowel mark, dashes,
# brackets), as in Japanese typesetting.
_SIDEWAYS = frozenset('ー-‐‑–—―~〜…‥()[]{}<>〈〉《》「」『』【】〔〕=')
# Glyph box edge tolerance for placement checks, in points.
_EPSILON = 0.01
_render_lock = threading.Lock()


def seal_text(name: str) -> str:
    """``name`` as a seal shows it: NFKC (full-width Latin to ASCII,
    half-width kana to full width), without whitespace or invisible
    characters, at most :data:`MAX_SEAL_CHARS` characters."""
    text = _normalise(name)
    _check_glyphs(text, None)
    return text


def _normalise(name: str) -> str:
    normal = unicodedata.normalize('NFKC', name or '')
    kept = ''.join(ch for ch in normal if not ch.isspace() and unicodedata.category(ch)[0] != 'C')
    if not kept:
        raise SealError('A seal needs at least one visible character.')
    return kept[:MAX_SEAL_CHARS]


def _check_glyphs(text: str, font: Path | None) -> None:
    """Refuse characters the font cannot draw (rare kanji outside JIS such
    as 𠮷, emoji): the seal would show empty boxes."""
    chars = _font(font)[3]
    missing = sorted(ch for ch in set(text) if ord(ch) not in chars)
    if missing:
        shown = ', '.join(f'{ch} (U+{ord(ch):04X})' for ch in missing)
        raise SealError(f'The seal font cannot draw {shown}; please use another spelling.')


def render_seal_pdf(
    spec_text: str,
    shape: SealShape,
    size: float,
    font: Path | None = None,
    rotate: int = 0,
) -> bytes:
    """A one-page PDF, ``size`` x ``size`` points, with the seal of
    ``spec_text`` (normalised by :func:`seal_text`) on it.

    ``rotate``: the /Rotate of the page the seal goes on; the drawing is
    turned against it so that the seal stands upright on screen.
    """
    from reportlab.pdfgen import canvas  # noqa: PLC0415 - only seals need reportlab

    text = _normalise(spec_text)
    shape = SealShape(shape)
    _check_size(size)
    _check_glyphs(text, font)
    font_name, ascent, descent, _chars = _font(font)
    out = BytesIO()
    with _render_lock:  # reportlab keeps per-document subset state on the shared font
        pdf = canvas.Canvas(out, pagesize=(size, size), pageCompression=1, invariant=1)
        pdf.setCreator('CloudStamp')
        pdf.translate(size / 2, size / 2)
        pdf.rotate(rotate % 360)
        red = SEAL_RED
        pdf.setStrokeColorRGB(*red)
        pdf.setFillColorRGB(*red)
        ring = size * _RING_WIDTH
        pdf.setLineWidth(ring)
        half = (size - ring) / 2
        if shape is SealShape.ROUND:
            pdf.circle(0, 0, half, stroke=1, fill=0)
        else:
            pdf.rect(-half, -half, 2 * half, 2 * half, stroke=1, fill=0)
        inner = half - ring / 2 - size * _RING_GAP
        for ch, x, y, glyph in _layout(text, shape, inner):
            _draw_glyph(pdf, ch, x, y, glyph, font_name, ascent, descent)
        pdf.showPage()
        pdf.save()
    return out.getvalue()


def _layout(text: str, shape: SealShape, inner: float) -> list[tuple[str, float, float, float]]:
    """(character, centre x, centre y, glyph size) in reading order.

    ``inner``: the radius of the circle (half the side of the square) that
    the text fills, around the origin.
    """
    count = len(text)
    columns = 1 if count <= 3 else 2 if count <= 6 else 3
    rows = math.ceil(count / columns)
    if shape is SealShape.ROUND:
        # The text block's corners touch the inner circle.
        cell = 2 * inner / math.hypot(columns, rows)
    else:
        cell = 2 * inner / max(columns, rows)
    # Earlier columns take the extra characters: 5 -> 3 + 2, 10 -> 4 + 3 + 3.
    lengths = [count // columns + (1 if i < count % columns else 0) for i in range(columns)]
    placed = []
    index = 0
    for col, length in enumerate(lengths):
        # Right to left; each column centred vertically.
        x = (columns / 2 - col - 0.5) * cell
        # A short column in a circle has room for bigger characters; keep
        # one size per seal for an even look, except with one column.
        glyph = cell
        if columns == 1 and shape is SealShape.ROUND:
            glyph = min(2 * inner / math.hypot(1, length), 2 * inner / length)
        for row in range(length):
            y = (length / 2 - row - 0.5) * glyph
            placed.append((text[index], x, y, glyph))
            index += 1
    return placed


def _draw_glyph(pdf, ch: str, x: float, y: float, glyph: float, font_name: str, ascent: float, descent: float) -> None:
    """One character centred on (x, y), scaled into a ``glyph`` square."""
    from reportlab.pdfbase.pdfmetrics import stringWidth  # noqa: PLC0415

    font_size = glyph * 0.92
    width = stringWidth(ch, font_name, font_size)
    # Narrow (Latin) characters keep their shape; wide ones are squeezed
    # to the cell.
    scale = min(1.0, glyph / width) if width > 0 else 1.0
    pdf.saveState()
    pdf.translate(x, y)
    if ch in _SIDEWAYS:
        pdf.rotate(-90)
    pdf.scale(scale, 1)
    text = pdf.beginText()
    text.setFont(font_name, font_size)
    # Centre the em box (ascent above, descent below the baseline).
    text.setTextOrigin(-width / 2, -font_size * (ascent + descent) / 2000)
    text.textOut(ch)
    pdf.drawText(text)
    pdf.restoreState()


@functools.lru_cache(maxsize=4)
def _registered_font(path: str) -> tuple[str, float, float, frozenset[int]]:
    from reportlab.pdfbase import pdfmetrics  # noqa: PLC0415
    from reportlab.pdfbase.ttfonts import TTFont  # noqa: PLC0415

    name = f'CloudStampSeal-{Path(path).stem}'
    try:
        font = TTFont(name, path)
    except Exception as exc:  # noqa: BLE001 - reportlab raises TTFError, OSError…
        raise SealError(f'The seal font {path} cannot be loaded: {exc}') from exc
    pdfmetrics.registerFont(font)
    return name, float(font.face.ascent), float(font.face.descent), frozenset(font.face.charToGlyph)


def _font(font: Path | None) -> tuple[str, float, float, frozenset[int]]:
    """Registered once per process: parsing the TTF takes ~100 ms."""
    candidates = [font] if font else [MINCHO_FONT, GOTHIC_FONT]
    for path in candidates:
        if path.exists():
            return _registered_font(str(path))
    raise SealError(f'No Japanese font for seals: {", ".join(str(p) for p in candidates)} not found.')


def _check_size(size: float) -> None:
    if not (isinstance(size, int | float) and MIN_SEAL_SIZE <= size <= MAX_SEAL_SIZE):
        raise SealError(f'A seal must be {MIN_SEAL_SIZE:g} to {MAX_SEAL_SIZE:g} points wide, not {size!r}.')


# --- placement -------------------------------------------------------------


def seal_box(reader: PdfFileReader, placement: SealPlacement) -> tuple[tuple[float, float, float, float], int]:
    """(the seal's box (x1, y1, x2, y2), the page's /Rotate), after checking
    that the page exists and the box lies inside its crop box."""
    _check_size(placement.size)
    if not all(isinstance(v, int | float) and math.isfinite(v) for v in (placement.x, placement.y)):
        raise SealError('The seal position must be a pair of numbers.')
    total = int(reader.root['/Pages']['/Count'])
    if not isinstance(placement.page, int) or not 0 <= placement.page < total:
        raise SealError(f'The document has no page {placement.page + 1 if isinstance(placement.page, int) else "?"}.')
    try:
        page = reader.find_page_for_modification(placement.page)[0].get_object()
    except Exception as exc:  # noqa: BLE001 - a broken page tree
        raise SealError(f'Page {placement.page + 1} cannot be read: {exc}') from exc
    half = placement.size / 2
    box = (placement.x - half, placement.y - half, placement.x + half, placement.y + half)
    crop = _visible_box(page)
    if not (
        box[0] >= crop[0] - _EPSILON
        and box[1] >= crop[1] - _EPSILON
        and box[2] <= crop[2] + _EPSILON
        and box[3] <= crop[3] + _EPSILON
    ):
        raise SealError(f'The seal does not fit on page {placement.page + 1}: it must lie wholly inside the page.')
    rotate = _inherited(page, '/Rotate')
    return box, (int(rotate) if isinstance(rotate, int | float) else 0) % 360


def _visible_box(page) -> tuple[float, float, float, float]:
    """The crop box clipped to the media box, as viewers show the page."""
    media = _rect(_inherited(page, '/MediaBox'))
    if media is None:
        raise SealError('The page has no usable media box.')
    crop = _rect(_inherited(page, '/CropBox')) or media
    return (max(media[0], crop[0]), max(media[1], crop[1]), min(media[2], crop[2]), min(media[3], crop[3]))


def _rect(value) -> tuple[float, float, float, float] | None:
    try:
        x1, y1, x2, y2 = (float(v) for v in value)
    except (TypeError, ValueError):
        return None
    return min(x1, x2), min(y1, y2), max(x1, x2), max(y1, y2)


def _inherited(page, key: str):
    node = page
    for _depth in range(64):  # ends a /Parent loop
        if not isinstance(node, generic.DictionaryObject):
            return None
        if key in node:
            return node[key]
        node = node.get_value_as_reference('/Parent').get_object() if '/Parent' in node else None
    return None


class _SealPage(PdfContent):
    """The seal PDF's page imported as a form XObject (pyHanko's
    ImportedPdfPage, from bytes instead of a file)."""

    def __init__(self, data: bytes):
        super().__init__()
        self.data = data

    def render(self) -> bytes:
        xobj = self._ensure_writer.import_page_as_xobject(PdfFileReader(BytesIO(self.data)), page_ix=0)
        self.resources.xobject['/CSSeal'] = xobj
        x1, y1, x2, y2 = xobj.get_object()['/BBox']
        self.box = BoxConstraints(width=abs(x1 - x2), height=abs(y1 - y2))
        return b'/CSSeal Do'


def seal_stamp_style(seal_pdf: bytes) -> StaticStampStyle:
    """A pyHanko stamp style whose appearance is exactly the seal page."""
    return StaticStampStyle(
        background=_SealPage(seal_pdf),
        border_width=0,
        background_opacity=1.0,
        background_layout=SimpleBoxLayoutRule(
            x_align=AxisAlignment.ALIGN_MID,
            y_align=AxisAlignment.ALIGN_MID,
            margins=Margins.uniform(0),
        ),
    )


def seal_field_spec(field_name: str, page: int, box: tuple[float, float, float, float]) -> fields.SigFieldSpec:
    return fields.SigFieldSpec(sig_field_name=field_name, on_page=page, box=box)


# --- reading seals back ------------------------------------------------------


def seal_appearance_texts(data: bytes) -> dict[str, str]:
    """Signature field name -> the text drawn in its visible appearance,
    decoded through each font's ToUnicode map. Invisible signatures (no
    text in the appearance) are left out; an unreadable appearance too."""
    reader = _open(data)
    texts: dict[str, str] = {}
    for name, _value, field_ref in fields.enumerate_sig_fields(reader):
        try:
            text = _field_text(field_ref.get_object())
        except Exception:  # noqa: BLE001, S112 - a broken appearance shows no seal
            continue
        if text:
            texts[name] = text
    return texts


def page_text(data: bytes, page: int = 0) -> str:
    """The text drawn on a page of a (seal) PDF, in drawing order."""
    reader = _open(data)
    page_obj = reader.find_page_for_modification(page)[0].get_object()
    contents = page_obj['/Contents']
    streams = contents if isinstance(contents, generic.ArrayObject) else [contents]
    resources = _inherited(page_obj, '/Resources')
    content = b'\n'.join(s.get_object().data for s in streams)
    return _content_text(content, resources, depth=0)


def _open(data: bytes) -> PdfFileReader:
    reader = PdfFileReader(BytesIO(data), strict=False)
    if reader.encrypted:
        # The files the engine signs open with an empty user password.
        reader.decrypt('')
    return reader


def _field_text(field: generic.DictionaryObject) -> str:
    widgets = field['/Kids'] if '/Kids' in field else [field]
    parts = []
    for widget in widgets:
        widget = widget.get_object()
        if '/AP' not in widget:
            continue
        normal = widget['/AP']['/N']
        if isinstance(normal, generic.StreamObject):
            parts.append(_form_text(normal, 0))
    return ''.join(parts)


def _form_text(form: generic.StreamObject, depth: int) -> str:
    if depth > 8:  # nested forms beyond this are not ours
        return ''
    resources = form['/Resources'] if '/Resources' in form else None
    return _content_text(form.data, resources, depth)


_TOKEN = re.compile(
    rb'\((?:\\.|[^\\()]|\((?:\\.|[^\\()])*\))*\)'  # literal string (one nesting level)
    rb'|<[0-9A-Fa-f\s]*>'  # hex string
    rb'|/[^\s/\[\]()<>{}%]+'  # name
    rb'|\[|\]'
    rb'|[A-Za-z\'"*]+[0-9]?'  # operator
    rb'|[-+.0-9]+'  # number
)


def _content_text(content: bytes, resources, depth: int) -> str:
    """Text shown by Tj/TJ/'/" in ``content``, recursing into form XObjects."""
    resources = resources.get_object() if resources is not None else generic.DictionaryObject()
    fonts = resources['/Font'] if '/Font' in resources else generic.DictionaryObject()
    xobjects = resources['/XObject'] if '/XObject' in resources else generic.DictionaryObject()
    out: list[str] = []
    operands: list = []
    decode = _identity_decoder
    in_array = False
    for match in _TOKEN.finditer(content):
        token = match.group()
        if token == b'[':
            in_array, operands = True, []
        elif token == b']':
            in_array = False
        elif token[:1] in b'(<':
            operands.append(_string_bytes(token))
        elif token[:1] == b'/':
            operands.append(token.decode('latin-1'))
        elif token[:1] in b'-+.0123456789':
            if not in_array:
                operands.append(token)
        elif not in_array:
            op = token
            if op == b'Tf' and operands:
                name = next((o for o in operands if isinstance(o, str)), None)
                decode = _decoder(fonts[name].get_object()) if name and name in fonts else _identity_decoder
            elif op in (b'Tj', b"'", b'"', b'TJ'):
                out.extend(decode(o) for o in operands if isinstance(o, bytes))
            elif op == b'Do' and operands and isinstance(operands[-1], str) and operands[-1] in xobjects:
                xobj = xobjects[operands[-1]].get_object()
                if xobj.get('/Subtype') == '/Form':
                    out.append(_form_text(xobj, depth + 1))
            operands = []
    return ''.join(out)


def _string_bytes(token: bytes) -> bytes:
    if token[:1] == b'<':
        hexdigits = re.sub(rb'\s', b'', token[1:-1])
        if len(hexdigits) % 2:
            hexdigits += b'0'
        return bytes.fromhex(hexdigits.decode('ascii'))
    body = token[1:-1]
    out = bytearray()
    i = 0
    escapes = {ord('n'): 10, ord('r'): 13, ord('t'): 9, ord('b'): 8, ord('f'): 12}
    while i < len(body):
        c = body[i]
        if c == 0x5C and i + 1 < len(body):  # backslash
            nxt = body[i + 1]
            if 0x30 <= nxt <= 0x37:
                digits = re.match(rb'[0-7]{1,3}', body[i + 1 : i + 4]).group()
                out.append(int(digits, 8) & 0xFF)
                i += 1 + len(digits)
                continue
            if nxt in (0x0A, 0x0D):  # line continuation
                i += 2
                continue
            out.append(escapes.get(nxt, nxt))
            i += 2
            continue
        out.append(c)
        i += 1
    return bytes(out)


def _identity_decoder(raw: bytes) -> str:
    return raw.decode('latin-1')


def _decoder(font: generic.DictionaryObject):
    two_bytes = font.get('/Subtype') == '/Type0'
    cmap = _to_unicode(font['/ToUnicode'].get_object().data) if '/ToUnicode' in font else {}

    def decode(raw: bytes) -> str:
        step = 2 if two_bytes else 1
        codes = [int.from_bytes(raw[i : i + step], 'big') for i in range(0, len(raw), step)]
        return ''.join(cmap.get(code, '\ufffd') for code in codes)

    return decode


_BFCHAR = re.compile(rb'beginbfchar(.*?)endbfchar', re.S)
_BFRANGE = re.compile(rb'beginbfrange(.*?)endbfrange', re.S)
_HEX = re.compile(rb'<([0-9A-Fa-f]*)>')


def _to_unicode(cmap: bytes) -> dict[int, str]:
    """The bfchar and bfrange entries of a ToUnicode CMap."""
    table: dict[int, str] = {}
    for block in _BFCHAR.findall(cmap):
        values = _HEX.findall(block)
        for src, dst in zip(values[::2], values[1::2], strict=False):
            table[int(src, 16)] = _utf16(dst)
    for block in _BFRANGE.findall(cmap):
        for line in re.finditer(rb'<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>\s*(<[0-9A-Fa-f]+>|\[[^\]]*\])', block):
            lo, hi, dst = int(line.group(1), 16), int(line.group(2), 16), line.group(3)
            if dst.startswith(b'['):
                for offset, value in enumerate(_HEX.findall(dst)):
                    table[lo + offset] = _utf16(value)
            else:
                start = int(dst[1:-1], 16)
                for offset in range(min(hi - lo + 1, 65536)):
                    table[lo + offset] = chr(start + offset) if start + offset < 0x110000 else '\ufffd'
    return table


def _utf16(hexdigits: bytes) -> str:
    if len(hexdigits) % 4:
        # reportlab writes a code point beyond the BMP as such (<20BB7>),
        # not as UTF-16; read it the way it was meant.
        value = int(hexdigits, 16)
        return chr(value) if value < 0x110000 else '\ufffd'
    return bytes.fromhex(hexdigits.decode('ascii')).decode('utf-16-be', 'replace')
