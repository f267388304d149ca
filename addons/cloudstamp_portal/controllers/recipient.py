"""The recipient's pages: no account, one personal link per recipient.

Every route resolves the link first, then decides what this visitor may do
(access code passed, turn, terms), and only then calls the recipient's
private model methods, which hold the rules. Nothing a visitor sends is
passed to the models except the words they typed; the request's evidence
(IP address, user agent) is built here.
"""

import functools
import hashlib
from urllib.parse import quote

from werkzeug.exceptions import NotFound

from odoo import http
from odoo.exceptions import AccessDenied, UserError
from odoo.http import request

from . import seal

SESSION_KEY = 'cloudstamp_code_ok'
MAX_TEXT = 2000
SECURITY_HEADERS = {
    # Personal documents: never framed by another site, never cached, and
    # the link (a bearer secret in the URL) never sent on as a Referer.
    'X-Frame-Options': 'DENY',
    'Content-Security-Policy': "frame-ancestors 'none'",
    'Referrer-Policy': 'no-referrer',
    'Cache-Control': 'no-store',
    'X-Content-Type-Options': 'nosniff',
}


def _secured(response):
    response.headers.update(SECURITY_HEADERS)
    return response


def with_recipient(route):
    """Resolve the link before the route runs.

    Wrong links answer 404 without raising, so that the failure recorded for
    rate limiting is committed rather than rolled back with the request. A
    network that keeps guessing gets 429 for wrong links, without a record;
    a valid link is never refused, so recipients behind the same proxy or
    NAT as a guesser still get in.
    """

    @functools.wraps(route)
    def wrapper(self, token, **kw):
        kw.pop('recipient', None)  # the route's own argument, not a form field
        failures = request.env['cloudstamp.access.failure']
        try:
            recipient = request.env['cloudstamp.recipient']._from_token(token)
        except AccessDenied:
            client = self._client_key()
            if failures._is_blocked(client):
                return self._plain(request.env._('Too many attempts from your network. Please try again later.'), 429)
            failures._record(client, 'token')
            return self._plain(
                request.env._('This link is not valid. Please use the latest link you received by email.'), 404
            )
        # The pages and the model's own messages speak the recipient's language.
        request.update_context(lang=recipient.lang)
        recipient = recipient.with_context(lang=recipient.lang)
        return _secured(route(self, recipient, token, **kw))

    return wrapper


class CloudStampRecipientPortal(http.Controller):
    # ------------------------------------------------------------------
    # Access
    # ------------------------------------------------------------------
    def _request_info(self):
        """The evidence of this request. ``remote_addr`` is the client's
        address, or with ``proxy_mode`` the one the proxy put last in
        X-Forwarded-For (never one the client chose)."""
        return {
            'ip': request.httprequest.remote_addr,
            'user_agent': request.httprequest.user_agent.string,
        }

    def _client_key(self):
        return request.env['cloudstamp.access.failure']._client_key(request.httprequest.remote_addr)

    def _plain(self, text, status):
        return _secured(
            request.make_response(text, status=status, headers=[('Content-Type', 'text/plain; charset=utf-8')])
        )

    def _code_ok(self, recipient):
        return not recipient.has_access_code or recipient.id in request.session.get(SESSION_KEY, [])

    def _render(self, template, recipient, token, **values):
        return request.render(
            f'cloudstamp_portal.{template}',
            {
                # One-shot message from the previous POST, kept in the session
                # rather than the URL so nobody can craft a page showing their text.
                'error': request.session.pop('cloudstamp_error', ''),
                'recipient': recipient,
                'envelope': recipient.envelope_id,
                # Until the access code is entered, the page names nothing: not
                # the title, the sender or the recipient.
                'show_details': self._code_ok(recipient),
                'token': token,
                'base_path': f'/cloudstamp/r/{token}',
                'viewer_src': lambda file: (
                    '/web/static/lib/pdfjs/web/viewer.html?file='
                    + quote(f'/cloudstamp/r/{token}/file/{file.id}', safe='')
                ),
                **values,
            },
        )

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
        # A GET changes nothing: mail scanners fetch links nobody reads.
        envelope = recipient.envelope_id
        if recipient.locked:
            return self._render('page_locked', recipient, token)
        if not recipient._may_view():
            return self._render('page_closed', recipient, token)
        if not self._code_ok(recipient):
            return self._render('page_code', recipient, token)
        if envelope.state == 'completed':
            return self._render('page_completed', recipient, token)
        if not recipient.terms_accepted_at:
            terms = recipient._terms_of_use()
            return self._render('page_terms', recipient, token, terms=terms, terms_sha256=_sha256(terms))
        return self._render(
            'page_documents',
            recipient,
            token,
            seal_form='form.o_cloudstamp_agree_form',
            seal_optional=True,
            **seal.seal_values(recipient.name, recipient.company_name),
        )

    @http.route('/cloudstamp/r/<string:token>/code', type='http', auth='public', methods=['POST'])
    @with_recipient
    def submit_code(self, recipient, token, access_code='', **kw):
        if not recipient.has_access_code or not recipient._may_view() or self._code_ok(recipient):
            return self._redirect(token)
        failures = request.env['cloudstamp.access.failure']
        client = self._client_key()
        if failures._is_blocked(client):
            return self._plain(request.env._('Too many attempts from your network. Please try again later.'), 429)
        if recipient._check_access_code((access_code or '')[:200], self._request_info()):
            request.session[SESSION_KEY] = [*request.session.get(SESSION_KEY, [])[-19:], recipient.id]
            if recipient._is_current_turn():
                recipient._mark_opened(self._request_info())
            return self._redirect(token)
        failures._record(client, 'code')
        if recipient.locked:
            return self._redirect(token)
        return self._redirect(token, request.env._('The access code is not correct.'))

    @http.route('/cloudstamp/r/<string:token>/terms', type='http', auth='public', methods=['POST'])
    @with_recipient
    def accept_terms(self, recipient, token, accept=None, terms_sha256='', **kw):
        if not self._code_ok(recipient) or not recipient._may_view():
            return self._redirect(token)
        if not accept:
            return self._redirect(token, request.env._('Please tick the box to accept the terms of use.'))
        shown = _sha256(recipient._terms_of_use())
        if terms_sha256 != shown:
            return self._redirect(token, request.env._('The terms of use have changed. Please read them again.'))
        return self._act(token, lambda: recipient._accept_terms(shown, self._request_info()))

    def _readable(self, recipient):
        """The documents may be shown: code passed, then either the terms
        accepted on this turn, or the envelope completed."""
        return (
            recipient._may_view()
            and self._code_ok(recipient)
            and (recipient.envelope_id.state == 'completed' or recipient.terms_accepted_at)
        )

    @http.route('/cloudstamp/r/<string:token>/file/<int:file_id>', type='http', auth='public', methods=['GET'])
    @with_recipient
    def file(self, recipient, token, file_id, download=None, **kw):
        file = recipient.envelope_id.file_ids.filtered(lambda f: f.id == file_id)
        if not self._readable(recipient) or not file:
            raise NotFound()
        return self._pdf_response(file, file._current_field(), file.name, download)

    @http.route('/cloudstamp/r/<string:token>/certificate', type='http', auth='public', methods=['GET'])
    @with_recipient
    def certificate(self, recipient, token, **kw):
        envelope = recipient.envelope_id
        if not (self._readable(recipient) and envelope.state == 'completed' and envelope.agreement_certificate_file):
            raise NotFound()
        return self._pdf_response(envelope, 'agreement_certificate_file', envelope.agreement_certificate_filename, True)

    def _pdf_response(self, record, field_name, filename, download):
        stream = request.env['ir.binary']._get_stream_from(
            record.sudo(), field_name, filename=filename, mimetype='application/pdf'
        )
        # Our own headers (_secured) replace the stream's CSP and caching.
        return stream.get_response(as_attachment=bool(download), content_security_policy=None)

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

    def _check_may_act(self, recipient):
        if not self._code_ok(recipient) or recipient.locked:
            raise NotFound()

    @http.route('/cloudstamp/r/<string:token>/agree', type='http', auth='public', methods=['POST'])
    @with_recipient
    def agree(self, recipient, token, **kw):
        self._check_may_act(recipient)
        # The seal is optional; the model checks every value it was sent.
        placed = seal.seal_from_form(kw)
        return self._act(token, lambda: recipient._action_agree(self._request_info(), seal=placed))

    @http.route('/cloudstamp/r/<string:token>/decline', type='http', auth='public', methods=['POST'])
    @with_recipient
    def decline(self, recipient, token, reason='', **kw):
        return self._stop_round(
            recipient, token, reason, recipient._action_decline, request.env._('Please give a reason.')
        )

    @http.route('/cloudstamp/r/<string:token>/revision', type='http', auth='public', methods=['POST'])
    @with_recipient
    def request_revision(self, recipient, token, comment='', **kw):
        return self._stop_round(
            recipient,
            token,
            comment,
            recipient._action_request_revision,
            request.env._('Please say what should be revised.'),
        )

    def _stop_round(self, recipient, token, text, action, empty_message):
        self._check_may_act(recipient)
        if not (text or '').strip():
            return self._redirect(token, empty_message)
        return self._act(token, lambda: action(text[:MAX_TEXT], self._request_info()))

    @http.route('/cloudstamp/r/<string:token>/forward', type='http', auth='public', methods=['POST'])
    @with_recipient
    def forward(self, recipient, token, name='', email='', message='', **kw):
        self._check_may_act(recipient)
        try:
            successor = recipient._action_forward(
                (name or '')[:200], (email or '')[:254], (message or '')[:MAX_TEXT], self._request_info()
            )
        except UserError as exc:
            request.env.cr.rollback()
            return self._redirect(token, str(exc.args[0]))
        # The forwarder's link is dead now: answer here instead of redirecting.
        return self._render('page_forwarded', recipient, token, successor=successor)


def _sha256(text):
    return hashlib.sha256(text.encode()).hexdigest()
