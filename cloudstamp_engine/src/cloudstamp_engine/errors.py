"""Exception hierarchy of the CloudStamp signing engine.

Every error the engine raises derives from :class:`CloudStampEngineError`, so
callers can tell engine failures apart from bugs. A refusal carries its reason
as a code with its values, for callers to word in their users' language; its
own message is English.
"""

from __future__ import annotations

import enum

from .config import MB


class CloudStampEngineError(Exception):
    """Base class of every error raised by the engine."""


class RefusalCode(str, enum.Enum):
    """Why an uploaded file cannot be signed."""

    NOT_PDF = 'not_pdf'
    DAMAGED = 'damaged'
    ENCRYPTED = 'encrypted'
    PERMISSIONS = 'permissions'
    CERTIFIED_NO_CHANGES = 'certified_no_changes'
    FILE_TOO_LARGE = 'file_too_large'
    SEND_TOO_LARGE = 'send_too_large'
    EMPTY = 'empty'


# English, for logs and callers without wording of their own; the Odoo
# addon words refusals for people itself, in their language (its ja.po).
_REFUSAL_MESSAGES: dict[RefusalCode, str] = {
    RefusalCode.NOT_PDF: '"{name}" is not a PDF file. Only PDF files can be sent.',
    RefusalCode.EMPTY: '"{name}" is empty.',
    RefusalCode.DAMAGED: '"{name}" is damaged or cannot be read as a PDF. Please save it again as PDF and retry.',
    RefusalCode.ENCRYPTED: '"{name}" is protected by a password. Please remove the password protection and retry.',
    RefusalCode.PERMISSIONS: (
        'An error occurred while sending "{name}". Please check that the PDF security settings do not forbid signing.'
    ),
    RefusalCode.CERTIFIED_NO_CHANGES: (
        '"{name}" carries a certification signature that allows no further changes, so it cannot be signed.'
    ),
    RefusalCode.FILE_TOO_LARGE: '"{name}" is larger than {limit_mb} MB, the limit per file.',
    RefusalCode.SEND_TOO_LARGE: 'The files together are larger than {limit_mb} MB, the limit per send.',
}


class PreflightRefusal(CloudStampEngineError):
    """An uploaded file was refused; nothing about it may be stored."""

    def __init__(self, code: RefusalCode, filename: str = '', limit_bytes: int = 0):
        self.code = code
        self.filename = filename
        self.limit_bytes = limit_bytes
        super().__init__(_REFUSAL_MESSAGES[code].format(name=filename, limit_mb=self.limit_mb))

    @property
    def limit_mb(self) -> str:
        """The limit in MB as people write it: 4, 0.5."""
        return f'{self.limit_bytes / MB:g}'


class KeyMaterialError(CloudStampEngineError):
    """A key or certificate could not be loaded or does not fit its use."""


class SigningError(CloudStampEngineError):
    """A signature could not be applied; the input is left unchanged."""


class SealError(SigningError):
    """A seal stamp cannot be drawn or placed (no text left, page or box out
    of range); nothing was signed."""


class TimestampError(SigningError):
    """The time-stamping authority did not deliver a usable token."""


class RevocationFetchError(SigningError):
    """Revocation data (a CRL) that long-term validation needs could not be
    fetched: the file is left as it was, to be completed later."""


class HsmError(KeyMaterialError):
    """A PKCS#11 token could not be used: module, token, PIN or key. The
    message never contains the PIN."""
