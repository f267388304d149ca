"""A frozen clock that certificates can be issued under.

cryptography's Rust layer remembers the ``datetime`` class the first time it
reads a date. If that first time is under freezegun, it remembers
freezegun's class, and every real date afterwards is refused ("'datetime'
object is not an instance of 'FakeDatetime'"), in the whole process. This
``freeze_time`` makes cryptography read a real date once, before freezing.
"""

from __future__ import annotations

import datetime as dt
import functools

import freezegun
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec


@functools.cache
def _prime_cryptography() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([])
    now = dt.datetime.now(dt.UTC)
    (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )


def freeze_time(time_to_freeze: object, **kwargs: object):  # noqa: ANN201 - freezegun's own type
    """:func:`freezegun.freeze_time`, safe for issuing certificates."""
    _prime_cryptography()
    return freezegun.freeze_time(time_to_freeze, **kwargs)
