"""Throwaway SoftHSM2 tokens for tests: a real PKCS#11 module, in software.

SoftHSM2 reads its configuration (where tokens live) once, when a process
first loads the module, so every token of a process lives in one temporary
directory made on first use. Missing SoftHSM2 is a failure, not a skip:
``make setup`` installs it.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import tempfile
from pathlib import Path

from cloudstamp_engine import Pkcs11Config

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
    (root / 'tokens').mkdir()
    conf = root / 'softhsm2.conf'
    conf.write_text(f'directories.tokendir = {root / "tokens"}\nobjectstore.backend = file\nlog.level = ERROR\n')
    os.environ['SOFTHSM2_CONF'] = str(conf)
    _token_dir = root


def new_token(key_label: str = 'cloudstamp-signer') -> Pkcs11Config:
    """A fresh, initialised token with a random label and PIN (no key yet)."""
    module = softhsm_module()
    util = shutil.which('softhsm2-util')
    if not util:
        raise RuntimeError('softhsm2-util is not installed: make setup installs SoftHSM2.')
    _configure()
    label = f'cs-{secrets.token_hex(4)}'
    pin = secrets.token_hex(6)
    subprocess.run(
        [util, '--init-token', '--free', '--label', label, '--pin', pin, '--so-pin', secrets.token_hex(6)],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return Pkcs11Config(module_path=module, token_label=label, pin=pin, key_label=key_label)
