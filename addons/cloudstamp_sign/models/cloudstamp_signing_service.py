import threading

from odoo import _, api, models
from odoo.exceptions import UserError

from ..engine import (
    DocumentSigner,
    EmbeddedTimeStamper,
    HttpTsaConfig,
    PreflightLimits,
    PreflightRefusal,
    SignatureAction,
    SignatureRequest,
    SigningError,
    http_timestamper,
    preflight_send,
    verify_pdf,
)

MB = 1024 * 1024

# Parsed keys per (database, key records, TSA settings): parsing an RSA key
# costs more than a whole signature, so it happens once per process.
_signer_cache = {}
_signer_cache_lock = threading.Lock()


class CloudStampSigningService(models.AbstractModel):
    """The Odoo face of the signing engine: settings in, evidence out."""

    _name = 'cloudstamp.signing.service'
    _description = 'CloudStamp Signing Service'

    # ------------------------------------------------------------------
    # Preflight
    # ------------------------------------------------------------------
    @api.model
    def _preflight_limits(self):
        params = self.env['ir.config_parameter'].sudo()
        return PreflightLimits(
            max_file_bytes=int(float(params.get_param('cloudstamp.max_file_mb', 4)) * MB),
            max_send_bytes=int(float(params.get_param('cloudstamp.max_send_mb', 8)) * MB),
        )

    @api.model
    def preflight_files(self, files):
        """Check ``[(filename, bytes)]`` before anything is stored.

        :raises UserError: with the refusal in the user's language.
        """
        try:
            return preflight_send(files, self._preflight_limits())
        except PreflightRefusal as refusal:
            raise UserError(refusal.message(self.env.lang or 'en_US')) from refusal

    # ------------------------------------------------------------------
    # Signing and verification
    # ------------------------------------------------------------------
    @api.model
    def sign_pdf(self, data, actor_email, action, actor_name='', page_note=''):
        """Add one PAdES B-T signature; ``action`` is a SignatureAction value."""
        request = SignatureRequest(
            actor_email=actor_email,
            action=SignatureAction(action),
            actor_name=actor_name or '',
            page_note=page_note or '',
        )
        try:
            return self._document_signer().sign(data, request)
        except SigningError as exc:
            raise UserError(_('The document could not be signed: %s', exc)) from exc

    @api.model
    def verify_pdf(self, data):
        return verify_pdf(data, self.env['cloudstamp.certificate']._trust_roots())

    @api.model
    def _tsa_config(self):
        params = self.env['ir.config_parameter'].sudo()
        url = (params.get_param('cloudstamp.tsa_url') or '').strip()
        if not url:
            return None
        return HttpTsaConfig(
            url=url,
            username=params.get_param('cloudstamp.tsa_username') or '',
            password=params.get_param('cloudstamp.tsa_password') or '',
        )

    @api.model
    def _document_signer(self):
        certificates = self.env['cloudstamp.certificate']
        signer_record = certificates._current('signer')
        tsa_record = certificates._current('tsa')
        tsa_config = self._tsa_config()
        key = (self.env.cr.dbname, signer_record.id, tsa_record.id, tsa_config)
        with _signer_cache_lock:
            cached = _signer_cache.get(self.env.cr.dbname)
            if cached and cached[0] == key:
                return cached[1]
        timestamper = (
            http_timestamper(tsa_config) if tsa_config
            else EmbeddedTimeStamper(certificates._identity('tsa'))
        )
        signer = DocumentSigner(certificates._identity('signer'), timestamper)
        with _signer_cache_lock:
            _signer_cache[self.env.cr.dbname] = (key, signer)
        return signer
