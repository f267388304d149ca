"""The unsigned part of a signature's incremental update.

Signing and preflight's trial run share these steps, so that a file
preflight accepted goes through the very same code when it is signed.
"""

from __future__ import annotations

from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import fields

NOTE_FONT = '/CSNote'
# /Parent chains longer than this are treated as having no /MediaBox; the
# limit also ends a chain that loops.
_MAX_INHERITANCE_DEPTH = 64
_DEFAULT_ORIGIN = (0.0, 0.0)


def open_update(reader: PdfFileReader) -> IncrementalPdfFileWriter:
    """An incremental writer on ``reader``, able to write an encrypted file."""
    writer = IncrementalPdfFileWriter.from_reader(reader)
    if reader.encrypted:
        # Preflight admitted it: an empty user password opens it.
        writer.encrypt('')
    return writer


def count_signature_fields(reader: PdfFileReader) -> int:
    # Counting fields is cheap; reader.embedded_signatures would parse
    # every earlier CMS container, which grows with each signature.
    return sum(1 for _field in fields.enumerate_sig_fields(reader))


def add_page_note(writer: IncrementalPdfFileWriter, text: str) -> None:
    """Print ``text`` in 6 pt Helvetica at the bottom left of page 1.

    The page's own content is wrapped in q/Q first, so a graphics state it
    leaves behind cannot move or hide the note.
    """
    page_ref, page_resources = writer.find_page_for_modification(0)
    x0, y0 = _media_box_origin(page_ref.get_object())
    font_name = _free_font_name(page_resources)
    font = generic.DictionaryObject(
        {
            generic.NameObject('/Type'): generic.NameObject('/Font'),
            generic.NameObject('/Subtype'): generic.NameObject('/Type1'),
            generic.NameObject('/BaseFont'): generic.NameObject('/Helvetica'),
            generic.NameObject('/Encoding'): generic.NameObject('/WinAnsiEncoding'),
        }
    )
    resources = generic.DictionaryObject(
        {
            generic.NameObject('/Font'): generic.DictionaryObject(
                {
                    generic.NameObject(font_name): writer.add_object(font),
                }
            ),
        }
    )
    save = writer.add_object(generic.StreamObject(stream_data=b'q\n'))
    note = (
        b'Q q BT '
        + font_name.encode('ascii')
        + b' 6 Tf 0.35 g '
        + f'{x0 + 14:.2f} {y0 + 10:.2f} Td '.encode()
        + _pdf_literal(text)
        + b' Tj ET Q\n'
    )
    writer.add_stream_to_page(0, save, prepend=True)
    writer.add_stream_to_page(
        0,
        writer.add_object(generic.StreamObject(stream_data=note)),
        resources=resources,
    )


def _free_font_name(resources) -> str:
    """/CSNote, or /CSNote2, /CSNote3… if the page already uses the name
    (a file that went through CloudStamp before carries our note)."""
    taken: set[str] = set()
    if isinstance(resources, generic.PdfObject):
        resources = resources.get_object()
    if isinstance(resources, generic.DictionaryObject):
        fonts = _entry(resources, '/Font')
        if isinstance(fonts, generic.DictionaryObject):
            taken = {str(key) for key in fonts.keys()}
    name, suffix = NOTE_FONT, 1
    while name in taken:
        suffix += 1
        name = f'{NOTE_FONT}{suffix}'
    return name


def _media_box_origin(page) -> tuple[float, float]:
    """The lower left corner of the (possibly inherited) media box."""
    node = page
    for _depth in range(_MAX_INHERITANCE_DEPTH):
        if not isinstance(node, generic.DictionaryObject):
            break
        box = _entry(node, '/MediaBox')
        if box is not None:
            # A box that is not an array of numbers raises here: the page
            # cannot be displayed, so the file counts as damaged.
            return float(box[0]), float(box[1])
        node = _entry(node, '/Parent')
    return _DEFAULT_ORIGIN


def _entry(dictionary: generic.DictionaryObject, key: str):
    # Not .get(): that is dict.get, which neither dereferences nor decrypts.
    try:
        return dictionary[key]
    except KeyError:
        return None


def _pdf_literal(text: str) -> bytes:
    escaped = text.replace('\\', '\\\\').replace('(', '\\(').replace(')', '\\)')
    return b'(' + escaped.encode('ascii', 'replace') + b')'
