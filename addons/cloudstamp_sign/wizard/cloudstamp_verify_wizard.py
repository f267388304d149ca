import base64

from markupsafe import Markup, escape

from odoo import fields, models
from odoo.exceptions import UserError

from cloudstamp_engine.config import MB

# The verifier analyses every revision of a file: a cap keeps one upload
# from occupying a server process for long.
VERIFY_MAX_MB = 32


class CloudStampVerifyWizard(models.TransientModel):
    """Check any PDF's signatures: ours, or a file a customer sends back."""

    _name = 'cloudstamp.verify.wizard'
    _description = 'Verify PDF Signatures'

    pdf_file = fields.Binary('PDF', required=True, attachment=False)
    pdf_filename = fields.Char('File Name')
    verdict = fields.Selection(
        [('valid', 'Valid'), ('untrusted', 'Intact, signer not trusted'), ('invalid', 'Not valid')],
        readonly=True,
    )
    report_html = fields.Html('Report', readonly=True, sanitize=True)

    def action_verify(self):
        self.ensure_one()
        data = base64.b64decode(self.pdf_file or b'')
        if len(data) > VERIFY_MAX_MB * MB:
            raise UserError(self.env._('This file is larger than %s MB, the limit for verification.', VERIFY_MAX_MB))
        report = self.env['cloudstamp.signing.service']._verify_pdf(data)
        self.write(
            {
                'verdict': report.verdict.value,
                'report_html': self._render_report(report),
            }
        )
        return {
            'type': 'ir.actions.act_window',
            'res_model': self._name,
            'res_id': self.id,
            'view_mode': 'form',
            'target': 'new',
        }

    def _render_report(self, report):
        yes, no = self.env._('Yes'), self.env._('No')
        headers = [
            self.env._('Field'),
            self.env._('Actor'),
            self.env._('Action'),
            self.env._('Signing time'),
            self.env._('Timestamp'),
            self.env._('TSA'),
            self.env._('Intact'),
            self.env._('Trusted'),
            self.env._('Coverage'),
            self.env._('Changes after signing'),
        ]
        rows = []
        for sig in report.signatures:
            cells = [
                sig.field_name,
                sig.actor,
                sig.action,
                sig.signing_time and sig.signing_time.isoformat() or '',
                sig.timestamp_time and sig.timestamp_time.isoformat() or '',
                sig.tsa,
                yes if sig.intact else no,
                yes if sig.trusted else no,
                sig.coverage,
                sig.modification_level,
            ]
            rows.append(Markup('<tr>%s</tr>') % Markup('').join(Markup('<td>%s</td>') % cell for cell in cells))
        problems = Markup('').join(Markup('<li>%s</li>') % problem for problem in (*report.problems, *report.warnings))
        return Markup(
            '<table class="table table-sm"><thead><tr>%s</tr></thead><tbody>%s</tbody></table><ul>%s</ul>'
        ) % (
            Markup('').join(Markup('<th>%s</th>') % escape(h) for h in headers),
            Markup('').join(rows),
            problems,
        )
