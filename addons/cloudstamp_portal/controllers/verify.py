"""/cloudstamp/verify: anyone, without an account, checks a PDF's signatures.

Uploads are size-limited and rate-limited per client network, read into
memory and never stored.
"""

from odoo import http
from odoo.http import request

from cloudstamp_engine.config import MB
from cloudstamp_engine.verify import SIGNER_REVOKED

from .recipient import _secured

MAX_UPLOAD_MB = 8
MAX_UPLOAD_BYTES = MAX_UPLOAD_MB * MB
# Verifications per client network per window (cloudstamp.access.failure's).
MAX_VERIFICATIONS = 30


class CloudStampVerifyPage(http.Controller):
    def _lang(self, lang=''):
        """The page's language: asked for, else the browser's, else English."""
        installed = [code for code, _name in request.env['res.lang'].get_installed()]
        if lang in installed:
            return lang
        best = request.httprequest.accept_languages.best_match([code.replace('_', '-') for code in installed])
        return best.replace('-', '_') if best else 'en_US'

    def _page(self, lang, status=200, **values):
        request.update_context(lang=lang)
        env = request.env
        actions = {
            'send': env._('Sent'),
            'forward': env._('Forwarded'),
            'agree': env._('Agreed'),
            'complete': env._('Completed'),
            'archive': env._('Archive timestamp'),
            'timestamp': env._('Document timestamp'),
        }
        response = request.render(
            'cloudstamp_portal.page_verify',
            {'lang': lang, 'max_mb': MAX_UPLOAD_MB, 'actions': actions, 'result': None, 'reasons': [], **values},
        )
        response.status_code = status
        return _secured(response)

    @http.route('/cloudstamp/verify', type='http', auth='public', methods=['GET'], sitemap=False)
    def verify_form(self, lang='', **kw):
        return self._page(self._lang(lang))

    @http.route('/cloudstamp/verify', type='http', auth='public', methods=['POST'], sitemap=False)
    def verify_upload(self, pdf=None, lang='', **kw):
        lang = self._lang(lang)
        request.update_context(lang=lang)
        failures = request.env['cloudstamp.access.failure']
        client = failures._client_key(request.httprequest.remote_addr)
        if failures._is_blocked(client, reason='verify', limit=MAX_VERIFICATIONS):
            return self._page(
                lang, 429, error=request.env._('Too many files from your network. Please try again later.')
            )
        failures._record(client, 'verify')
        size = request.httprequest.content_length or 0
        if size > MAX_UPLOAD_BYTES:
            return self._page(lang, 413, error=request.env._('The file is larger than %s MB.', MAX_UPLOAD_MB))
        data = pdf.read(MAX_UPLOAD_BYTES + 1) if hasattr(pdf, 'read') else b''
        if not data:
            return self._page(lang, 400, error=request.env._('Please choose a PDF file.'))
        if len(data) > MAX_UPLOAD_BYTES:
            return self._page(lang, 413, error=request.env._('The file is larger than %s MB.', MAX_UPLOAD_MB))
        result = request.env['cloudstamp.envelope']._public_verification(data)
        return self._page(lang, result=result, reasons=self._reasons(result['report']))

    def _reasons(self, report):
        """Why a file is not valid (or not trusted), in plain words."""
        env = request.env
        reasons = []
        problems = ' '.join(report.problems)
        if 'not a readable PDF' in problems or 'verification failed' in problems:
            reasons.append(env._('The file is damaged or is not a PDF.'))
        if 'no signatures' in problems:
            reasons.append(env._('The file carries no digital signature.'))
        if '%%EOF' in problems:
            reasons.append(env._('Bytes were added after the end of the signed file.'))
        if 'does not cover the whole file' in problems:
            reasons.append(env._('The newest signature does not cover the whole file.'))
        for number, signature in enumerate(report.signatures, start=1):
            if SIGNER_REVOKED in signature.problems:
                reasons.append(env._('The certificate of signature %s was revoked before it signed.', number))
            elif not signature.intact or signature.problems:
                reasons.append(env._('The content changed after signature %s, or that signature is broken.', number))
        if not reasons and report.verdict.value == 'untrusted':
            reasons.append(env._('The signer is not one this service trusts.'))
        return reasons
