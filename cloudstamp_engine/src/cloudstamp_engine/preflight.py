"""Preflight: decide whether an uploaded file can be signed, before storing it.

The result is either a :class:`PreflightResult` or a :class:`PreflightRefusal`
that says why, in Japanese and English. Checks run from cheapest to dearest,
so an oversized upload is refused before it is parsed, and end with a trial
run of the unsigned part of a signature, so that an accepted file is one
:class:`~.signing.DocumentSigner` can sign.

pyHanko reads lazily and, on malformed input, raises almost anything
(AssertionError, OverflowError, decimal.InvalidOperation, zlib.error,
NotImplementedError… next to its own PdfError): every exception while
reading counts as damage. MemoryError is left to propagate.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from io import BytesIO

from pyhanko.pdf_utils import generic, misc
from pyhanko.pdf_utils.crypt import AuthStatus
from pyhanko.pdf_utils.crypt.permissions import StandardPermissions
from pyhanko.pdf_utils.decode_limits import (
    DEFAULT_PURPOSE_LIMITS,
    DecodeContext,
    DecodeLimits,
    DecodePurpose,
    StreamDecodeLimits,
)
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.fields import MDPPerm
from pyhanko.sign.signers.cms_embedder import PdfCMSEmbedder
from pyhanko.sign.validation.pdf_embedded import read_certification_data

from .config import MB, PreflightLimits
from .errors import PreflightRefusal, RefusalCode
from .revision import add_page_note, count_signature_fields, open_update

# A PDF header may sit after some junk, but within the first 1024 bytes.
_HEADER_WINDOW = 1024
_REQUIRED_PERMISSIONS = (
    StandardPermissions.ALLOW_MODIFICATION_GENERIC
    | StandardPermissions.ALLOW_ANNOTS_FORM_FILLING
    | StandardPermissions.ALLOW_FORM_FILLING
)
_MAX_PAGE_TREE_NODES = 200_000
# The trial run prints a note as long as a real one (the document ID).
_TRIAL_NOTE = 'CloudStamp Document ID: CS-XXXX-XXXX-XXXX'
_TRIAL_FIELD = 'CloudStamp-Preflight-Trial'
# pyHanko's defaults for untrusted input, with a tighter floor for
# cross-reference streams (see _XRefGuard): an honest one never expands
# more than 1100 times, and below 64 KiB the ratio is not enforced.
_DECODE_LIMITS = DecodeLimits(
    per_purpose={
        **DEFAULT_PURPOSE_LIMITS,
        DecodePurpose.XREF_STREAM: StreamDecodeLimits(max_ratio=1100, ratio_floor=64 * 1024, max_output_size=64 * MB),
    }
)


@dataclass(frozen=True)
class PreflightResult:
    """An accepted file."""

    filename: str
    size: int
    page_count: int
    sha256: str


def preflight(data: bytes, filename: str = '', limits: PreflightLimits = PreflightLimits()) -> PreflightResult:
    """Accept ``data`` as a signable PDF, or raise :class:`PreflightRefusal`."""
    if len(data) > limits.max_file_bytes:
        raise PreflightRefusal(RefusalCode.FILE_TOO_LARGE, filename, limits.max_file_bytes)
    if not data:
        raise PreflightRefusal(RefusalCode.EMPTY, filename)
    if b'%PDF-' not in data[:_HEADER_WINDOW]:
        raise PreflightRefusal(RefusalCode.NOT_PDF, filename)
    reader = open_reader(data, filename)
    with _damaged_on_error(filename):
        _check_encryption(reader, filename)
        certification = read_certification_data(reader)
        if certification is not None and certification.permission == MDPPerm.NO_CHANGES:
            raise PreflightRefusal(RefusalCode.CERTIFIED_NO_CHANGES, filename)
        page_count = _count_pages(reader)
        if page_count < 1:
            raise PreflightRefusal(RefusalCode.DAMAGED, filename)
        # Last: it changes objects that ``reader`` has cached.
        _trial_update(reader)
    return PreflightResult(
        filename=filename,
        size=len(data),
        page_count=page_count,
        sha256=hashlib.sha256(data).hexdigest(),
    )


def preflight_send(
    files: Iterable[tuple[str, bytes]],
    limits: PreflightLimits = PreflightLimits(),
) -> list[PreflightResult]:
    """Preflight every file of one send, and the send's total size."""
    files = list(files)
    total = sum(len(data) for _name, data in files)
    results = [preflight(data, name, limits) for name, data in files]
    if total > limits.max_send_bytes:
        raise PreflightRefusal(RefusalCode.SEND_TOO_LARGE, '', limits.max_send_bytes)
    return results


def open_reader(data: bytes, filename: str = '') -> PdfFileReader:
    """A pyHanko reader, or a DAMAGED refusal when the file does not parse."""
    with _damaged_on_error(filename):
        reader = _GuardedReader(data)
        reader.root  # noqa: B018 - the catalog must resolve
    return reader


@contextmanager
def _damaged_on_error(filename: str) -> Iterator[None]:
    try:
        yield
    except (PreflightRefusal, MemoryError):
        raise
    except Exception as exc:  # noqa: BLE001 - see the module docstring
        raise PreflightRefusal(RefusalCode.DAMAGED, filename) from exc


class _XRefGuard(DecodeContext):
    """Refuses a cross-reference stream that claims more rows than it holds.

    pyHanko 0.38, reading leniently (``strict=False``), fills a
    cross-reference stream that is shorter than its /Index or /Size says
    with default entries, one at a time: a 3 KB file claiming 10^30 entries
    kept a CPU busy and grew memory by about 50 MB a second until killed.
    pyHanko passes the size the claim implies as ``expected_size`` before it
    decodes the stream; a claim beyond what the stream could ever decode to,
    or none that can be computed, is refused here, before the loop.
    """

    def stream_output_cap(
        self,
        encoded_size: int,
        purpose: DecodePurpose = DecodePurpose.GENERIC,
        expected_size: int | None = None,
    ) -> int | None:
        if purpose is DecodePurpose.XREF_STREAM:
            possible = super().stream_output_cap(encoded_size, purpose)
            # <= 0: no rows, or a negative /W width (rows of no bytes).
            if expected_size is None or expected_size <= 0 or (possible is not None and expected_size > possible):
                raise misc.PdfReadError('cross-reference stream claims more entries than it holds')
        return super().stream_output_cap(encoded_size, purpose, expected_size)

    def fresh(self) -> _XRefGuard:
        return _XRefGuard(self.limits, input_size=self.input_size)


class _GuardedReader(PdfFileReader):
    """A lenient reader whose streams are decoded through :class:`_XRefGuard`."""

    def __init__(self, data: bytes):
        # Set before PdfFileReader.__init__, which reads the xref streams.
        self._guard = _XRefGuard(_DECODE_LIMITS, input_size=len(data))
        super().__init__(BytesIO(data), strict=False, decode_limits=_DECODE_LIMITS)

    @property
    def decode_context(self) -> DecodeContext:
        return self._guard


def _trial_update(reader: PdfFileReader) -> None:
    """The unsigned part of signing, written to a scratch buffer.

    The same steps as :meth:`~.signing.DocumentSigner.sign` up to the CMS:
    open the update, print a page note, count the signature fields, add a
    signature field and write the revision. A file that fails here would
    fail at signing, perhaps at a recipient's "agree".
    """
    writer = open_update(reader)
    add_page_note(writer, _TRIAL_NOTE)
    count_signature_fields(reader)
    # Step one of pyHanko's embedding protocol: find or create the field.
    next(PdfCMSEmbedder().write_cms(field_name=_TRIAL_FIELD, writer=writer))
    writer.write(BytesIO())


def _check_encryption(reader: PdfFileReader, filename: str) -> None:
    if not reader.encrypted:
        return
    try:
        auth = reader.decrypt('')
    except (misc.PdfError, KeyError, TypeError, ValueError, NotImplementedError) as exc:
        # Certificate (public-key) encryption, unknown handlers and crypt
        # filters, unsupported PDF MACs. Anything else counts as damage.
        raise PreflightRefusal(RefusalCode.ENCRYPTED, filename) from exc
    if auth.status == AuthStatus.FAILED:
        raise PreflightRefusal(RefusalCode.ENCRYPTED, filename)
    flags = auth.permission_flags
    if auth.status != AuthStatus.OWNER and (flags is None or (flags & _REQUIRED_PERMISSIONS) != _REQUIRED_PERMISSIONS):
        raise PreflightRefusal(RefusalCode.PERMISSIONS, filename)


def _count_pages(reader: PdfFileReader) -> int:
    """Walk the page tree (the /Count entry alone may lie)."""
    pages = 0
    seen: set[int] = set()
    stack = [reader.root.raw_get('/Pages')]
    while stack:
        ref = stack.pop()
        if isinstance(ref, generic.IndirectObject):
            if ref.idnum in seen:
                raise ValueError('cycle in page tree')
            seen.add(ref.idnum)
            if len(seen) > _MAX_PAGE_TREE_NODES:
                raise ValueError('page tree too large')
        node = ref.get_object()
        node_type = node.get('/Type')
        if node_type == '/Page' or (node_type is None and '/Kids' not in node):
            pages += 1
        else:
            stack.extend(reversed(list(node['/Kids'])))
    return pages
