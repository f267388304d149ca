"""Signing keys in hardware: a PKCS#11 token (an HSM, or SoftHSM2 in tests).

The private key is created in the token as sensitive and not extractable,
and never leaves it: the service's CA issues a certificate for its public
key, and every signature is computed by the token. A :class:`TokenSession`
keeps one logged-in session open for the life of a
:class:`~.signing.DocumentSigner`; its signer serialises the operations on
that session, which PKCS#11 does not allow concurrently.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

import pkcs11
from asn1crypto import keys
from asn1crypto import x509 as asn1_x509
from pkcs11 import Attribute, KeyType, ObjectClass
from pkcs11.exceptions import UserAlreadyLoggedIn
from pkcs11.util.rsa import encode_rsa_public_key
from pyhanko.config.pkcs11 import TokenCriteria
from pyhanko.sign.pkcs11 import PKCS11Signer, find_token

from .errors import HsmError


@dataclass(frozen=True)
class Pkcs11Config:
    """Where the key is: the module (``.so``), the token (by label, or by
    slot number), its user PIN and the key's label."""

    module_path: str
    token_label: str = ''
    slot_no: int | None = None
    pin: str = field(default='', repr=False)
    key_label: str = 'cloudstamp-signer'


@contextmanager
def _token_errors(what: str) -> Iterator[None]:
    """Whatever the module or pyHanko raises, as :class:`HsmError`. Only the
    exception's name is kept (PinIncorrect, NoSuchKey...): its text could
    echo what the module was given."""
    try:
        yield
    except HsmError:
        raise
    except Exception as exc:  # noqa: BLE001 - modules raise many types
        raise HsmError(f'Cannot {what} on the PKCS#11 token: {type(exc).__name__}.') from None


class LockedPkcs11Signer(PKCS11Signer):
    """pyHanko's PKCS#11 signer, one operation at a time on its session."""

    def __init__(self, *args: object, **kwargs: object):
        super().__init__(*args, **kwargs)
        self._lock = threading.Lock()

    async def async_sign_raw(self, data: bytes, digest_algorithm: str, dry_run: bool = False) -> bytes:
        with self._lock:
            return await super().async_sign_raw(data, digest_algorithm, dry_run)


class TokenSession:
    """A logged-in session on the configured token.

    PKCS#11 logs a whole process in, not a session: while another session of
    the process is logged in, a new one shares that login and its PIN is not
    checked. Close the others first to check a PIN.

    :raises HsmError: the module or the token cannot be found, or the PIN
        is wrong.
    """

    def __init__(self, config: Pkcs11Config, read_write: bool = False):
        self.config = config
        criteria = TokenCriteria(label=config.token_label) if config.token_label else None
        with _token_errors('open the token'):
            token = find_token(
                pkcs11.lib(config.module_path).get_slots(), slot_no=config.slot_no, token_criteria=criteria
            )
            if token is None:
                raise HsmError('No PKCS#11 token matches the configured label or slot.')
            try:
                self.session = token.open(rw=read_write, user_pin=config.pin or None)
            except UserAlreadyLoggedIn:
                # PKCS#11 logs in the process, not the session: another
                # session of ours is logged in already, and this one shares it.
                self.session = token.open(rw=read_write)

    def _key(self, object_class: ObjectClass):
        with _token_errors(f'find the key "{self.config.key_label}"'):
            found = list(
                self.session.get_objects({Attribute.CLASS: object_class, Attribute.LABEL: self.config.key_label})
            )
        if not found:
            raise HsmError(f'The PKCS#11 token has no key labelled "{self.config.key_label}".')
        return found[0]

    def private_key(self):  # noqa: ANN201 - a python-pkcs11 PrivateKey
        return self._key(ObjectClass.PRIVATE_KEY)

    def public_key_der(self) -> bytes:
        """The key's SubjectPublicKeyInfo (DER), for the CA to certify."""
        public = self._key(ObjectClass.PUBLIC_KEY)
        with _token_errors('read the public key'):
            rsa = keys.RSAPublicKey.load(encode_rsa_public_key(public))
        return keys.PublicKeyInfo({'algorithm': {'algorithm': 'rsa'}, 'public_key': rsa}).dump()

    def signer(
        self, certificate: asn1_x509.Certificate, chain: Sequence[asn1_x509.Certificate] = ()
    ) -> LockedPkcs11Signer:
        """A pyHanko signer over this session, with the certificate the CA
        issued for the key (the token need not hold it)."""
        self.private_key()  # a missing key fails now, not at the first signature
        return LockedPkcs11Signer(
            self.session,
            key_label=self.config.key_label,
            signing_cert=certificate,
            ca_chain=list(chain),
            embed_roots=True,
        )

    def generate_key(self, key_size: int = 2048) -> bytes:
        """A new RSA key pair in the token, the private key sensitive and
        never extractable; returns the public key (SubjectPublicKeyInfo).
        Needs a session opened with ``read_write``."""
        with _token_errors('generate a key'):
            self.session.generate_keypair(
                KeyType.RSA,
                key_size,
                label=self.config.key_label,
                store=True,
                private_template={Attribute.SENSITIVE: True, Attribute.EXTRACTABLE: False},
            )
        return self.public_key_der()

    def close(self) -> None:
        with _token_errors('close the session'):
            self.session.close()

    def __enter__(self) -> TokenSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
