import ipaddress
from datetime import timedelta

from odoo import api, fields, models

WINDOW_MINUTES = 15
MAX_FAILURES = 20


class CloudStampAccessFailure(models.Model):
    """Wrong links and wrong access codes, per client network, for rate limiting.

    Not company data: a wrong link belongs to no envelope. Only CloudStamp
    administrators read it.
    """

    _name = 'cloudstamp.access.failure'
    _description = 'CloudStamp Failed Access'
    _log_access = False

    ip_address = fields.Char('Client Network', required=True, index=True)
    failed_at = fields.Datetime(required=True, default=fields.Datetime.now, index=True)
    reason = fields.Selection(
        [('token', 'Wrong link'), ('code', 'Wrong access code'), ('verify', 'Verification upload')]
    )

    @api.model
    def _client_key(self, address):
        """The unit a limit applies to: the IPv4 address, or the IPv6 /64
        (one customer line usually holds a whole /64)."""
        try:
            ip = ipaddress.ip_address(address or '')
        except ValueError:
            return 'unknown'
        if ip.version == 6:
            if ip.ipv4_mapped:
                return str(ip.ipv4_mapped)
            return str(ipaddress.ip_network(f'{ip}/64', strict=False))
        return str(ip)

    @api.model
    def _is_blocked(self, client, reason=None, limit=MAX_FAILURES):
        """Whether ``client`` reached ``limit`` entries in the window: wrong
        links and codes together, or with ``reason`` only those."""
        since = fields.Datetime.now() - timedelta(minutes=WINDOW_MINUTES)
        domain = [('ip_address', '=', client), ('failed_at', '>=', since)]
        domain += [('reason', '=', reason)] if reason else [('reason', '!=', 'verify')]
        return self.sudo().search_count(domain, limit=limit) >= limit

    @api.model
    def _record(self, client, reason):
        self.sudo().create({'ip_address': client, 'reason': reason})

    @api.autovacuum
    def _gc_failures(self):
        self.sudo().search([('failed_at', '<', fields.Datetime.now() - timedelta(days=1))]).unlink()
