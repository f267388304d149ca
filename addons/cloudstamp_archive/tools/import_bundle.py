"""Read an upload to import into the archive: one PDF, or a ZIP of PDFs with
an optional CSV of metadata.

Nothing here trusts the upload: a ZIP is read from memory, never extracted
to disk, its member count and expanded size are capped before anything is
decompressed, and every refusal is a :class:`BundleError` with a code that
the caller turns into a message in the user's language.

CSV columns (English or Japanese headers, UTF-8 with or without BOM, or
Shift_JIS as Excel saves it in Japan): ``file`` (ファイル, required),
``name`` (件名), ``partner`` (取引先), ``type`` (種類), ``transaction_date``
(取引年月日), ``amount`` (金額), ``currency`` (通貨), ``date_start`` (開始日),
``date_end`` (終了日), ``notice_date`` (解約通知期限).
"""

from __future__ import annotations

import csv
import io
import posixpath
import re
import zipfile
from dataclasses import dataclass, field
from datetime import date

MAX_MEMBERS = 500
ZIP_MAGIC = b'PK\x03\x04'

COLUMNS = {
    'file': 'file',
    'ファイル': 'file',
    'name': 'name',
    '件名': 'name',
    'partner': 'partner',
    '取引先': 'partner',
    'type': 'type',
    '種類': 'type',
    'transaction_date': 'transaction_date',
    '取引年月日': 'transaction_date',
    'amount': 'amount',
    '金額': 'amount',
    'currency': 'currency',
    '通貨': 'currency',
    'date_start': 'date_start',
    '開始日': 'date_start',
    'date_end': 'date_end',
    '終了日': 'date_end',
    'notice_date': 'notice_date',
    '解約通知期限': 'notice_date',
}
DATE_COLUMNS = ('transaction_date', 'date_start', 'date_end', 'notice_date')
_DATE = re.compile(r'^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})$')
_AMOUNT = re.compile(r'^[¥￥]?\s*(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d{1,2}))?\s*円?$')


class BundleError(Exception):
    """Why an upload cannot be imported; ``code`` names the reason and
    ``params`` fill the caller's message."""

    def __init__(self, code: str, **params: object):
        super().__init__(code, params)
        self.code = code
        self.params = params


@dataclass(frozen=True)
class ImportItem:
    """One PDF to import, with the metadata its CSV row gave (as text)."""

    filename: str
    data: bytes
    metadata: dict[str, object] = field(default_factory=dict)


def read_upload(data: bytes, filename: str, max_file_bytes: int) -> list[ImportItem]:
    """The PDFs in an upload, in order; their content is checked later, by
    preflight. Raises :class:`BundleError`."""
    if not data.startswith(ZIP_MAGIC):
        return [ImportItem(_basename(filename) or 'document.pdf', data)]
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = [info for info in archive.infolist() if not info.is_dir() and not _is_noise(info.filename)]
    except (zipfile.BadZipFile, ValueError, NotImplementedError, EOFError) as exc:
        raise BundleError('bad_zip', name=filename) from exc
    if len(members) > MAX_MEMBERS:
        raise BundleError('too_many', name=filename, limit=MAX_MEMBERS)
    pdfs, sheets = {}, []
    for info in members:
        name = _basename(info.filename)
        if info.flag_bits & 0x1:
            raise BundleError('encrypted_zip', name=filename)
        # The declared size is checked first; the read is capped too, in
        # case the declaration lies.
        if info.file_size > max_file_bytes:
            raise BundleError('member_too_large', name=name)
        content = _read_capped(archive, info, max_file_bytes, name)
        if name.lower().endswith('.csv'):
            sheets.append((name, content))
        elif name in pdfs:
            raise BundleError('duplicate', name=name)
        else:
            pdfs[name] = content
    if len(sheets) > 1:
        raise BundleError('many_csv', name=filename)
    if not pdfs:
        raise BundleError('no_pdf', name=filename)
    rows = _read_csv(*sheets[0]) if sheets else {}
    unknown = sorted(set(rows) - set(pdfs))
    if unknown:
        raise BundleError('missing_file', name=unknown[0])
    return [ImportItem(name, content, rows.get(name, {})) for name, content in pdfs.items()]


def _basename(path: str) -> str:
    return posixpath.basename((path or '').replace('\\', '/')).strip()


def _is_noise(path: str) -> bool:
    # What macOS and Windows add to a ZIP made in their file managers.
    name = _basename(path)
    return path.startswith('__MACOSX/') or name.startswith('._') or name in ('.DS_Store', 'Thumbs.db')


def _read_capped(archive: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int, name: str) -> bytes:
    try:
        with archive.open(info) as member:
            content = member.read(limit + 1)
    except (zipfile.BadZipFile, RuntimeError, ValueError, NotImplementedError, EOFError, OSError) as exc:
        raise BundleError('bad_zip', name=name) from exc
    if len(content) > limit:
        raise BundleError('member_too_large', name=name)
    return content


def _decode(content: bytes, name: str) -> str:
    for encoding in ('utf-8-sig', 'cp932'):
        try:
            return content.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise BundleError('csv_encoding', name=name)


def _read_csv(name: str, content: bytes) -> dict[str, dict[str, object]]:
    """CSV rows by file name, values parsed."""
    reader = csv.DictReader(io.StringIO(_decode(content, name)))
    headers = {header: COLUMNS.get((header or '').strip().lower()) for header in reader.fieldnames or ()}
    if 'file' not in headers.values():
        raise BundleError('csv_no_file_column', name=name)
    rows = {}
    for line, raw in enumerate(reader, start=2):
        row = {headers[key]: (value or '').strip() for key, value in raw.items() if key in headers and headers[key]}
        filename = _basename(str(row.pop('file', '')))
        if not filename:
            continue
        if filename in rows:
            raise BundleError('duplicate', name=filename)
        rows[filename] = _parse_row(row, name, line)
    return rows


def _parse_row(row: dict[str, str], name: str, line: int) -> dict[str, object]:
    parsed: dict[str, object] = {key: value for key, value in row.items() if value}
    for column in DATE_COLUMNS:
        if parsed.get(column):
            parsed[column] = _parse_date(str(parsed[column]), name, line, column)
    if parsed.get('amount'):
        match = _AMOUNT.match(str(parsed['amount']))
        if not match:
            raise BundleError('csv_amount', name=name, line=line, value=parsed['amount'])
        parsed['amount'] = float(match.group(1).replace(',', '') + '.' + (match.group(2) or '0'))
    return parsed


def _parse_date(value: str, name: str, line: int, column: str) -> date:
    match = _DATE.match(value)
    try:
        return date(*(int(part) for part in match.groups()))
    except (AttributeError, ValueError) as exc:  # no match, or no such day
        raise BundleError('csv_date', name=name, line=line, column=column, value=value) from exc
