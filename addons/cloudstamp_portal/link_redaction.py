"""Keep recipients' links out of the server log.

A link is a bearer secret in the URL path. Werkzeug logs every request line;
this filter writes ``/cloudstamp/r/…`` there instead of the token. A reverse
proxy in front of Odoo keeps its own access log: configure it likewise
(README, "Security notes").
"""

import logging
import re

_LINK = re.compile(r'(/cloudstamp/r/)[A-Za-z0-9_\-]+')


def redact(text):
    return _LINK.sub(r'\1…', text)


class RedactRecipientLinks(logging.Filter):
    def filter(self, record):
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(redact(arg) if isinstance(arg, str) else arg for arg in record.args)
        return True


def install():
    logger = logging.getLogger('werkzeug')
    if not any(isinstance(f, RedactRecipientLinks) for f in logger.filters):
        logger.addFilter(RedactRecipientLinks())
