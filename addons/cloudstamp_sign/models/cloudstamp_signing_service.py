import logging
import threading
from contextlib import contextmanager

from odoo import api, models
from odoo.exceptions import UserError

from cloudstamp_engine import (
    DocumentSigner,
    EmbeddedTimeStamper,
    HsmError,
    HttpTsaConfig,
    PreflightLimits,
    PreflightRefusal,
    RefusalCode,
    SealError,
    SignatureAction,
    SignatureRequest,
    SigningError,
    http_timestamper,
    load_pem_certificates,
    open_token_signer,
    preflight_send,
    verify_pdf,
    verify_timestamp_token,
)
from cloudstamp_engine.config import MB

# Database-wide technical limits, until an administrator sets them.
DEFAULT_MAX_FILE_MB = 4
DEFAULT_MAX_SEND_MB = 8

_logger = logging.getLogger(__name__)

# Parsed keys per (database, company, key records, TSA settings): parsing and
# decrypting a key costs more than a whole signature, so it happens once per
# process and company.
_signer_cache = {}
_signer_cache_lock = threading.Lock()


class CloudStampSigningService(models.AbstractModel):
    """The Odoo face of the signing engine: settings in, evidence out.

    Every method is private: signing with the company's key is something the
    workflow does, never something a user or an RPC client asks for.
    """

    _name = 'cloudstamp.signing.service'
    _description = 'CloudStamp Signing Service'

    # ------------------------------------------------------------------
    # Preflight
    # ------------------------------------------------------------------
    @api.model
    def _preflight_limits(self):
        params = self.env['ir.config_parameter'].sudo()
        return PreflightLimits(
            max_file_bytes=int(float(params.get_param('cloudstamp.max_file_mb', DEFAULT_MAX_FILE_MB)) * MB),
            max_send_bytes=int(float(params.get_param('cloudstamp.max_send_mb', DEFAULT_MAX_SEND_MB)) * MB),
        )

    @api.model
    def _preflight_files(self, files):
        """Check ``[(filename, bytes)]`` before anything is stored.

        :raises UserError: with the refusal in the user's language.
        """
        try:
            return preflight_send(files, self._preflight_limits())
        except PreflightRefusal as refusal:
            raise UserError(self._refusal_message(refusal.code, refusal.filename, refusal.limit_mb)) from refusal

    @api.model
    def _refusal_message(self, code, name='', limit_mb=''):
        """Why a file was refused, in the user's language."""
        return {
            RefusalCode.NOT_PDF: self.env._(
                '"%(name)s" is not a PDF file. Only PDF files can be sent.', name=name, limit_mb=limit_mb
            ),
            RefusalCode.EMPTY: self.env._('"%(name)s" is empty.', name=name, limit_mb=limit_mb),
            RefusalCode.DAMAGED: self.env._(
                '"%(name)s" is damaged or cannot be read as a PDF. Please save it again as PDF and retry.',
                name=name,
                limit_mb=limit_mb,
            ),
            RefusalCode.ENCRYPTED: self.env._(
                '"%(name)s" is protected by a password. Please remove the password protection and retry.',
                name=name,
                limit_mb=limit_mb,
            ),
            RefusalCode.PERMISSIONS: self.env._(
                'An error occurred while sending "%(name)s". '
                'Please check that the PDF security settings do not forbid signing.',
                name=name,
                limit_mb=limit_mb,
            ),
            RefusalCode.CERTIFIED_NO_CHANGES: self.env._(
                '"%(name)s" carries a certification signature that allows no further changes, so it cannot be signed.',
                name=name,
                limit_mb=limit_mb,
            ),
            RefusalCode.FILE_TOO_LARGE: self.env._(
                '"%(name)s" is larger than %(limit_mb)s MB, the limit per file.', name=name, limit_mb=limit_mb
            ),
            RefusalCode.SEND_TOO_LARGE: self.env._(
                'The files together are larger than %(limit_mb)s MB, the limit per send.', name=name, limit_mb=limit_mb
            ),
        }[code]

    # ------------------------------------------------------------------
    # Signing and verification
    # ------------------------------------------------------------------
    @api.model
    def _sign_pdf(self, data, company, actor_email, action, actor_name='', page_note='', seal=None):
        """Add one PAdES B-T signature with ``company``'s identity;
        ``action`` is a SignatureAction value. ``seal``: a SealSpec that
        makes the signature visible, the seal being its appearance."""
        request = SignatureRequest(
            actor_email=actor_email,
            action=SignatureAction(action),
            actor_name=actor_name or '',
            page_note=page_note or '',
            seal=seal,
        )
        try:
            return self._document_signer(company).sign(data, request)
        except SealError as exc:
            # The person chose the spot (or the name): theirs to change. The
            # signer is fine, so it stays cached.
            _logger.info('CloudStamp could not place a seal (%s for %s): %s', action, actor_email, exc)
            raise UserError(
                self.env._('The seal could not be placed there. Please choose a spot inside the page.')
            ) from exc
        except SigningError as exc:
            self._forget_signer(company)
            # The details (TSA addresses, parser messages) go to the log, not
            # to recipients and senders.
            _logger.warning('CloudStamp could not sign (%s for %s): %s', action, actor_email, exc)
            raise UserError(
                self.env._(
                    'The document could not be signed just now. Nothing was changed; please try again in a few minutes.'
                )
            ) from exc

    @api.model
    def _timestamp_pdf(self, data, company):
        """``data`` with a document timestamp from ``company``'s TSA: for
        files signed elsewhere, which our own signature must not claim."""
        with self._tsa_failure(
            'a document',
            self.env._(
                'The document could not be timestamped just now. Nothing was stored; please try again in a few minutes.'
            ),
        ):
            return self._document_signer(company).timestamp_document(data)

    @api.model
    def _extend_to_lta(self, data, company):
        """``data`` made PAdES B-LTA with ``company``'s validation material."""
        return self._long_term_step(data, company, renew=False)

    @api.model
    def _renew_archive_timestamp(self, data, company):
        """A fresh archive timestamp, with fresh validation material, over a
        B-LTA file."""
        return self._long_term_step(data, company, renew=True)

    @api.model
    def _long_term_step(self, data, company, renew):
        signer = self._document_signer(company)
        with self._failure_as_user_error(
            SigningError,
            'add long-term validation',
            self.env._(
                'The long-term evidence could not be added just now. Nothing was changed; '
                'please try again in a few minutes.'
            ),
        ):
            material = self.env['cloudstamp.pki.certificate']._validation_material(company, data)
            if renew:
                return signer.renew_archive_timestamp(data, material)
            return signer.extend_to_lta(data, material)

    @api.model
    def _timestamp_digest(self, digest, company):
        """An RFC 3161 token over ``digest`` from ``company``'s TSA."""
        with self._tsa_failure(
            'the audit trail',
            self.env._(
                'The audit trail could not be timestamped just now. Nothing was '
                'changed; please try again in a few minutes.'
            ),
        ):
            return self._document_signer(company).timestamp_digest(digest)

    @contextmanager
    def _tsa_failure(self, what, message):
        with self._failure_as_user_error(SigningError, f'timestamp {what}', message):
            yield

    @contextmanager
    def _failure_as_user_error(self, error_type, what, message):
        # The details (TSA address, its answer, the token's error) go to the
        # log, not to users.
        try:
            yield
        except error_type as exc:
            _logger.warning('CloudStamp could not %s: %s', what, exc)
            raise UserError(message) from exc

    @api.model
    def _verify_pdf(self, data, company=None):
        return verify_pdf(data, self.env['cloudstamp.pki.certificate']._trust_roots(company))

    @api.model
    def _verify_timestamp_token(self, token, digest, company=None):
        return verify_timestamp_token(token, digest, self.env['cloudstamp.pki.certificate']._trust_roots(company))

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
    def _document_signer(self, company):
        certificates = self.env['cloudstamp.pki.certificate']
        signer_record = certificates._current('signer', company)
        tsa_record = certificates._current('tsa', company)
        tsa_config = self._tsa_config()
        cache_key = (self.env.cr.dbname, company.id)
        version = (signer_record.id, tsa_record.id, tsa_config)
        with _signer_cache_lock:
            cached = _signer_cache.get(cache_key)
            if cached and cached[0] == version:
                return cached[1]
        timestamper = (
            http_timestamper(tsa_config) if tsa_config else EmbeddedTimeStamper(certificates._identity('tsa', company))
        )
        session = None
        if signer_record.key_storage == 'pkcs11':
            identity = session = self._token_signer(signer_record)
        else:
            identity = certificates._identity('signer', company)
        signer = DocumentSigner(identity, timestamper)
        with _signer_cache_lock:
            previous = _signer_cache.get(cache_key)
            _signer_cache[cache_key] = (version, signer, session)
        if previous and previous[2]:
            previous[2].close()
        return signer

    @api.model
    def _token_signer(self, signer_record):
        """A pyHanko signer by the key in the signer's PKCS#11 token, over a
        session of its own (closed with it), with the certificate our CA
        issued for that key."""
        with self._failure_as_user_error(
            HsmError,
            'open the PKCS#11 token',
            self.env._(
                "The signing key's hardware token does not answer just now. Nothing was changed; "
                'please try again in a few minutes.'
            ),
        ):
            return open_token_signer(
                signer_record._pkcs11_config(),
                load_pem_certificates(signer_record.certificate_pem.encode())[0],
                load_pem_certificates((signer_record.chain_pem or '').encode()),
            )

    @api.model
    def _forget_signer(self, company=None):
        """Drop ``company``'s cached signer (default: every company's of this
        database) and its token session: the next signature opens a new one,
        after a token was unplugged, say."""
        with _signer_cache_lock:
            keys = [k for k in _signer_cache if k[0] == self.env.cr.dbname and (not company or k[1] == company.id)]
            dropped = [_signer_cache.pop(k) for k in keys]
        for _version, _signer, session in dropped:
            if session:
                try:
                    session.close()
                except HsmError as exc:  # the session is gone with the token
                    _logger.info('CloudStamp: a PKCS#11 session was already closed: %s', exc)
