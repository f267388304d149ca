from datetime import timedelta

from odoo import api, fields, models

WINDOW_MINUTES = 15
MAX_FAILURES = 20


class CloudStampAccessFailure(models.Model):
    """Wrong tokens and wrong access codes, per IP, for rate limiting."""

    _name = 'cloudstamp.access.failure'
    _description = 'CloudStamp Failed Access'
    _log_access = False

    ip_address = fields.Char(required=True, index=True)
    failed_at = fields.Datetime(required=True, default=fields.Datetime.now, index=True)
    reason = fields.Selection([('token', 'Wrong link'), ('code', 'Wrong access code')])

    @api.model
    def _is_blocked(self, ip_address):
        since = fields.Datetime.now() - timedelta(minutes=WINDOW_MINUTES)
        return self.sudo().search_count(
            [('ip_address', '=', ip_address), ('failed_at', '>=', since)]) >= MAX_FAILURES

    @api.model
    def _record(self, ip_address, reason):
        self.sudo().create({'ip_address': ip_address or 'unknown', 'reason': reason})

    @api.model
    def _gc(self):
        self.sudo().search([('failed_at', '<', fields.Datetime.now() - timedelta(days=1))]).unlink()
