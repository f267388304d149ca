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


class SealShape(str, enum.Enum):
    """Outline of a seal stamp (印影)."""

    ROUND = 'round'
    SQUARE = 'square'


@dataclass(frozen=True)
class SealPlacement:
    """Where a seal goes: its centre, in the page's unrotated PDF user space
    (what pdf.js ``viewport.convertToPdfPoint`` returns), and its size."""

    page: int  # 0-based page index
    x: float
    y: float
    size: float = 54.0  # outer diameter or side in points (about 19 mm)


@dataclass(frozen=True)
class SealSpec:
    """A seal stamp drawn as the visible appearance of a signature."""

    text: str  # 1-10 characters, see seal.seal_text
    placement: SealPlacement
    shape: SealShape = SealShape.ROUND


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
    # A seal makes the signature visible: the seal is its appearance, in the
    # same revision. None: an invisible signature.
    seal: SealSpec | None = None


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
