"""Apply PAdES signatures as incremental updates.

:class:`DocumentSigner` holds the parsed service key and the time stamper for
its whole life, so each signature costs one CMS build and one RSA operation:
no key re-parsing and no dry run (see :class:`~.config.SigningOptions`).
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timezone
from io import BytesIO

from cryptography.hazmat.primitives.asymmetric import ec, padding
from pyhanko.pdf_utils import generic, misc
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import fields, signers
from pyhanko.sign.general import SigningError as PyHankoSigningError
from pyhanko.sign.general import get_pyca_cryptography_hash
from pyhanko.sign.timestamps import TimeStamper
from pyhanko.sign.timestamps.common_utils import TimestampRequestError
from pyhanko_certvalidator.registry import SimpleCertificateStore

from .config import SignatureRequest, SigningOptions
from .errors import SigningError, TimestampError
from .pki import SigningIdentity
from .preflight import open_reader

FIELD_SEPARATOR = '-'


class CachedKeySigner(signers.Signer):
    """A pyHanko signer whose private key was parsed once, up front."""

    def __init__(self, identity: SigningIdentity):
        super().__init__(
            signing_cert=identity.certificate,
            cert_registry=SimpleCertificateStore.from_certs(identity.chain),
            embed_roots=True,
        )
        self._private_key = identity.private_key

    async def async_sign_raw(
        self, data: bytes, digest_algorithm: str, dry_run: bool = False
    ) -> bytes:
        hash_algo = get_pyca_cryptography_hash(digest_algorithm)
        if isinstance(self._private_key, ec.EllipticCurvePrivateKey):
            return self._private_key.sign(data, ec.ECDSA(hash_algo))
        return self._private_key.sign(data, padding.PKCS1v15(), hash_algo)


def signature_field_name(index: int, action: str, prefix: str) -> str:
    """``CloudStamp-003-agree``: ordered, and names the action."""
    return f'{prefix}{FIELD_SEPARATOR}{index:03d}{FIELD_SEPARATOR}{action}'


def describe(request: SignatureRequest, when: datetime) -> str:
    """The /Reason text: action in both languages, actor and UTC time."""
    stamp = when.astimezone(timezone.utc).strftime('%Y-%m-%d %H:%M:%S UTC')
    return (
        f'{request.action.label_ja} ({request.action.value}) '
        f'{request.actor_email} {stamp}'
    )


class DocumentSigner:
    """Signs PDFs with one identity and one time stamper, reused across calls.

    ``sign`` never modifies its input and either returns the signed file or
    raises :class:`SigningError` (or :class:`TimestampError`).
    """

    def __init__(
        self,
        identity: SigningIdentity,
        timestamper: TimeStamper,
        options: SigningOptions = SigningOptions(),
    ):
        self.identity = identity
        self.timestamper = timestamper
        self.options = options
        self._signer = CachedKeySigner(identity)

    def sign(self, data: bytes, request: SignatureRequest) -> bytes:
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            output = BytesIO()
            # The coroutine writes into ``output`` rather than returning the
            # bytes: asyncio takes repr() of a finished task's result, which
            # costs tens of milliseconds for a 4 MB file.
            asyncio.run(self.async_sign_into(data, request, output))
            return output.getvalue()
        raise SigningError(
            'DocumentSigner.sign cannot run inside an event loop; '
            'await async_sign_into instead.'
        )

    async def async_sign_into(
        self, data: bytes, request: SignatureRequest, output: BytesIO
    ) -> None:
        reader = open_reader(data)
        writer = IncrementalPdfFileWriter.from_reader(reader)
        if reader.encrypted:
            # Preflight admitted it: an empty user password opens it.
            writer.encrypt('')
        if request.page_note:
            _add_page_note(writer, request.page_note)
        # Counting fields is cheap; reader.embedded_signatures would parse
        # every earlier CMS container, which grows with each signature.
        index = sum(1 for _field in fields.enumerate_sig_fields(reader)) + 1
        now = datetime.now(timezone.utc)
        metadata = signers.PdfSignatureMetadata(
            field_name=signature_field_name(
                index, request.action.value, self.options.field_name_prefix
            ),
            md_algorithm='sha256',
            subfilter=fields.SigSeedSubFilter.PADES,
            name=_actor_label(request),
            reason=describe(request, now),
            contact_info=request.actor_email,
            location=request.location or None,
        )
        pdf_signer = signers.PdfSigner(
            metadata, signer=self._signer, timestamper=self.timestamper
        )
        try:
            await pdf_signer.async_sign_pdf(
                writer,
                bytes_reserved=self.options.reserved_bytes,
                output=output,
            )
        except TimestampRequestError as exc:
            raise TimestampError(f'Time stamping failed: {exc}') from exc
        except (PyHankoSigningError, misc.PdfError, ValueError,
                TypeError, KeyError) as exc:
            raise SigningError(f'Signing failed: {exc}') from exc


def _pdf_literal(text: str) -> bytes:
    escaped = text.replace('\\', '\\\\').replace('(', '\\(').replace(')', '\\)')
    return b'(' + escaped.encode('ascii', 'replace') + b')'


def _media_box(page) -> list[float]:
    node = page
    while node is not None:
        if '/MediaBox' in node:
            return [float(v) for v in node['/MediaBox']]
        node = node.get('/Parent')
    return [0.0, 0.0, 595.0, 842.0]


def _add_page_note(writer: IncrementalPdfFileWriter, text: str) -> None:
    """Print ``text`` in 6 pt Helvetica at the bottom left of page 1.

    The page's own content is wrapped in q/Q first, so a graphics state it
    leaves behind cannot move or hide the note.
    """
    page_ref, _resources = writer.find_page_for_modification(0)
    x0, y0 = _media_box(page_ref.get_object())[:2]
    font = generic.DictionaryObject({
        generic.NameObject('/Type'): generic.NameObject('/Font'),
        generic.NameObject('/Subtype'): generic.NameObject('/Type1'),
        generic.NameObject('/BaseFont'): generic.NameObject('/Helvetica'),
        generic.NameObject('/Encoding'): generic.NameObject('/WinAnsiEncoding'),
    })
    resources = generic.DictionaryObject({
        generic.NameObject('/Font'): generic.DictionaryObject({
            generic.NameObject('/CSNote'): writer.add_object(font),
        }),
    })
    save = writer.add_object(generic.StreamObject(stream_data=b'q\n'))
    note = (
        b'Q q BT /CSNote 6 Tf 0.35 g '
        + f'{x0 + 14:.2f} {y0 + 10:.2f} Td '.encode()
        + _pdf_literal(text) + b' Tj ET Q\n'
    )
    writer.add_stream_to_page(0, save, prepend=True)
    writer.add_stream_to_page(
        0, writer.add_object(generic.StreamObject(stream_data=note)),
        resources=resources,
    )


def _actor_label(request: SignatureRequest) -> str:
    if request.actor_name:
        return f'{request.actor_name} <{request.actor_email}>'
    return request.actor_email
