"""The CloudStamp master key: one secret kept outside the database.

Private signing keys are encrypted with a key derived from it, and the
recipients' links are derived from it, so a copy of the database alone (a
dump, an SQL session, a backup) can neither sign nor open a recipient's link.

It comes from the environment (``CLOUDSTAMP_MASTER_KEY``) or ``odoo.conf``
(``cloudstamp_master_key``); `make setup` writes one. Without it the key is
generated once into a system parameter, which keeps a demo working but
protects nothing: Settings say so.
"""

import base64
import hashlib
import hmac
import logging
import os
import secrets

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from odoo.tools import config

_logger = logging.getLogger(__name__)

FALLBACK_PARAM = 'cloudstamp.master_key_fallback'
ENV_VAR = 'CLOUDSTAMP_MASTER_KEY'
CONFIG_KEY = 'cloudstamp_master_key'


def configured_master_key():
    """The master key from the environment or odoo.conf, or ``None``."""
    value = os.environ.get(ENV_VAR) or config.get(CONFIG_KEY)
    return value.encode() if value else None


def master_key(env):
    """The master key; a fallback in the database when none is configured."""
    key = configured_master_key()
    if key:
        return key
    params = env['ir.config_parameter'].sudo()
    value = params.get_param(FALLBACK_PARAM)
    if not value:
        _logger.warning(
            'No CloudStamp master key is configured (%s or %s in odoo.conf): '
            'keys are protected by a secret stored in the database.',
            ENV_VAR,
            CONFIG_KEY,
        )
        value = secrets.token_urlsafe(32)
        params.set_param(FALLBACK_PARAM, value)
    return value.encode()


def derive_key(env, purpose):
    """32 bytes for one purpose ('private-keys', 'recipient-links', …)."""
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=b'cloudstamp', info=purpose.encode()).derive(master_key(env))


def key_id(key):
    """A short public fingerprint, stored beside what the key protects."""
    return hashlib.sha256(b'cloudstamp-key-id|' + key).hexdigest()[:16]


def encrypt(key, plaintext):
    nonce = secrets.token_bytes(12)
    return base64.b64encode(nonce + AESGCM(key).encrypt(nonce, plaintext, None)).decode()


def decrypt(key, ciphertext):
    """:raises cryptography.exceptions.InvalidTag: wrong key or altered data."""
    raw = base64.b64decode(ciphertext)
    return AESGCM(key).decrypt(raw[:12], raw[12:], None)


def keyed_digest(key, message):
    """HMAC-SHA256, URL-safe base64 without padding (43 characters)."""
    mac = hmac.new(key, message.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).rstrip(b'=').decode()
