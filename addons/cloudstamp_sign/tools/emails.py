"""One address, and only one: what CloudStamp accepts wherever a person's
email is entered (recipients, forward targets, CC partners)."""

import re

from odoo.tools.mail import email_normalize, email_split

_CONTROL = re.compile(r'[\x00-\x1f\x7f]')
_DISPLAY_NAME_FORM = re.compile(r'^[^<>@]*<\s*(?P<address>[^<>\s]+)\s*>$')


def single_email(value):
    """``value`` normalised (lower case, no display name) when it holds
    exactly one valid address and no control character; otherwise ``None``.

    Odoo's mail stack splits "a@x, b@y" or "a@x\\r\\nBcc: b@y" into several
    recipients; an address entered for one person must never do that.
    """
    if not value or _CONTROL.search(value) or len(value) > 254:
        return None
    value = value.strip()
    if len(email_split(value)) != 1:
        return None
    normalized = email_normalize(value, strict=True)
    if not normalized:
        return None
    # The whole value must be the address, or "Name <address>": no stray words
    # that Odoo's parser would silently drop ("a b@c.d" is not b@c.d).
    named = _DISPLAY_NAME_FORM.match(value)
    address = named.group('address') if named else value
    return normalized if address.lower() == normalized else None
