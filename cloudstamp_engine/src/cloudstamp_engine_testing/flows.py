"""Signing rounds the tests repeat: a sender and two recipients."""

from __future__ import annotations

from cloudstamp_engine import DocumentSigner, SignatureAction, SignatureRequest

from .pdf_samples import contract_pdf

THREE_PARTIES = (
    ('sales@example.jp', SignatureAction.SEND),
    ('buyer@example.jp', SignatureAction.AGREE),
    ('boss@example.jp', SignatureAction.AGREE),
)


def sign_round(signer: DocumentSigner, data: bytes | None = None, parties=THREE_PARTIES) -> bytes:
    """``data`` (default: a sample contract) signed by each party in turn."""
    data = data if data is not None else contract_pdf()
    for email, action in parties:
        data = signer.sign(data, SignatureRequest(email, action))
    return data
