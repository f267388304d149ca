"""The recipient's pages: no account, one personal link per recipient.

Every route resolves the link first (wrong links are rate-limited per IP),
then calls the recipient's model methods, which hold the rules.
"""

import functools
from urllib.parse import quote

from werkzeug.exceptions import NotFound

from odoo import _, http
from odoo.exceptions import AccessDenied, UserError
from odoo.http import request

from ..models.res_config_settings import terms_for

SESSION_KEY = 'cloudstamp_code_ok'
MAX_TEXT = 2000


def with_recipient(route):
    """Resolve the link before the route runs.

    Wrong links answer 404 without raising, so that the failure recorded for
    rate limiting is committed rather than rolled back with the request.
    """
    @functools.wraps(route)
    def wrapper(self, token, **kw):
        failures = request.env['cloudstamp.access.failure']
        ip_address = request.httprequest.remote_addr
        if failures._is_blocked(ip_address):
            return request.make_response(
                _('Too many attempts from your network. Please try again later.'), status=429)
        try:
            recipient = request.env['cloudstamp.recipient']._from_token(token)
        except AccessDenied:
            failures._record(ip_address, 'token')
            return request.make_response(
                _('This link is not valid. Please use the latest link you received by email.'),
                status=404)
        request.update_context(lang=recipient.lang)
        return route(self, recipient, token, **kw)
    return wrapper


class CloudStampRecipientPortal(http.Controller):

    # ------------------------------------------------------------------
    # Access
    # ------------------------------------------------------------------
    def _request_info(self):
        return {
            'ip': request.httprequest.remote_addr,
            'user_agent': request.httprequest.user_agent.string,
        }


    def _code_ok(self, recipient):
        return not recipient.has_access_code or recipient.id in request.session.get(SESSION_KEY, [])

    def _render(self, template, recipient, token, **values):
        return request.render(f'cloudstamp_portal.{template}', {
            # One-shot message from the previous POST, kept in the session
            # rather than the URL so nobody can craft a page showing their text.
            'error': request.session.pop('cloudstamp_error', ''),
            'recipient': recipient,
            'envelope': recipient.envelope_id,
            'token': token,
            'base_path': f'/cloudstamp/r/{token}',
            'viewer_src': lambda document: '/web/static/lib/pdfjs/web/viewer.html?file=' + quote(
                f'/cloudstamp/r/{token}/document/{document.id}', safe=''),
            **values,
        })

    def _redirect(self, token, error=None):
        if error:
            request.session['cloudstamp_error'] = error[:300]
        return request.redirect(f'/cloudstamp/r/{token}')

    # ------------------------------------------------------------------
    # Pages
    # ------------------------------------------------------------------
    @http.route('/cloudstamp/r/<string:token>', type='http', auth='public', methods=['GET'])
    @with_recipient
    def recipient_page(self, recipient, token, **kw):
        envelope = recipient.envelope_id
        if recipient.locked:
            return self._render('page_locked', recipient, token)
        if envelope.state == 'completed':
            return self._render('page_completed', recipient, token)
        if not recipient._is_current_turn():
            return self._render('page_closed', recipient, token)
        if not self._code_ok(recipient):
            return self._render('page_code', recipient, token)
        recipient._mark_opened(self._request_info())
        if not recipient.terms_accepted_at:
            return self._render('page_terms', recipient, token,
                                terms=terms_for(request.env, recipient.lang))
        return self._render('page_documents', recipient, token)

    @http.route('/cloudstamp/r/<string:token>/code', type='http', auth='public', methods=['POST'])
    @with_recipient
    def submit_code(self, recipient, token, access_code='', **kw):
        if recipient._check_access_code((access_code or '')[:200], self._request_info()):
            request.session[SESSION_KEY] = request.session.get(SESSION_KEY, []) + [recipient.id]
            return self._redirect(token)
        request.env['cloudstamp.access.failure']._record(request.httprequest.remote_addr, 'code')
        if recipient.locked:
            return self._redirect(token)
        return self._redirect(token, _('The access code is not correct.'))

    @http.route('/cloudstamp/r/<string:token>/terms', type='http', auth='public', methods=['POST'])
    @with_recipient
    def accept_terms(self, recipient, token, accept=None, **kw):
        if not self._code_ok(recipient):
            return self._redirect(token)
        if not accept:
            return self._redirect(token, _('Please tick the box to accept the terms of use.'))
        return self._act(token, lambda: recipient._accept_terms(self._request_info()))

    @http.route('/cloudstamp/r/<string:token>/document/<int:document_id>',
                type='http', auth='public', methods=['GET'])
    @with_recipient
    def document(self, recipient, token, document_id, download=None, **kw):
        may_read = recipient.envelope_id.state == 'completed' or (
            recipient._is_current_turn() and self._code_ok(recipient)
            and recipient.terms_accepted_at)
        document = recipient.envelope_id.document_ids.filtered(lambda d: d.id == document_id)
        if not may_read or not document:
            raise NotFound()
        return self._pdf_response(document._current_pdf(), document.name, download)

    @http.route('/cloudstamp/r/<string:token>/certificate', type='http', auth='public', methods=['GET'])
    @with_recipient
    def certificate(self, recipient, token, **kw):
        envelope = recipient.envelope_id
        certificate = envelope.state == 'completed' and envelope._certificate_pdf()
        if not certificate:
            raise NotFound()
        return self._pdf_response(certificate, envelope.certificate_filename, True)

    def _pdf_response(self, data, filename, download):
        disposition = 'attachment' if download else 'inline'
        return request.make_response(data, headers=[
            ('Content-Type', 'application/pdf'),
            ('Content-Disposition', f"{disposition}; {http.content_disposition(filename).split('; ', 1)[1]}"),
            ('Cache-Control', 'no-store'),
            ('X-Content-Type-Options', 'nosniff'),
        ])

    # ------------------------------------------------------------------
    # Actions
    # ------------------------------------------------------------------
    def _act(self, token, action):
        try:
            action()
        except UserError as exc:
            request.env.cr.rollback()
            return self._redirect(token, str(exc.args[0]))
        return self._redirect(token)

    def _check_code_passed(self, recipient):
        if not self._code_ok(recipient):
            raise NotFound()

    @http.route('/cloudstamp/r/<string:token>/agree', type='http', auth='public', methods=['POST'])
    @with_recipient
    def agree(self, recipient, token, **kw):
        self._check_code_passed(recipient)
        return self._act(token, lambda: recipient.action_agree(self._request_info()))

    @http.route('/cloudstamp/r/<string:token>/decline', type='http', auth='public', methods=['POST'])
    @with_recipient
    def decline(self, recipient, token, reason='', **kw):
        return self._stop_round(recipient, token, reason, recipient.action_decline,
                                _('Please give a reason.'))

    @http.route('/cloudstamp/r/<string:token>/revision', type='http', auth='public', methods=['POST'])
    @with_recipient
    def request_revision(self, recipient, token, comment='', **kw):
        return self._stop_round(recipient, token, comment, recipient.action_request_revision,
                                _('Please say what should be revised.'))

    def _stop_round(self, recipient, token, text, action, empty_message):
        self._check_code_passed(recipient)
        if not (text or '').strip():
            return self._redirect(token, empty_message)
        return self._act(token, lambda: action(text[:MAX_TEXT], self._request_info()))

    @http.route('/cloudstamp/r/<string:token>/forward', type='http', auth='public', methods=['POST'])
    @with_recipient
    def forward(self, recipient, token, name='', email='', message='', **kw):
        self._check_code_passed(recipient)
        try:
            successor = recipient.action_forward(
                (name or '')[:200], (email or '')[:254], (message or '')[:MAX_TEXT],
                self._request_info())
        except UserError as exc:
            request.env.cr.rollback()
            return self._redirect(token, str(exc.args[0]))
        # The forwarder's link is dead now: answer here instead of redirecting.
        return self._render('page_forwarded', recipient, token, successor=successor)
