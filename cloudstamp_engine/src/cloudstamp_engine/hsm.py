"""Signing keys in hardware: a PKCS#11 token (an HSM, or SoftHSM2 in tests).

The private key is made in the token, sensitive and never extractable, and
never leaves it: the service's CA certifies its public key, and the token
computes every signature. :func:`generate_token_key` makes the key (setup),
:func:`token_public_key` reads its public half for the CA, and
:func:`open_token_signer` gives a pyHanko signer for
:meth:`.DocumentSigner.with_signer`, over a session that stays open until the
signer is closed. :class:`TokenSession` is that session, for callers that do
several things in one.

PKCS#11 logs in a whole process, per token, not a session; and closing a
logged-in session logs out every session of the process on that token. So
the process keeps one logged-in session per token (its *login*) for as long
as any :class:`TokenSession` on that token is open, and each TokenSession
works in a session of its own that shares the login.
"""

from __future__ import annotations

import hmac
import secrets
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from typing import Any

from asn1crypto import keys
from asn1crypto import x509 as asn1_x509
from cryptography.hazmat.primitives import serialization

from .errors import HsmError

try:
    import pkcs11
    from pkcs11 import Attribute, KeyType, MechanismFlag, ObjectClass, PKCS11Error
    from pkcs11 import exceptions as p11_errors
    from pkcs11.util.ec import encode_ec_public_key
    from pkcs11.util.rsa import encode_rsa_public_key
    from pyhanko.config.pkcs11 import TokenCriteria
    from pyhanko.sign.pkcs11 import PKCS11Signer, find_token
except ImportError as exc:  # pragma: no cover - an incomplete installation
    raise ImportError(f'cloudstamp_engine needs python-pkcs11 ({exc}): `make setup` installs it.') from exc

MIN_RSA_BITS = 2048

# The session or the token is gone: removed, reset, or the session closed.
_GONE = (
    p11_errors.DeviceRemoved,
    p11_errors.DeviceError,
    p11_errors.TokenNotPresent,
    p11_errors.TokenNotRecognised,
    p11_errors.SessionClosed,
    p11_errors.SessionHandleInvalid,
    p11_errors.ObjectHandleInvalid,
    p11_errors.KeyHandleInvalid,
    p11_errors.UserNotLoggedIn,
)
_PIN_REFUSED = (p11_errors.PinIncorrect, p11_errors.PinInvalid, p11_errors.PinLenRange)


@dataclass(frozen=True)
class Pkcs11Config:
    """Where the signing key is: the module (``.so``) to load, the token (by
    label, or by slot), its user PIN and the key's label.

    ``slot_no`` is the slot's index in the module's list, as pyHanko counts,
    not its PKCS#11 slot ID. A label is steadier: some modules (SoftHSM2)
    renumber their slots as tokens come and go.
    """

    module_path: str
    token_label: str = ''
    slot_no: int | None = None
    # Not in repr(): configurations end up in logs and tracebacks.
    pin: str = field(default='', repr=False)
    key_label: str = 'cloudstamp-signer'


def _hsm_error(exc: Exception, what: str) -> HsmError:
    # Only the class name is kept of what the module raised (PinIncorrect,
    # DeviceRemoved...): the text of a third party's error could echo what it
    # was given.
    name = type(exc).__name__
    if isinstance(exc, _PIN_REFUSED):
        return HsmError(f'The PKCS#11 token refused the PIN ({name}).')
    if isinstance(exc, p11_errors.PinLocked):
        return HsmError('The PKCS#11 token has locked its user PIN after too many wrong ones (PinLocked).')
    if isinstance(exc, p11_errors.PinExpired):
        return HsmError('The user PIN of the PKCS#11 token has expired (PinExpired).')
    if isinstance(exc, _GONE):
        return HsmError(
            f'The PKCS#11 token or its session is gone (removed, reset or closed) and cannot {what} ({name}); '
            'a new session is needed.'
        )
    return HsmError(f'The PKCS#11 token could not {what} ({name}).')


@contextmanager
def _token_errors(what: str) -> Iterator[None]:
    """Whatever the module or pyHanko raises, as :class:`HsmError`."""
    try:
        yield
    except (HsmError, MemoryError):
        raise
    except Exception as exc:  # noqa: BLE001 - modules raise many types
        raise _hsm_error(exc, what) from None


# python-pkcs11 initialises a module without locking arguments
# (C_Initialize(NULL)), which tells it that no two threads will call it at
# once: SoftHSM2 then turns its own mutexes off. python-pkcs11 itself only
# serialises the operations of one session. So every call of this module
# into PKCS#11 holds this lock; it also guards the logins below. Re-entrant:
# opening a session logs in.
_lock = threading.RLock()


@contextmanager
def _module_call(what: str) -> Iterator[None]:
    """Calls into the PKCS#11 module: one at a time in the process, and
    whatever they raise as :class:`HsmError`."""
    with _lock, _token_errors(what):
        yield


def _load_module(path: str) -> Any:
    try:
        # python-pkcs11 keeps one instance per path, initialised once per process.
        with _lock:
            return pkcs11.lib(path)
    except Exception as exc:  # noqa: BLE001 - a failed dlopen, or C_Initialize's error
        if type(exc) is PKCS11Error:  # python-pkcs11 raises the base class when dlopen fails
            raise HsmError(f'Cannot load the PKCS#11 module "{path}": no such file, or not a PKCS#11 module.') from None
        raise HsmError(
            f'The PKCS#11 module "{path}" failed to start ({type(exc).__name__}): check its configuration.'
        ) from None


def _find_token(module: Any, config: Pkcs11Config) -> Any:
    if not config.token_label and config.slot_no is None:
        wanted = 'was chosen: give the token label or the slot number'
    elif config.token_label and config.slot_no is not None:
        wanted = f'labelled "{config.token_label}" is in slot {config.slot_no}'
    elif config.token_label:
        wanted = f'labelled "{config.token_label}" was found'
    else:
        wanted = f'is in slot {config.slot_no}'
    criteria = TokenCriteria(label=config.token_label) if config.token_label else None
    with _module_call('list its slots'):
        slots = module.get_slots()
    try:
        with _lock:
            token = find_token(slots, slot_no=config.slot_no, token_criteria=criteria)
    except PKCS11Error:
        # pyHanko's: no such slot, another token in it, or several slots and
        # neither label nor slot given; python-pkcs11's: an empty slot.
        token = None
    if token is None:
        raise HsmError(f'No PKCS#11 token {wanted} (module "{config.module_path}").')
    return token


def _close_session(session: Any) -> None:
    """Close ``session``; one that is gone already is closed enough."""
    with _module_call('close a session'), suppress(*_GONE):
        session.close()


def _alive(session: Any) -> bool:
    # Any call on the session tells; a search for nothing is cheap.
    try:
        with _lock:
            list(session.get_objects({Attribute.CLASS: ObjectClass.DATA, Attribute.LABEL: '\0cloudstamp-probe'}))
    except PKCS11Error:
        return False
    return True


@dataclass(eq=False)
class _Login:
    session: Any  # the logged-in python-pkcs11 Session
    pin: str = field(repr=False)
    users: int = 0


_LoginKey = tuple[str, int]  # (module path, slot ID)
# Changed under _lock, which also keeps a logout from racing a new login.
_logins: dict[_LoginKey, _Login] = {}


def _acquire_login(key: _LoginKey, token: Any, config: Pkcs11Config) -> _Login | None:
    """The process's login on ``token``, made with ``config.pin`` if there
    is none yet; ``None`` without a PIN, or when code other than this module
    logged the token in (that login is then shared, its PIN unchecked)."""
    with _lock:
        login = _logins.get(key)
        if login is not None and not _alive(login.session):
            # The token was removed or reset since: its login went with it.
            # The TokenSessions still counted on it find their sessions dead.
            del _logins[key]
            login = None
        if login is None:
            if not config.pin:
                return None
            try:
                session = token.open(user_pin=config.pin)
            except p11_errors.UserAlreadyLoggedIn:
                return None
            except Exception as exc:  # noqa: BLE001 - modules raise many types
                raise _hsm_error(exc, 'log in') from None
            login = _logins[key] = _Login(session, config.pin)
        elif not hmac.compare_digest(login.pin.encode(), config.pin.encode()):
            # The token would not check this PIN: it is logged in already.
            raise HsmError(
                'The PKCS#11 token is logged in, in this process, with another PIN: close its other sessions '
                'first, so that the token checks this one.'
            )
        login.users += 1
        return login


def _release_login(key: _LoginKey, login: _Login) -> None:
    with _lock:
        login.users -= 1
        if login.users > 0:
            return
        if _logins.get(key) is login:
            del _logins[key]
        # python-pkcs11 logs out (C_Logout) when it closes a logged-in session.
        _close_session(login.session)


def _spki(der: bytes) -> bytes:
    """A SubjectPublicKeyInfo in one canonical DER encoding, to compare."""
    try:
        key = serialization.load_der_public_key(der)
    except (ValueError, TypeError) as exc:
        raise HsmError(f'Not a usable public key: {exc}') from None
    return key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


class TokenSession:
    """A session on the configured token, logged in with its PIN.

    Thread-safe: the engine makes one PKCS#11 call at a time in a process
    (signatures included), as modules initialised by python-pkcs11 expect.
    Close it (or use it as a context manager); the token stays logged in
    while other TokenSessions of the process on it are open. A login already
    held is shared, so a TokenSession with another PIN is refused then:
    close the others first to have a new PIN checked.

    :raises HsmError: the module or the token cannot be found, or the PIN
        is refused.
    """

    def __init__(self, config: Pkcs11Config, read_write: bool = False):
        self.config = config
        self._closed = False
        token = _find_token(_load_module(config.module_path), config)
        self._login_key: _LoginKey = (config.module_path, token.slot.slot_id)
        self._login = _acquire_login(self._login_key, token, config)
        try:
            # Without a PIN: this session shares the login, and closing it
            # logs nothing out.
            with _module_call('open a session'):
                self.session = token.open(rw=read_write)
        except HsmError:
            self._release()
            raise

    @property
    def closed(self) -> bool:
        return self._closed

    def _release(self) -> None:
        login, self._login = self._login, None
        if login is not None:
            _release_login(self._login_key, login)

    def _object(self, object_class: ObjectClass, what: str) -> Any:
        label = self.config.key_label
        with _module_call(f'look up the key "{label}"'):
            found = list(self.session.get_objects({Attribute.CLASS: object_class, Attribute.LABEL: label}))
        if not found:
            hint = '' if self.config.pin else ' (no PIN was given, and private keys show only after login)'
            raise HsmError(f'The PKCS#11 token has no {what} labelled "{label}"{hint}.')
        if len(found) > 1:
            raise HsmError(f'The PKCS#11 token has several {what}s labelled "{label}"; give each key its own label.')
        return found[0]

    def private_key(self) -> Any:
        """The key's private half (a python-pkcs11 ``PrivateKey``: a handle,
        never the key's value)."""
        return self._object(ObjectClass.PRIVATE_KEY, 'private key')

    def public_key_der(self) -> bytes:
        """The key's SubjectPublicKeyInfo (DER), read from the public key
        object with the same label: what the CA certifies. RSA or EC."""
        public = self._object(ObjectClass.PUBLIC_KEY, 'public key')
        with _module_call('read the public key'):
            key_type = public[Attribute.KEY_TYPE]
            if key_type == KeyType.RSA:
                rsa = keys.RSAPublicKey.load(encode_rsa_public_key(public))
                der = keys.PublicKeyInfo({'algorithm': {'algorithm': 'rsa'}, 'public_key': rsa}).dump()
            elif key_type == KeyType.EC:
                der = encode_ec_public_key(public)
            else:
                raise HsmError(f'The key "{self.config.key_label}" is {key_type.name}; only RSA and EC keys can sign.')
        return _spki(der)

    def signer(self, certificate: asn1_x509.Certificate, chain: Sequence[asn1_x509.Certificate] = ()) -> TokenSigner:
        """A pyHanko signer over this session, with the certificate the CA
        issued for the key (the token need not hold it) and the chain above
        it. Closing the signer closes this session.

        :raises HsmError: the key is missing, or ``certificate`` is for
            another key (every signature would be invalid).
        """
        if _spki(certificate.public_key.dump()) != self.public_key_der():
            raise HsmError(f'The certificate is not for the key "{self.config.key_label}" in the PKCS#11 token.')
        self.private_key()
        return TokenSigner(self, certificate, chain)

    def generate_key(self, key_size: int = 2048) -> bytes:
        """A new RSA key pair in the token, labelled ``config.key_label``,
        whose private key is sensitive and never extractable; returns the
        public key (SubjectPublicKeyInfo, DER). Needs ``read_write``."""
        label = self.config.key_label
        if key_size < MIN_RSA_BITS:
            raise HsmError(f'RSA keys of {key_size} bits are too weak to sign with; {MIN_RSA_BITS} at least.')
        if not self.session.rw:
            raise HsmError('Generating a key needs a read-write session (TokenSession(..., read_write=True)).')
        with _module_call(f'look up the key "{label}"'):
            taken = list(self.session.get_objects({Attribute.LABEL: label}))
        if taken:
            # Two keys under one label: pyHanko would refuse to choose.
            raise HsmError(f'The PKCS#11 token already holds objects labelled "{label}"; choose another key label.')
        with _module_call('generate a key'):
            self.session.generate_keypair(
                KeyType.RSA,
                key_size,
                id=secrets.token_bytes(8),
                label=label,
                store=True,
                # Signing only: the key cannot decrypt or unwrap anything.
                capabilities=MechanismFlag.SIGN | MechanismFlag.VERIFY,
                private_template={Attribute.PRIVATE: True, Attribute.SENSITIVE: True, Attribute.EXTRACTABLE: False},
            )
        return self.public_key_der()

    def close(self) -> None:
        """Close the session; again is harmless. A session already gone with
        its token is not an error."""
        if self._closed:
            return
        self._closed = True
        try:
            _close_session(self.session)
        finally:
            self._release()

    def __enter__(self) -> TokenSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _SerialisedKey:
    """The signing key's handle, signing under the module's lock."""

    def __init__(self, key: Any):
        self._key = key

    def sign(self, data: bytes, **kwargs: Any) -> bytes:
        with _lock:
            return self._key.sign(data, **kwargs)


class TokenSigner(PKCS11Signer):
    """pyHanko's PKCS#11 signer over a :class:`TokenSession`, with the
    certificate our CA issued for the key.

    Once the session is gone (the token removed, say), every signature
    raises :class:`HsmError` (in a :class:`.DocumentSigner`: a
    ``SigningError``): close this signer and open a new one.
    """

    def __init__(
        self,
        token_session: TokenSession,
        certificate: asn1_x509.Certificate,
        chain: Sequence[asn1_x509.Certificate] = (),
    ):
        super().__init__(
            token_session.session,
            key_label=token_session.config.key_label,
            signing_cert=certificate,
            ca_chain=list(chain),
            embed_roots=True,
            # EC: hash here and have the token sign the digest (CKM_ECDSA),
            # which every EC token has; ECDSA-with-SHA-256 in the token is
            # optional, and SoftHSM2 2.6 lacks it.
            use_raw_mechanism=certificate.public_key.algorithm == 'ec',
        )
        self.token_session = token_session
        # The key handle now, once: pyHanko would load it at the first
        # signature, from whichever thread and event loop comes first.
        with _module_call('find the signing key'):
            self._load_objects()

    def _pull_signing_key_handle(self) -> _SerialisedKey:
        # pyHanko signs with the handle in an executor thread: the lock is
        # taken there, never held across an await.
        return _SerialisedKey(super()._pull_signing_key_handle())

    async def async_sign_raw(self, data: bytes, digest_algorithm: str, dry_run: bool = False) -> bytes:
        with _token_errors('sign'):
            return await super().async_sign_raw(data, digest_algorithm, dry_run)

    def close(self) -> None:
        """Close the session this signer signs in."""
        self.token_session.close()

    def __enter__(self) -> TokenSigner:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def token_public_key(config: Pkcs11Config) -> bytes:
    """The SubjectPublicKeyInfo (DER) of the token's key ``config.key_label``,
    for :func:`~.pki.issue_leaf_certificate` (``public_key_der``).

    :raises HsmError: the module, token or key is missing, or the PIN is refused.
    """
    with TokenSession(config) as session:
        session.private_key()  # a public key without its private half cannot sign
        return session.public_key_der()


def generate_token_key(config: Pkcs11Config, key_size: int = 2048) -> bytes:
    """A new RSA key pair in the token (see :meth:`TokenSession.generate_key`);
    returns its public key, DER."""
    with TokenSession(config, read_write=True) as session:
        return session.generate_key(key_size)


def open_token_signer(
    config: Pkcs11Config,
    certificate: asn1_x509.Certificate,
    chain: Sequence[asn1_x509.Certificate] = (),
) -> TokenSigner:
    """A signer by the token's key, over a session of its own that stays
    open until :meth:`TokenSigner.close`: cache it with its
    :class:`.DocumentSigner`, and close it when dropping them.

    :raises HsmError: the token cannot be used, or ``certificate`` is not for
        its key.
    """
    session = TokenSession(config)
    try:
        return session.signer(certificate, chain)
    except BaseException:
        with suppress(HsmError):
            session.close()
        raise
