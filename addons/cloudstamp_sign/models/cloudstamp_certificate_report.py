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
        return self.env['cloudstamp.signing.service']._sign_pdf(
            pdf, envelope.company_id, 'cloudstamp', 'complete', actor_name='CloudStamp',
            page_note=envelope._page_note())

    @api.model
    def _parties(self, envelope, events):
        """One row per recipient, from the audit trail rather than from the
        recipients' (workflow-written, but mutable) fields. IP addresses are
        those of the recipient's own steps, never of wrong-code attempts."""
        by_actor = {}
        for event in events:
            by_actor.setdefault(event.actor, {}).setdefault(event.event_type, event)
        rows = []
        for recipient in envelope.recipient_ids:
            steps = by_actor.get(recipient.email, {})
            ips = sorted({steps[t].ip_address for t in ('opened', 'terms_accepted', 'agreed', 'forwarded')
                          if t in steps and steps[t].ip_address})
            rows.append((recipient, steps, ips))
        return rows

    @api.model
    def _render(self, envelope):
        envelope = envelope.sudo()
        tz = pytz.timezone(envelope.user_id.tz or envelope.company_id.partner_id.tz or 'UTC')

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

        def step(steps, event_type):
            return when(steps[event_type].event_time) if event_type in steps else '—'

        events = envelope.event_ids.sorted('sequence')
        sent = events.filtered(lambda e: e.event_type == 'sent')[:1]
        head = events[-1:]
        anchor = events.filtered('anchor_token')[-1:]
        parties = []
        for recipient, steps, ips in self._parties(envelope, events):
            if 'forwarded' in steps:
                outcome = f'転送 / forwarded: {step(steps, "forwarded")}'
            else:
                outcome = f'合意 / agreed: {step(steps, "agreed")}'
            parties.append([f'{recipient.name}\n{recipient.company_name or ""}', recipient.email,
                            f'{step(steps, "opened")}\n{step(steps, "terms_accepted")}', outcome,
                            ', '.join(ips)])
        story = [
            para('合意締結証明書 / Certificate of Agreement', _TITLE),
            para('本証明書は、以下の書類について、記載の当事者が記載の日時に合意したことを証明します。'
                 ' This certificate states who agreed to which documents, and when.'),
            Spacer(1, 4 * mm),
            table([
                ['項目 / Item', '内容 / Value'],
                ['書類ID / Document ID', envelope.document_ref],
                ['件名 / Title', envelope.name],
                ['送信者 / Sender', f'{(sent.details or {}).get("by") or envelope.user_id.name} <{sent.actor}>'
                                     f' — {envelope.company_id.name}'],
                ['送信日時 / Sent', when(sent.event_time)],
                ['締結日時 / Completed', when(envelope.completed_date)],
            ], [45 * mm, 125 * mm]),
            para('書類 / Documents (SHA-256 of the final signed file)', _HEAD),
            table([['ファイル / File', 'ページ / Pages', 'SHA-256']] + [
                [d.name, str(d.page_count), (head.document_hashes or {}).get(str(d.id), '')]
                for d in envelope.document_ids
            ], [55 * mm, 20 * mm, 95 * mm]),
            para('当事者 / Parties', _HEAD),
            table([['氏名・会社 / Name, company', 'メール / Email',
                    '開封・規約同意 / Opened, terms', '転送・合意 / Forwarded, agreed', 'IP']] + parties,
                  [36 * mm, 38 * mm, 36 * mm, 36 * mm, 24 * mm]),
            para('監査証跡 / Audit trail', _HEAD),
            table([
                ['項目 / Item', '内容 / Value'],
                ['イベント数 / Events', str(len(events))],
                ['先頭ハッシュ / Head hash (SHA-256)', head.event_hash or '—'],
                ['タイムスタンプ / Timestamped', f'{when(anchor.anchor_time)}\n{anchor.anchor_tsa or ""}'],
            ], [45 * mm, 125 * mm]),
            para('先頭ハッシュは監査証跡の最後のイベントのハッシュで、その時刻は時刻認証局(TSA)のタイムスタンプで'
                 '証明されています。 The head hash is the hash of the last audit event; a time stamping '
                 'authority (TSA) certifies when it existed.'),
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
