"""Seals (印影): the sender's page to place their own, and what the seal
picker needs on every page that shows it (the recipient's too).

The picker posts the seal as six form fields; this module hands them on as
the plain dict the models take, and the models check every value
(cloudstamp.envelope.file._seal_specs).
"""

import json
from urllib.parse import quote

from werkzeug.exceptions import NotFound

from odoo import http
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.http import request

from cloudstamp_engine import SealError
from cloudstamp_engine.seal import seal_text

from . import recipient as recipient_pages  # a module: recipient.py imports this one too

SEAL_FIELDS = ('file_id', 'page', 'x', 'y', 'shape', 'source')
MAX_SEAL_VALUE = 32  # characters per field: enough for any number a page has


def seal_from_form(form):
    """The seal the picker posted, as strings: None when none was placed."""
    if not (form.get('seal_file_id') or '').strip():
        return None
    return {name: str(form.get(f'seal_{name}') or '').strip()[:MAX_SEAL_VALUE] for name in SEAL_FIELDS}


def seal_values(name, company_name='', current=None):
    """What the seal picker template needs: the texts a seal can show (the
    person's name, their company's), as the engine will write them. A name
    the engine cannot write is not offered."""
    texts = {}
    for source, value in (('name', name), ('company', company_name)):
        try:
            texts[source] = seal_text(value or '')
        except SealError:
            continue
    current = current or {}
    return {
        'seal_choices': list(texts.items()),
        'seal_texts_json': json.dumps(texts, ensure_ascii=False),
        'seal_current': {key: str(value) for key, value in current.items()} or None,
        'seal_current_json': json.dumps(current) if current else None,
        'seal_shape': current.get('shape', 'round'),
        'seal_source': current.get('source') if current.get('source') in texts else next(iter(texts), 'name'),
    }


class CloudStampSealPage(http.Controller):
    """The sender places their own seal on a draft, in the same pdf.js
    viewer and with the same picker as recipients."""

    def _envelope(self, envelope_id):
        envelope = request.env['cloudstamp.envelope'].browse(envelope_id).exists()
        if not envelope:
            raise NotFound()
        try:
            envelope._check_sender_access()
        except AccessError:
            raise NotFound() from None  # nothing said about other people's documents
        return envelope

    def _render(self, envelope, error='', status=200):
        user = request.env.user
        seal = envelope._sender_seal()
        response = request.render(
            'cloudstamp_portal.page_sender_seal',
            {
                'envelope': envelope,
                'error': error,
                'is_draft': envelope.state == 'draft',
                'viewer_locale': 'ja' if (user.lang or '').startswith('ja') else 'en-US',
                'viewer_src': lambda file: (
                    '/web/static/lib/pdfjs/web/viewer.html?file='
                    + quote(f'/web/content/cloudstamp.envelope.file/{file.id}/original_file', safe='')
                ),
                'back_url': f'/odoo/cloudstamp.envelope/{envelope.id}',
                'seal_form': 'form.o_cloudstamp_sender_seal_form',
                'seal_optional': False,
                # The seal shows the name of whoever sends (like the signature).
                **seal_values(user.name, envelope.company_id.name, seal),
            },
        )
        response.status_code = status
        return recipient_pages._secured(response)

    @http.route('/cloudstamp/envelope/<int:envelope_id>/seal', type='http', auth='user', methods=['GET'])
    def sender_seal_page(self, envelope_id, **kw):
        return self._render(self._envelope(envelope_id))

    @http.route('/cloudstamp/envelope/<int:envelope_id>/seal', type='http', auth='user', methods=['POST'])
    def save_sender_seal(self, envelope_id, **kw):
        envelope = self._envelope(envelope_id)
        if envelope.state != 'draft':
            return self._render(
                envelope, request.env._('The seal can only be placed while the document is a draft.'), 409
            )
        seal = seal_from_form(kw)
        try:
            envelope.write(self._seal_vals(envelope, seal))
        except (UserError, ValidationError) as exc:
            request.env.cr.rollback()
            return self._render(envelope, str(exc.args[0]), 400)
        return request.redirect(f'/odoo/cloudstamp.envelope/{envelope.id}', local=True)

    def _seal_vals(self, envelope, seal):
        if not seal:
            return {'sender_seal_file_id': False}
        invalid = UserError(request.env._('The seal position is not valid. Please place the seal again.'))
        try:
            # The envelope's constraint checks the rest (file, page, spot).
            vals = {
                'sender_seal_file_id': int(seal['file_id']),
                'sender_seal_page': int(seal['page']),
                'sender_seal_x': float(seal['x']),
                'sender_seal_y': float(seal['y']),
            }
        except ValueError:
            raise invalid from None
        if (
            vals['sender_seal_file_id'] not in envelope.file_ids.ids
            or seal['shape'] not in ('round', 'square')
            or seal['source'] not in ('name', 'company')
        ):
            raise invalid
        return dict(vals, sender_seal_shape=seal['shape'], sender_seal_source=seal['source'])
