"""Exception hierarchy of the CloudStamp signing engine.

Every error the engine raises derives from :class:`CloudStampEngineError`, so
callers can tell engine failures apart from bugs. Errors meant for people carry
their message in both Japanese and English; the caller picks the language.
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


# {code: (english, japanese)}; {name} and {limit_mb} are filled in.
_REFUSAL_MESSAGES: dict[RefusalCode, tuple[str, str]] = {
    RefusalCode.NOT_PDF: (
        '"{name}" is not a PDF file. Only PDF files can be sent.',
        '「{name}」はPDFファイルではありません。送信できるのはPDFファイルのみです。',
    ),
    RefusalCode.EMPTY: (
        '"{name}" is empty.',
        '「{name}」は空のファイルです。',
    ),
    RefusalCode.DAMAGED: (
        '"{name}" is damaged or cannot be read as a PDF. '
        'Please save it again as PDF and retry.',
        '「{name}」は破損しているか、PDFとして読み込めません。'
        'PDFとして保存し直してから再度お試しください。',
    ),
    RefusalCode.ENCRYPTED: (
        '"{name}" is protected by a password. Please remove the password '
        'protection and retry.',
        '「{name}」はパスワードで保護されています。'
        'パスワード保護を解除してから再度お試しください。',
    ),
    RefusalCode.PERMISSIONS: (
        'An error occurred while sending "{name}". Please check that the PDF '
        'security settings do not forbid signing.',
        '「{name}」の送信中にエラーが発生しました。'
        'PDFのセキュリティ設定により署名が禁止されていないかご確認ください。',
    ),
    RefusalCode.CERTIFIED_NO_CHANGES: (
        '"{name}" carries a certification signature that allows no further '
        'changes, so it cannot be signed.',
        '「{name}」には変更を一切許可しない証明署名があるため、署名できません。',
    ),
    RefusalCode.FILE_TOO_LARGE: (
        '"{name}" is larger than {limit_mb} MB, the limit per file.',
        '「{name}」は1ファイルあたりの上限({limit_mb}MB)を超えています。',
    ),
    RefusalCode.SEND_TOO_LARGE: (
        'The files together are larger than {limit_mb} MB, the limit per send.',
        '同時に送るファイルの合計が上限({limit_mb}MB)を超えています。',
    ),
}


class PreflightRefusal(CloudStampEngineError):
    """An uploaded file was refused; nothing about it may be stored."""

    def __init__(
        self, code: RefusalCode, filename: str = '', limit_bytes: int = 0
    ):
        self.code = code
        self.filename = filename
        self.limit_bytes = limit_bytes
        super().__init__(self.message('en'))

    def message(self, lang: str = 'en') -> str:
        """The refusal in ``lang`` (``ja…`` gives Japanese, anything else
        English)."""
        english, japanese = _REFUSAL_MESSAGES[self.code]
        template = japanese if lang.lower().startswith('ja') else english
        limit_mb = f'{self.limit_bytes / MB:g}'
        return template.format(name=self.filename, limit_mb=limit_mb)


class KeyMaterialError(CloudStampEngineError):
    """A key or certificate could not be loaded or does not fit its use."""


class SigningError(CloudStampEngineError):
    """A signature could not be applied; the input is left unchanged."""


class TimestampError(SigningError):
    """The time-stamping authority did not deliver a usable token."""
