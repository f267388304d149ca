import io
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

from odoo import api, fields, models

# An embedded IPAex Gothic subset renders the same in every reader; the
# standard CID font is the fallback where the IPA fonts are not installed.
_IPAEX = Path('/usr/share/fonts/opentype/ipaexfont-gothic/ipaexg.ttf')
if _IPAEX.exists():
    _FONT = 'IPAexGothic'
    pdfmetrics.registerFont(TTFont(_FONT, str(_IPAEX)))
else:
    _FONT = 'HeiseiKakuGo-W5'
    pdfmetrics.registerFont(UnicodeCIDFont(_FONT))
_STYLE = ParagraphStyle('cs', fontName=_FONT, fontSize=8.5, leading=12, wordWrap='CJK')
_TITLE = ParagraphStyle('cs-title', parent=_STYLE, fontSize=16, leading=22)
_HEAD = ParagraphStyle('cs-head', parent=_STYLE, fontSize=10.5, leading=15, spaceBefore=6)


class CloudStampCertificateReport(models.AbstractModel):
    """合意締結証明書 / Certificate of Agreement, bilingual, signed as "complete".

    Built directly with reportlab: Japanese text needs a CJK font, and the
    result is signed by the engine like every other document.
    """

    _name = 'cloudstamp.certificate.report'
    _description = 'CloudStamp Certificate of Agreement'

    @api.model
    def _render_signed(self, envelope):
        pdf = self._render(envelope)
        return self.env['cloudstamp.signing.service'].sign_pdf(
            pdf, envelope._sender_actor(), 'complete', actor_name='CloudStamp',
            page_note=f'CloudStamp Document ID: {envelope.document_ref}')

    @api.model
    def _render(self, envelope):
        envelope = envelope.sudo()
        tz = pytz.timezone(envelope.user_id.tz or 'Asia/Tokyo')

        def when(value):
            if not value:
                return '—'
            return pytz.utc.localize(value).astimezone(tz).strftime('%Y-%m-%d %H:%M:%S %Z (UTC%z)')

        def para(text, style=_STYLE):
            return Paragraph(str(escape(text)).replace('\n', '<br/>'), style)

        def table(rows, widths):
            t = Table([[para(c) for c in row] for row in rows], colWidths=widths, repeatRows=1)
            t.setStyle(TableStyle([
                ('GRID', (0, 0), (-1, -1), 0.4, colors.grey),
                ('BACKGROUND', (0, 0), (-1, 0), colors.HexColor('#e8eef6')),
                ('VALIGN', (0, 0), (-1, -1), 'TOP'),
            ]))
            return t

        events = envelope.event_ids.sorted('sequence')
        ips = {}
        for event in events:
            if event.ip_address:
                ips.setdefault(event.actor, []).append(event.ip_address)
        story = [
            para('合意締結証明書 / Certificate of Agreement', _TITLE),
            para('本証明書は、以下の書類について、記載の当事者が記載の日時に合意したことを証明します。'
                 ' This certificate states who agreed to which documents, and when.'),
            Spacer(1, 4 * mm),
            table([
                ['項目 / Item', '内容 / Value'],
                ['書類ID / Document ID', envelope.document_ref],
                ['件名 / Title', envelope.name],
                ['送信者 / Sender', f'{envelope.user_id.name} <{envelope._sender_actor()}>'
                                     f' — {envelope.company_id.name}'],
                ['送信日時 / Sent', when(envelope.sent_date)],
                ['締結日時 / Completed', when(envelope.completed_date)],
            ], [45 * mm, 125 * mm]),
            para('書類 / Documents (SHA-256 of the final signed file)', _HEAD),
            table([['ファイル / File', 'ページ / Pages', 'SHA-256']] + [
                [d.name, str(d.page_count), d.current_sha256] for d in envelope.document_ids
            ], [55 * mm, 20 * mm, 95 * mm]),
            para('当事者 / Parties', _HEAD),
            table([['氏名・会社 / Name, company', 'メール / Email',
                    '開封・規約同意 / Opened, terms', '転送・合意 / Forwarded, agreed', 'IP']] + [
                [f'{r.name}\n{r.company_name or ""}', r.email,
                 f'{when(r.opened_at)}\n{when(r.terms_accepted_at)}',
                 (f'転送 / forwarded: {when(r.forwarded_at)}' if r.forwarded_at
                  else f'合意 / agreed: {when(r.agreed_at)}'),
                 ', '.join(sorted(set(ips.get(r.email, []))))]
                for r in envelope.recipient_ids.sorted(lambda r: (r.sequence, r.id))
            ], [36 * mm, 38 * mm, 36 * mm, 36 * mm, 24 * mm]),
            para('監査証跡 / Audit trail', _HEAD),
            para(f'イベント数 / Events: {len(events)}    '
                 f'先頭ハッシュ / Head hash (SHA-256): {events[-1:].event_hash or "—"}'),
            Spacer(1, 3 * mm),
            para(f'発行 / Issued: {when(fields.Datetime.now())}  — CloudStamp'),
        ]
        buffer = io.BytesIO()
        SimpleDocTemplate(
            buffer, pagesize=A4, leftMargin=18 * mm, rightMargin=18 * mm,
            topMargin=18 * mm, bottomMargin=18 * mm,
            title=f'合意締結証明書 {envelope.document_ref}', author='CloudStamp',
        ).build(story)
        return buffer.getvalue()
