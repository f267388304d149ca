"""Reading a bulk send CSV (一括送信): one row per send.

Plain Python, no ORM: the batch model hands in what it knows (the open
roles of the template, the installed languages, the metadata columns) and
gets back every row with its problems as codes and values, which it words
in the user's language. Line numbers are those of the file (the header is
line 1), as a spreadsheet shows them.
"""

from __future__ import annotations

import csv
import datetime
import io
import re
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

MAX_ROWS = 5000
ROLE_FIELDS = ('name', 'email', 'company', 'lang', 'access_code')
REQUIRED_ROLE_FIELDS = ('name', 'email')
TITLE_COLUMN = 'title'
# What Japanese Excel may write around a number or a date.
_NUMBER_NOISE = re.compile(r'[,\s¥￥円$]')
_DATE_FORMATS = ('%Y-%m-%d', '%Y/%m/%d', '%Y.%m.%d', '%Y年%m月%d日', '%Y%m%d')
_SIMPLE_EMAIL = re.compile(r'^[^@\s<>,;]+@[^@\s<>,;]+\.[^@\s<>,;]+$')
# Names people write for a language, besides the codes and Odoo's own names.
_LANGUAGE_WORDS = {
    '日本語': 'ja',
    'にほんご': 'ja',
    'japanese': 'ja',
    '英語': 'en',
    'english': 'en',
}


class BulkCsvError(Exception):
    """The file as a whole cannot be read; ``code`` and ``params`` say why."""

    def __init__(self, code: str, **params):
        super().__init__(code, params)
        self.code = code
        self.params = params


@dataclass(frozen=True)
class Problem:
    """One reason a row cannot be sent: a code and its values."""

    code: str
    params: Mapping[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class Role:
    """An open role of the template, as the CSV names it."""

    key: object  # the caller's id for it
    name: str
    access_code_required: bool = False


@dataclass
class Row:
    line: int
    roles: dict = field(default_factory=dict)  # role key -> {'name', 'email', 'company_name', 'lang', 'access_code'}
    title: str = ''
    metadata: dict = field(default_factory=dict)  # column -> str (ISO date, or decimal number)
    problems: list[Problem] = field(default_factory=list)

    @property
    def valid(self) -> bool:
        return not self.problems


@dataclass
class ParsedCsv:
    encoding: str  # 'utf-8-sig', 'utf-8' or 'cp932'
    rows: list[Row]


def decode(data: bytes) -> tuple[str, str]:
    """(text, encoding): UTF-8 with or without a BOM, else Shift_JIS as
    Windows writes it (CP932, a superset). Strict UTF-8 first: CP932 would
    decode most UTF-8 as mojibake without complaint, never the reverse."""
    if not data or not data.strip():
        raise BulkCsvError('empty_file')
    if b'\x00' in data:  # UTF-16 ("Unicode text" in Excel), or not text at all
        raise BulkCsvError('bad_encoding', position=data.index(b'\x00'))
    if data.startswith(b'\xef\xbb\xbf'):
        try:
            return data.decode('utf-8-sig'), 'utf-8-sig'
        except UnicodeDecodeError as error:
            raise BulkCsvError('bad_encoding', position=error.start) from None
    for encoding in ('utf-8', 'cp932'):
        try:
            return data.decode(encoding), encoding
        except UnicodeDecodeError as error:
            position = error.start
    raise BulkCsvError('bad_encoding', position=position)


def language_aliases(languages: Sequence[tuple[str, str]]) -> dict[str, str]:
    """What a CSV may write for each installed language -> its code.

    ``languages``: (code, name) of the installed languages, e.g.
    ('ja_JP', 'Japanese / 日本語'). A bare ``ja`` or ``English`` means the
    first installed language of that ISO code."""
    aliases: dict[str, str] = {}
    by_iso: dict[str, str] = {}
    for code, name in languages:
        by_iso.setdefault(code.split('_')[0].lower(), code)
        parts = [part for part in (name or '').split('/') if part.strip()]
        for alias in (code, code.replace('_', '-'), name, *parts, *(re.sub(r'\(.*?\)', '', part) for part in parts)):
            alias = _key(alias)
            if alias:
                aliases.setdefault(alias, code)
    for iso, code in by_iso.items():
        aliases.setdefault(iso, code)
    for word, iso in _LANGUAGE_WORDS.items():
        if iso in by_iso:
            aliases.setdefault(word, by_iso[iso])
    return aliases


def _key(value: str) -> str:
    """Case, width and spacing do not matter (Ｅｍａｉｌ, 'Email ')."""
    return unicodedata.normalize('NFKC', value or '').strip().casefold()


def _header_map(header: list[str], roles: Sequence[Role], metadata_columns: Mapping[str, str]) -> dict[int, tuple]:
    """Column index -> ('role', role, field) | ('title',) | ('meta', column)."""
    by_name = {_key(role.name): role for role in roles}
    columns: dict[int, tuple] = {}
    unknown, seen = [], set()
    for index, cell in enumerate(header):
        label = _key(cell)
        if not label:
            continue  # Excel's trailing empty columns
        target = None
        if ':' in label:
            role_name, _sep, field_name = label.rpartition(':')
            role = by_name.get(role_name.strip())
            field_name = field_name.strip().replace(' ', '_')
            if role is not None and field_name in ROLE_FIELDS:
                target = ('role', role, field_name)
        elif label.replace(' ', '_') in ROLE_FIELDS and len(roles) == 1:
            target = ('role', roles[0], label.replace(' ', '_'))
        elif label == TITLE_COLUMN:
            target = ('title',)
        elif label in metadata_columns:
            target = ('meta', label)
        if target is None:
            unknown.append(cell.strip())
        elif target in seen:
            raise BulkCsvError('duplicate_column', column=cell.strip())
        else:
            seen.add(target)
            columns[index] = target
    if unknown:
        raise BulkCsvError('unknown_columns', columns=unknown)
    missing = [
        f'{role.name}:{field_name}'
        for role in roles
        for field_name in (*REQUIRED_ROLE_FIELDS, *(('access_code',) if role.access_code_required else ()))
        if ('role', role, field_name) not in seen
    ]
    if missing:
        raise BulkCsvError('missing_columns', columns=missing)
    return columns


def _parse_amount(value: str) -> str | None:
    try:
        number = Decimal(_NUMBER_NOISE.sub('', unicodedata.normalize('NFKC', value)))
    except InvalidOperation:
        return None
    return str(number) if number.is_finite() else None


def _parse_date(value: str) -> str | None:
    value = unicodedata.normalize('NFKC', value).strip()
    for fmt in _DATE_FORMATS:
        try:
            return datetime.datetime.strptime(value, fmt).date().isoformat()
        except ValueError:
            continue
    return None


def _delimiter(first_line: str) -> str:
    """Comma, unless the header clearly uses tabs or semicolons (some
    European Excel versions, or a copy from a spreadsheet)."""
    counts = {sep: first_line.count(sep) for sep in (',', '\t', ';')}
    return max(counts, key=lambda sep: (counts[sep], sep == ','))


def parse(
    data: bytes,
    roles: Sequence[Role],
    languages: Sequence[tuple[str, str]],
    metadata_columns: Mapping[str, str] | None = None,
    normalize_email: Callable[[str], str | None] | None = None,
    min_code_length: int = 6,
    max_rows: int | None = None,
) -> ParsedCsv:
    """Read a whole CSV. ``metadata_columns``: column -> 'amount' | 'date'.
    ``normalize_email``: the address as stored, or None when not exactly
    one valid address. Raises BulkCsvError for what concerns the whole file."""
    if not roles:
        raise BulkCsvError('no_open_role')
    max_rows = max_rows or MAX_ROWS
    metadata_columns = {_key(k): v for k, v in (metadata_columns or {}).items()}
    normalize_email = normalize_email or (lambda v: v.strip().lower() if _SIMPLE_EMAIL.match(v.strip()) else None)
    text, encoding = decode(data)
    aliases = language_aliases(languages)
    reader = csv.reader(io.StringIO(text, newline=''), delimiter=_delimiter(text.split('\n', 1)[0]))
    try:
        header = next(reader)
    except StopIteration:
        raise BulkCsvError('empty_file') from None
    except csv.Error as error:
        raise BulkCsvError('bad_csv', line=1, detail=str(error)) from None
    columns = _header_map(header, roles, metadata_columns)

    rows: list[Row] = []
    seen: dict[tuple, int] = {}
    line_end = reader.line_num
    while True:
        start = line_end + 1
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as error:
            raise BulkCsvError('bad_csv', line=start, detail=str(error)) from None
        line_end = reader.line_num
        if not any(cell.strip() for cell in cells):
            continue  # blank lines, ",,,," rows Excel leaves at the end
        if len(rows) >= max_rows:
            raise BulkCsvError('too_many_rows', max=max_rows)
        row = Row(line=start)
        rows.append(row)
        if any(cell.strip() for cell in cells[len(header) :]):
            row.problems.append(Problem('extra_values'))
        given: dict[tuple, str] = {}
        for index, target in columns.items():
            given[target] = cells[index].strip() if index < len(cells) else ''
        _read_row(row, given, roles, aliases, metadata_columns, normalize_email, min_code_length)
        addresses = tuple(row.roles.get(role.key, {}).get('email') for role in roles)
        if all(addresses):
            if addresses in seen:
                row.problems.append(Problem('duplicate_row', {'line': seen[addresses]}))
            else:
                seen[addresses] = row.line
    if not rows:
        raise BulkCsvError('no_rows')
    return ParsedCsv(encoding=encoding, rows=rows)


def _read_row(row, given, roles, aliases, metadata_columns, normalize_email, min_code_length):
    for role in roles:
        values = {}
        for field_name in ROLE_FIELDS:
            values[field_name] = given.get(('role', role, field_name), '')
        for field_name in REQUIRED_ROLE_FIELDS:
            if not values[field_name]:
                row.problems.append(Problem('missing_value', {'role': role.name, 'column': field_name}))
        email = values['email']
        if email:
            normalized = normalize_email(email)
            if not normalized:
                row.problems.append(Problem('bad_email', {'role': role.name, 'value': email}))
            email = normalized or email
        lang = ''
        if values['lang']:
            lang = aliases.get(_key(values['lang']), '')
            if not lang:
                row.problems.append(Problem('unknown_lang', {'role': role.name, 'value': values['lang']}))
        code = values['access_code']
        if not code and role.access_code_required:
            row.problems.append(Problem('missing_value', {'role': role.name, 'column': 'access_code'}))
        elif code and len(code) < min_code_length:
            row.problems.append(Problem('short_access_code', {'role': role.name, 'min': min_code_length}))
        row.roles[role.key] = {
            'name': values['name'][:200],
            'email': email,
            'company_name': values['company'][:200],
            'lang': lang,
            'access_code': code,
        }
    row.title = given.get(('title',), '')[:200]
    for column, kind in metadata_columns.items():
        value = given.get(('meta', column), '')
        if not value:
            continue
        parsed = _parse_amount(value) if kind == 'amount' else _parse_date(value)
        if parsed is None:
            row.problems.append(
                Problem('bad_number' if kind == 'amount' else 'bad_date', {'column': column, 'value': value})
            )
        else:
            row.metadata[column] = parsed
    start, end = row.metadata.get('date_start'), row.metadata.get('date_end')
    if start and end and end < start:
        row.problems.append(Problem('date_order', {'start': start, 'end': end}))
