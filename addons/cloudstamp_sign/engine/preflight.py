"""Preflight: decide whether an uploaded file can be signed, before storing it.

The result is either a :class:`PreflightResult` or a :class:`PreflightRefusal`
that says why, in Japanese and English. Checks run from cheapest to dearest,
so an oversized upload is refused before it is parsed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from io import BytesIO

from pyhanko.pdf_utils import generic, misc
from pyhanko.pdf_utils.crypt import AuthStatus
from pyhanko.pdf_utils.crypt.permissions import StandardPermissions
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.fields import MDPPerm
from pyhanko.sign.validation.pdf_embedded import read_certification_data

from .config import PreflightLimits
from .errors import PreflightRefusal, RefusalCode

# A PDF header may sit after some junk, but within the first 1024 bytes.
_HEADER_WINDOW = 1024
_REQUIRED_PERMISSIONS = (
    StandardPermissions.ALLOW_MODIFICATION_GENERIC
    | StandardPermissions.ALLOW_ANNOTS_FORM_FILLING
    | StandardPermissions.ALLOW_FORM_FILLING
)
_MAX_PAGE_TREE_NODES = 200_000


@dataclass(frozen=True)
class PreflightResult:
    """An accepted file."""

    filename: str
    size: int
    page_count: int
    sha256: str


def preflight(
    data: bytes, filename: str = '', limits: PreflightLimits = PreflightLimits()
) -> PreflightResult:
    """Accept ``data`` as a signable PDF, or raise :class:`PreflightRefusal`."""
    if len(data) > limits.max_file_bytes:
        raise PreflightRefusal(
            RefusalCode.FILE_TOO_LARGE, filename, limits.max_file_bytes
        )
    if not data:
        raise PreflightRefusal(RefusalCode.EMPTY, filename)
    if b'%PDF-' not in data[:_HEADER_WINDOW]:
        raise PreflightRefusal(RefusalCode.NOT_PDF, filename)
    reader = open_reader(data, filename)
    _check_encryption(reader, filename)
    try:
        certification = read_certification_data(reader)
        page_count = _count_pages(reader)
    except (misc.PdfError, KeyError, TypeError, ValueError, AttributeError,
            RecursionError) as exc:
        raise PreflightRefusal(RefusalCode.DAMAGED, filename) from exc
    if certification is not None and certification.permission == MDPPerm.NO_CHANGES:
        raise PreflightRefusal(RefusalCode.CERTIFIED_NO_CHANGES, filename)
    if page_count < 1:
        raise PreflightRefusal(RefusalCode.DAMAGED, filename)
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
        raise PreflightRefusal(
            RefusalCode.SEND_TOO_LARGE, '', limits.max_send_bytes
        )
    return results


def open_reader(data: bytes, filename: str = '') -> PdfFileReader:
    """A pyHanko reader, or a DAMAGED refusal when the file does not parse."""
    try:
        reader = PdfFileReader(BytesIO(data), strict=False)
        reader.root  # the catalog must resolve
    except (misc.PdfError, KeyError, TypeError, ValueError, IndexError,
            AttributeError, RecursionError) as exc:
        raise PreflightRefusal(RefusalCode.DAMAGED, filename) from exc
    return reader


def _check_encryption(reader: PdfFileReader, filename: str) -> None:
    if not reader.encrypted:
        return
    try:
        auth = reader.decrypt('')
    except (misc.PdfError, KeyError, TypeError, ValueError) as exc:
        # Certificate (public-key) encryption and unknown handlers.
        raise PreflightRefusal(RefusalCode.ENCRYPTED, filename) from exc
    if auth.status == AuthStatus.FAILED:
        raise PreflightRefusal(RefusalCode.ENCRYPTED, filename)
    flags = auth.permission_flags
    if auth.status != AuthStatus.OWNER and (
        flags is None or (flags & _REQUIRED_PERMISSIONS) != _REQUIRED_PERMISSIONS
    ):
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
