"""合意締結証明書 / Certificate of Agreement: the layout, as a pure function.

``render(data)`` turns plain values into PDF bytes; the envelope gathers the
values from its audit trail (``cloudstamp.envelope._agreement_certificate_data``)
and has the result signed. Built with reportlab rather than a QWeb report:
the Japanese font is embedded the same way on every server, and the bytes
are signed before anything stores them. The certificate is bilingual on
purpose: both parties read the same page, whatever their language.
"""

from __future__ import annotations

import functools
import io
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pytz
from markupsafe import escape
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

DEFAULT_FONT = Path('/usr/share/fonts/opentype/ipaexfont-gothic/ipaexg.ttf')
_FALLBACK_FONT = 'HeiseiKakuGo-W5'


@dataclass(frozen=True)
class CertificateFile:
    name: str
    pages: int
    sha256: str


@dataclass(frozen=True)
class CertificateParty:
    name: str
    company: str
    email: str
    opened: datetime | None
    terms_accepted: datetime | None
    forwarded: datetime | None
    agreed: datetime | None
    ip_addresses: tuple[str, ...]


@dataclass(frozen=True)
class CertificateData:
    document_ref: str
    title: str
    sender: str
    sent: datetime | None
    completed: datetime | None
    files: tuple[CertificateFile, ...]
    parties: tuple[CertificateParty, ...]
    event_count: int
    head_hash: str
    anchor_time: datetime | None
    anchor_tsa: str
    issued: datetime
    tz: str = 'UTC'


@functools.cache
def _styles(font_path: Path | None) -> tuple[ParagraphStyle, ParagraphStyle, ParagraphStyle]:
    """Register the font once, the first time a certificate is drawn. An
    embedded IPAex Gothic subset renders the same in every reader; the
    standard CID font is the fallback where no font file is installed."""
    if font_path and font_path.exists():
        font = f'CloudStamp-{font_path.stem}'
        pdfmetrics.registerFont(TTFont(font, str(font_path)))
    else:
        font = _FALLBACK_FONT
        pdfmetrics.registerFont(UnicodeCIDFont(font))
    body = ParagraphStyle('cs', fontName=font, fontSize=8.5, leading=12, wordWrap='CJK')
    title = ParagraphStyle('cs-title', parent=body, fontSize=16, leading=22)
    head = ParagraphStyle('cs-head', parent=body, fontSize=10.5, leading=15, spaceBefore=6)
    return body, title, head


def render(data: CertificateData, font_path: Path | None = DEFAULT_FONT) -> bytes:
    body, title_style, head_style = _styles(font_path)
    tz = pytz.timezone(data.tz)

    def when(value: datetime | None) -> str:
        if not value:
            return '—'
        return pytz.utc.localize(value).astimezone(tz).strftime('%Y-%m-%d %H:%M:%S %Z (UTC%z)')

    def para(text: str, style: ParagraphStyle = body) -> Paragraph:
        return Paragraph(str(escape(text)).replace('\n', '<br/>'), style)

    def table(rows: list[list[str]], widths: list[float]) -> Table:
        grid = Table([[para(cell) for cell in row] for row in rows], colWidths=widths, repeatRows=1)
        grid.setStyle(
            TableStyle(
                [
                    ('GRID', (0, 0), (-1, -1), 0.4, colors.grey),
                    ('BACKGROUND', (0, 0), (-1, 0), colors.HexColor('#e8eef6')),
                    ('VALIGN', (0, 0), (-1, -1), 'TOP'),
                ]
            )
        )
        return grid

    parties = []
    for party in data.parties:
        outcome = (
            f'転送 / forwarded: {when(party.forwarded)}' if party.forwarded else f'合意 / agreed: {when(party.agreed)}'
        )
        parties.append(
            [
                f'{party.name}\n{party.company}',
                party.email,
                f'{when(party.opened)}\n{when(party.terms_accepted)}',
                outcome,
                ', '.join(party.ip_addresses),
            ]
        )
    story = [
        para('合意締結証明書 / Certificate of Agreement', title_style),
        para(
            '本証明書は、以下の書類について、記載の当事者が記載の日時に合意したことを証明します。'
            ' This certificate states who agreed to which documents, and when.'
        ),
        Spacer(1, 4 * mm),
        table(
            [
                ['項目 / Item', '内容 / Value'],
                ['書類ID / Document ID', data.document_ref],
                ['件名 / Title', data.title],
                ['送信者 / Sender', data.sender],
                ['送信日時 / Sent', when(data.sent)],
                ['締結日時 / Completed', when(data.completed)],
            ],
            [45 * mm, 125 * mm],
        ),
        para('ファイル / Files (SHA-256 of the final signed file)', head_style),
        table(
            [['ファイル / File', 'ページ / Pages', 'SHA-256']]
            + [[file.name, str(file.pages), file.sha256] for file in data.files],
            [55 * mm, 20 * mm, 95 * mm],
        ),
        para('当事者 / Parties', head_style),
        table(
            [
                [
                    '氏名・会社 / Name, company',
                    'メール / Email',
                    '開封・規約同意 / Opened, terms',
                    '転送・合意 / Forwarded, agreed',
                    'IP',
                ]
            ]
            + parties,
            [36 * mm, 38 * mm, 36 * mm, 36 * mm, 24 * mm],
        ),
        para('監査証跡 / Audit trail', head_style),
        table(
            [
                ['項目 / Item', '内容 / Value'],
                ['イベント数 / Events', str(data.event_count)],
                ['先頭ハッシュ / Head hash (SHA-256)', data.head_hash or '—'],
                ['タイムスタンプ / Timestamped', f'{when(data.anchor_time)}\n{data.anchor_tsa}'],
            ],
            [45 * mm, 125 * mm],
        ),
        para(
            '先頭ハッシュは監査証跡の最後のイベントのハッシュで、その時刻は時刻認証局(TSA)のタイムスタンプで'
            '証明されています。 The head hash is the hash of the last audit event; a time stamping '
            'authority (TSA) certifies when it existed.'
        ),
        Spacer(1, 3 * mm),
        para(f'発行 / Issued: {when(data.issued)}  — CloudStamp'),
    ]
    buffer = io.BytesIO()
    SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=18 * mm,
        rightMargin=18 * mm,
        topMargin=18 * mm,
        bottomMargin=18 * mm,
        title=f'合意締結証明書 {data.document_ref}',
        author='CloudStamp',
    ).build(story)
    return buffer.getvalue()
