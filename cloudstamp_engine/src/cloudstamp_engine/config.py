"""Frozen configuration objects of the signing engine."""

from __future__ import annotations

import enum
from dataclasses import dataclass

# The one definition of a megabyte for the engine, the addon, tests and benchmarks.
MB = 1024 * 1024


class SignatureAction(str, enum.Enum):
    """What the actor did; recorded in every signature's reason."""

    SEND = 'send'
    FORWARD = 'forward'
    AGREE = 'agree'
    COMPLETE = 'complete'

    @property
    def label_ja(self) -> str:
        return _ACTION_LABELS_JA[self]


_ACTION_LABELS_JA = {
    SignatureAction.SEND: '送信',
    SignatureAction.FORWARD: '転送',
    SignatureAction.AGREE: '合意',
    SignatureAction.COMPLETE: '締結完了',
}


@dataclass(frozen=True)
class PreflightLimits:
    """Size limits of an upload (the product promises 4 MB / 8 MB)."""

    max_file_bytes: int = 4 * MB
    max_send_bytes: int = 8 * MB


@dataclass(frozen=True)
class SignatureRequest:
    """Who did what, and when, for one signature."""

    actor_email: str
    action: SignatureAction
    actor_name: str = ''
    location: str = ''
    # Printed small at the foot of page 1, in the same revision as this
    # signature (the document ID on send). ASCII only.
    page_note: str = ''


@dataclass(frozen=True)
class HttpTsaConfig:
    """An external RFC 3161 time-stamping authority reached over HTTP(S)."""

    url: str
    username: str = ''
    password: str = ''
    timeout_seconds: float = 10.0


@dataclass(frozen=True)
class SigningOptions:
    """Knobs of :class:`~.signing.DocumentSigner` that rarely change."""

    # Space reserved for the CMS container, in bytes. A fixed reserve spares
    # pyHanko its dry run, which would build the container (and ask the TSA)
    # twice per signature.
    reserved_bytes: int = 16 * 1024
    field_name_prefix: str = 'CloudStamp'
