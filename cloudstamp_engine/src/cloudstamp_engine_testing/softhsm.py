"""Throwaway SoftHSM2 tokens for tests: a real PKCS#11 module, in software.

SoftHSM2 reads its configuration (where tokens live, ``SOFTHSM2_CONF``) when
the module is initialised, and python-pkcs11 initialises a module once per
process: so every token of a process lives in one temporary directory, made
on first use (and ``SOFTHSM2_CONF`` set) before the module is loaded, and
removed at exit. Missing SoftHSM2 is a failure, not a skip: ``make setup``
installs it.
"""

from __future__ import annotations

import atexit
import ctypes
import os
import secrets
import shutil
import subprocess
import tempfile
from pathlib import Path

import pkcs11
from pkcs11 import TokenFlag

from cloudstamp_engine import Pkcs11Config
from cloudstamp_engine.hsm import _lock as one_pkcs11_call_at_a_time

MODULE_CANDIDATES = (
    '/usr/lib/softhsm/libsofthsm2.so',
    '/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so',
    '/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so',
    '/usr/local/lib/softhsm/libsofthsm2.so',
)
_token_dir: Path | None = None


def softhsm_module() -> str:
    for path in MODULE_CANDIDATES:
        if Path(path).exists():
            return path
    raise RuntimeError('SoftHSM2 is not installed (libsofthsm2.so not found): make setup installs it.')


def _configure() -> None:
    global _token_dir  # noqa: PLW0603 - one directory per process, as SoftHSM2 wants
    if _token_dir is not None:
        return
    root = Path(tempfile.mkdtemp(prefix='cloudstamp-softhsm-'))
    atexit.register(shutil.rmtree, root, ignore_errors=True)
    (root / 'tokens').mkdir()
    conf = root / 'softhsm2.conf'
    conf.write_text(f'directories.tokendir = {root / "tokens"}\nobjectstore.backend = file\nlog.level = ERROR\n')
    os.environ['SOFTHSM2_CONF'] = str(conf)
    _token_dir = root


def _init_token(module: str, slot_id: int, label: str, so_pin: str) -> None:
    # python-pkcs11 has no C_InitToken; the module exports it, and dlopen
    # gives the instance python-pkcs11 loaded.
    so = ctypes.CDLL(module)
    so.C_InitToken.argtypes = [ctypes.c_ulong, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p]
    so.C_InitToken.restype = ctypes.c_ulong
    pin = so_pin.encode()
    status = so.C_InitToken(slot_id, pin, len(pin), label.encode().ljust(32))
    if status:
        raise RuntimeError(f'SoftHSM2 could not initialise a token: CK_RV {status:#x}.')


def new_token(key_label: str = 'cloudstamp-signer') -> Pkcs11Config:
    """A fresh, initialised token with a random label and PIN (no key yet).

    Made inside this process, through the module: SoftHSM2 does not see the
    tokens that softhsm2-util makes once the process has initialised it.
    """
    module = softhsm_module()
    _configure()
    label = f'cs-{secrets.token_hex(4)}'
    pin, so_pin = secrets.token_hex(6), secrets.token_hex(6)
    # The engine's lock: SoftHSM2 runs without mutexes of its own (see hsm.py).
    with one_pkcs11_call_at_a_time:
        # SoftHSM2 always offers one uninitialised slot.
        free = next(
            slot
            for slot in pkcs11.lib(module).get_slots(token_present=True)
            if not slot.get_token().flags & TokenFlag.TOKEN_INITIALIZED
        )
        _init_token(module, free.slot_id, label, so_pin)
        with free.get_token().open(rw=True, so_pin=so_pin) as session:
            session.init_pin(pin)
    return Pkcs11Config(module_path=module, token_label=label, pin=pin, key_label=key_label)


def remove_token(config: Pkcs11Config) -> None:
    """Delete the token's files, as if it were pulled out; its sessions die."""
    util = shutil.which('softhsm2-util')
    if not util:
        raise RuntimeError('softhsm2-util is not installed: make setup installs SoftHSM2.')
    subprocess.run([util, '--delete-token', '--token', config.token_label], check=True, capture_output=True, timeout=60)
