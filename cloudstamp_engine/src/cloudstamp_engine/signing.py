"""Apply PAdES signatures as incremental updates.

:class:`DocumentSigner` holds the parsed service key and the time stamper for
its whole life, so each signature costs one CMS build and one RSA operation:
no key re-parsing and no dry run (see :class:`~.config.SigningOptions`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from io import BytesIO

from asn1crypto import tsp
from pyhanko.sign import fields, signers
from pyhanko.sign.signers.pdf_signer import PdfTimeStamper
from pyhanko.sign.timestamps import TimeStamper
from pyhanko.sign.timestamps.common_utils import TimestampRequestError
from pyhanko_certvalidator.registry import SimpleCertificateStore

from .config import SignatureRequest, SigningOptions
from .errors import HsmError, SigningError, TimestampError
from .ltv import ValidationMaterial, async_extend_to_lta, async_renew_archive_timestamp
from .pki import SigningIdentity
from .preflight import open_reader
from .revision import add_page_note, count_signature_fields, open_update
from .seal import render_seal_pdf, seal_box, seal_field_spec, seal_stamp_style, seal_text

SHA256_LENGTH = 32
FIELD_SEPARATOR = '-'


class CachedKeySigner(signers.Signer):
    """A pyHanko signer whose private key was parsed once, up front."""

    def __init__(self, identity: SigningIdentity):
        super().__init__(
            signing_cert=identity.certificate,
            cert_registry=SimpleCertificateStore.from_certs(identity.chain),
            embed_roots=True,
        )
        self._identity = identity

    async def async_sign_raw(self, data: bytes, digest_algorithm: str, dry_run: bool = False) -> bytes:
        return self._identity.sign(data, digest_algorithm)


def signature_field_name(index: int, action: str, prefix: str) -> str:
    """``CloudStamp-003-agree``: ordered, and names the action."""
    return f'{prefix}{FIELD_SEPARATOR}{index:03d}{FIELD_SEPARATOR}{action}'


def describe(request: SignatureRequest, when: datetime) -> str:
    """The /Reason text: action in both languages, actor and UTC time."""
    stamp = when.astimezone(UTC).strftime('%Y-%m-%d %H:%M:%S UTC')
    return f'{request.action.label_ja} ({request.action.value}) {request.actor_email} {stamp}'


class DocumentSigner:
    """Signs PDFs with one identity and one time stamper, reused across calls.

    ``sign`` never modifies its input and either returns the signed file or
    raises :class:`SigningError` (or :class:`TimestampError`), whatever the
    input: the caller turns that into a message, anything else would be a 500.
    """

    def __init__(
        self,
        identity: SigningIdentity | signers.Signer,
        timestamper: TimeStamper,
        options: SigningOptions = SigningOptions(),
    ):
        """``identity``: a key held in memory, or a ready pyHanko signer
        (see :meth:`with_signer`)."""
        self.identity = identity
        self.timestamper = timestamper
        self.options = options
        self._signer = identity if isinstance(identity, signers.Signer) else CachedKeySigner(identity)

    @classmethod
    def with_signer(
        cls,
        signer: signers.Signer,
        timestamper: TimeStamper,
        options: SigningOptions = SigningOptions(),
    ) -> DocumentSigner:
        """Sign through a ready pyHanko signer: a key in a PKCS#11 token
        (:func:`.hsm.open_token_signer`). Whoever opened the signer closes
        it; a signer whose token is gone fails each signature with a
        :class:`SigningError`."""
        return cls(signer, timestamper, options)

    def sign(self, data: bytes, request: SignatureRequest) -> bytes:
        _refuse_running_loop(SigningError, 'DocumentSigner.sign', 'async_sign_into')
        output = BytesIO()
        # The coroutine writes into ``output`` rather than returning the
        # bytes: asyncio takes repr() of a finished task's result, which
        # costs tens of milliseconds for a 4 MB file.
        asyncio.run(self.async_sign_into(data, request, output))
        return output.getvalue()

    async def async_sign_into(self, data: bytes, request: SignatureRequest, output: BytesIO) -> None:
        """Write the signed file to ``output``; after an error, discard
        whatever ``output`` holds."""
        with _engine_errors('Signing'):
            await self._sign_into(data, request, output)

    async def _sign_into(self, data: bytes, request: SignatureRequest, output: BytesIO) -> None:
        reader = open_reader(data)
        index = count_signature_fields(reader) + 1
        field_name = signature_field_name(index, request.action.value, self.options.field_name_prefix)
        # The seal is checked and drawn before anything is written.
        seal_options = _seal_options(reader, request, field_name)
        writer = open_update(reader)
        if request.page_note:
            add_page_note(writer, request.page_note)
        now = datetime.now(UTC)
        metadata = signers.PdfSignatureMetadata(
            field_name=field_name,
            md_algorithm='sha256',
            subfilter=fields.SigSeedSubFilter.PADES,
            name=_actor_label(request),
            reason=describe(request, now),
            contact_info=request.actor_email,
            location=request.location or None,
        )
        pdf_signer = signers.PdfSigner(metadata, signer=self._signer, timestamper=self.timestamper, **seal_options)
        await pdf_signer.async_sign_pdf(
            writer,
            bytes_reserved=self.options.reserved_bytes,
            output=output,
        )

    def timestamp_document(self, data: bytes) -> bytes:
        """``data`` with an RFC 3161 document timestamp (PAdES DTS) appended
        as an incremental update: proof that the file existed unchanged at
        that time, without a signature of ours over someone else's document."""
        _refuse_running_loop(SigningError, 'DocumentSigner.timestamp_document', 'async_timestamp_document_into')
        output = BytesIO()
        asyncio.run(self.async_timestamp_document_into(data, output))
        return output.getvalue()

    async def async_timestamp_document_into(self, data: bytes, output: BytesIO) -> None:
        with _engine_errors('Timestamping'):
            reader = open_reader(data)
            field_name = signature_field_name(
                count_signature_fields(reader) + 1, 'timestamp', self.options.field_name_prefix
            )
            # A reserved size spares pyHanko a trial token from the TSA.
            await PdfTimeStamper(self.timestamper, field_name=field_name).async_timestamp_pdf(
                open_update(reader), 'sha256', bytes_reserved=self.options.reserved_bytes, output=output
            )

    def extend_to_lta(self, data: bytes, material: ValidationMaterial) -> bytes:
        """``data`` (B-T signatures) made PAdES B-LTA; see :mod:`.ltv`."""
        _refuse_running_loop(SigningError, 'DocumentSigner.extend_to_lta', 'ltv.async_extend_to_lta')
        return asyncio.run(self._lta_step(async_extend_to_lta, data, material))

    def renew_archive_timestamp(self, data: bytes, material: ValidationMaterial) -> bytes:
        """A fresh archive timestamp over a B-LTA file; see :mod:`.ltv`."""
        _refuse_running_loop(
            SigningError, 'DocumentSigner.renew_archive_timestamp', 'ltv.async_renew_archive_timestamp'
        )
        return asyncio.run(self._lta_step(async_renew_archive_timestamp, data, material))

    async def _lta_step(self, step, data: bytes, material: ValidationMaterial) -> bytes:
        with _engine_errors('Long-term validation'):
            index = count_signature_fields(open_reader(data)) + 1
            field_name = signature_field_name(index, 'archive', self.options.field_name_prefix)
            return await step(data, material, self.timestamper, field_name, self.options.reserved_bytes)

    def timestamp_digest(self, digest: bytes) -> bytes:
        """A TimeStampToken (DER ContentInfo) over ``digest``, a SHA-256 value,
        from this signer's time stamper: one request, for anchoring data that
        is not a PDF (the head of the audit chain)."""
        _refuse_running_loop(
            TimestampError,
            'DocumentSigner.timestamp_digest',
            'async_timestamp_digest',
        )
        return asyncio.run(self.async_timestamp_digest(digest))

    async def async_timestamp_digest(self, digest: bytes) -> bytes:
        if not isinstance(digest, bytes) or len(digest) != SHA256_LENGTH:
            raise TimestampError('The digest must be 32 bytes of SHA-256.')
        try:
            token = await self.timestamper.async_timestamp(digest, 'sha256')
            # pyHanko checks the nonce, not the imprint: a TSA that stamps
            # something else must not go unnoticed.
            tst_info = token['content']['encap_content_info']['content'].parsed
            if not isinstance(tst_info, tsp.TSTInfo) or message_imprint(tst_info) != ('sha256', digest):
                raise TimestampError('The time-stamping authority stamped another digest.')
            return token.dump()
        except TimestampError:
            raise
        except MemoryError:
            raise
        except Exception as exc:  # noqa: BLE001 - network, TSA and parse errors
            raise TimestampError(f'Time stamping failed: {exc!r}') from exc


def message_imprint(tst_info: tsp.TSTInfo) -> tuple[str, bytes]:
    """(hash algorithm, digest) that a timestamp token vouches for."""
    imprint = tst_info['message_imprint']
    return (imprint['hash_algorithm']['algorithm'].native, imprint['hashed_message'].native)


@contextmanager
def _engine_errors(what: str) -> Iterator[None]:
    """Whatever pyHanko raises on bad input or a failing TSA, as the
    engine's own errors; MemoryError is left alone."""
    try:
        yield
    except SigningError:
        raise
    except HsmError as exc:  # the token failed (see hsm.TokenSigner)
        raise SigningError(f'{what} failed: {exc}') from exc
    except TimestampRequestError as exc:
        raise TimestampError(f'Time stamping failed: {exc}') from exc
    except MemoryError:
        raise
    except Exception as exc:  # noqa: BLE001 - pyHanko raises many types on bad input
        raise SigningError(f'{what} failed: {exc!r}') from exc


def _refuse_running_loop(error: type[SigningError], name: str, async_name: str) -> None:
    # asyncio.run cannot nest; say so instead of failing inside pyHanko.
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return
    raise error(f'{name} cannot run inside an event loop; await {async_name} instead.')


def _seal_options(reader, request: SignatureRequest, field_name: str) -> dict:
    """PdfSigner's arguments for a visible signature whose appearance is
    the request's seal, in the signature's own revision; none without a
    seal (an invisible signature). Raises SealError on a bad seal."""
    seal = request.seal
    if seal is None:
        return {}
    box, rotate = seal_box(reader, seal.placement)
    appearance = render_seal_pdf(seal_text(seal.text), seal.shape, seal.placement.size, rotate=rotate)
    return {
        'stamp_style': seal_stamp_style(appearance),
        'new_field_spec': seal_field_spec(field_name, seal.placement.page, box),
    }


def _actor_label(request: SignatureRequest) -> str:
    if request.actor_name:
        return f'{request.actor_name} <{request.actor_email}>'
    return request.actor_email
