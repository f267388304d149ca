"""Send one document in a database and print, as JSON, what became of its link.

    python tests/install/probe_link.py CONF DB                     # probe
    python tests/install/probe_link.py CONF DB --uninstall MODULE  # uninstall first

Run by test_addon_combinations.py in a process of its own per database.
Nothing the probe does is committed: the document and its mail roll back.
"""

from __future__ import annotations

import base64
import json
import re
import sys
import threading

import odoo
from odoo import SUPERUSER_ID, api
from odoo.exceptions import UserError
from odoo.tools import config

from cloudstamp_engine_testing.pdf_samples import contract_pdf

# Any CloudStamp link in a mail, an unfilled placeholder included.
LINK_RE = re.compile(r'https?://[^/\s"<>]+(/cloudstamp/[a-z\-]+/([A-Za-z0-9_\-]+))')


def probe(env: api.Environment) -> dict:
    modules = env['ir.module.module'].search([('state', '=', 'installed'), ('name', '=like', 'cloudstamp%')])
    env.cr.execute("SELECT proname FROM pg_proc WHERE proname LIKE 'cloudstamp%'")
    result = {
        'modules': sorted(modules.mapped('name')),
        'links': [],
        'mails': 0,
        'functions': [row[0] for row in env.cr.fetchall()],
    }
    if 'cloudstamp.envelope' not in env:
        result['outcome'] = 'nothing to send'
        return result
    envelope = env['cloudstamp.envelope'].create(
        {
            'name': 'Probe',
            'file_ids': [
                odoo.Command.create({'name': 'probe.pdf', 'original_file': base64.b64encode(contract_pdf('probe'))})
            ],
            'recipient_ids': [odoo.Command.create({'name': 'Probe', 'email': 'probe@client.example'})],
        }
    )
    mails = env['mail.mail'].search([])
    try:
        envelope.action_send()
    except UserError as exc:
        result.update(outcome='refused', message=str(exc))
    else:
        result['outcome'] = 'sent'
    new = env['mail.mail'].search([]) - mails
    result['mails'] = len(new)
    router = env['ir.http'].routing_map().bind('probe.example')
    for mail in new:
        body = mail._prepare_outgoing_body()
        for match in LINK_RE.finditer(body):
            path, token = match.groups()
            try:
                router.match(path, method='GET')
                route = True
            except Exception:  # noqa: BLE001 - werkzeug's NotFound and friends: no route
                route = False
            recipient = env['cloudstamp.recipient']._from_token(token) if route else env['cloudstamp.recipient']
            result['links'].append(
                {
                    'path': path.replace(token, '<token>'),
                    'route': route,
                    'recipient_matches': recipient.email == mail.email_to,
                }
            )
    return result


def main(argv: list[str]) -> int:
    conf, db, *rest = argv
    config.parse_config(['-c', conf, '-d', db, '--log-level=warn'])
    threading.current_thread().dbname = db  # Odoo's routing map reads it, as in a request
    registry = odoo.modules.registry.Registry(db)
    with registry.cursor() as cr:
        env = api.Environment(cr, SUPERUSER_ID, {})
        if rest[:1] == ['--uninstall']:
            env['ir.module.module'].search([('name', '=', rest[1])]).button_immediate_uninstall()
            cr.commit()
            return 0
        result = probe(env)
        cr.rollback()
    print(json.dumps(result))
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
