"""Sample PDFs built on the fly for the engine's tests and benchmark."""

from __future__ import annotations

import io
import os

from pyhanko.sign.fields import MDPPerm
from reportlab.lib.pagesizes import A4
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen import canvas

from cloudstamp_engine import EmbeddedTimeStamper, ServicePki

pdfmetrics.registerFont(UnicodeCIDFont('HeiseiMin-W3'))


def contract_pdf(title: str = '業務委託契約書 / Service Agreement', pages: int = 1, padding_bytes: int = 0) -> bytes:
    """A small contract; ``padding_bytes`` of incompressible data are embedded
    as an image-like stream to reach a target file size."""
    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=A4, pageCompression=0)
    for page in range(1, pages + 1):
        c.setFont('HeiseiMin-W3', 14)
        c.drawString(72, 770, title)
        c.drawString(72, 740, f'第{page}条 本契約の目的 (Article {page})')
        c.showPage()
    c.save()
    data = buf.getvalue()
    if padding_bytes:
        data = _with_padding(data, padding_bytes)
    return data


def text_pdf(lines: list[str] | tuple[str, ...]) -> bytes:
    """A one-page PDF of ``lines`` (Japanese welcome), one per line."""
    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=A4)
    c.setFont('HeiseiMin-W3', 11)
    for row, line in enumerate(lines):
        c.drawString(56, 780 - 18 * row, line)
    c.showPage()
    c.save()
    return buf.getvalue()


def scanned_pdf(seed: int = 0) -> bytes:
    """A page that is only a picture, as a scanner makes it: no text at all."""
    import random

    from PIL import Image
    from reportlab.lib.utils import ImageReader

    rng = random.Random(seed)
    image = Image.new('L', (200, 280), 255)
    for _ in range(400):
        x, y = rng.randrange(20, 180), rng.randrange(20, 260)
        image.putpixel((x, y), 0)
    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=A4)
    c.drawImage(ImageReader(image), 0, 0, *A4)
    c.showPage()
    c.save()
    return buf.getvalue()


def _with_padding(data: bytes, size: int) -> bytes:
    """Attach an embedded file of random (incompressible) bytes."""
    from pyhanko.pdf_utils import embed
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.pdf_utils.writer import copy_into_new_writer

    writer = copy_into_new_writer(PdfFileReader(io.BytesIO(data)))
    spec = embed.FileSpec(
        file_spec_string='annex.bin',
        embedded_data=embed.EmbeddedFileObject.from_file_data(writer, data=os.urandom(size), compress=False),
    )
    embed.embed_file(writer, spec)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def certified_pdf(data: bytes, permission: MDPPerm, pki: ServicePki) -> bytes:
    """``data`` with a certification signature by ``pki``'s signer that allows
    ``permission``; B-T like ours, so that the result can verify as VALID."""
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import signers

    writer = IncrementalPdfFileWriter(io.BytesIO(data))
    meta = signers.PdfSignatureMetadata(
        field_name='Certification',
        certify=True,
        docmdp_permissions=permission,
    )
    out = signers.sign_pdf(
        writer,
        meta,
        signer=signers.SimpleSigner.load_pkcs12_data(_pkcs12(pki), other_certs=[], passphrase=None),
        timestamper=EmbeddedTimeStamper(pki.tsa()),
    )
    return out.getvalue()


def _pkcs12(pki: ServicePki) -> bytes:
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.serialization import pkcs12

    return pkcs12.serialize_key_and_certificates(
        b'test',
        serialization.load_pem_private_key(pki.signer_key_pem, None),
        x509.load_pem_x509_certificate(pki.signer_cert_pem),
        None,
        serialization.NoEncryption(),
    )


def encrypted_pdf(user_password: str, owner_password: str, permissions: int | None = None) -> bytes:
    """An AES-256 encrypted contract; ``permissions`` are the /P flags."""
    from pyhanko.pdf_utils.crypt import StandardSecurityHandler
    from pyhanko.pdf_utils.crypt.permissions import StandardPermissions
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.pdf_utils.writer import copy_into_new_writer

    writer = copy_into_new_writer(PdfFileReader(io.BytesIO(contract_pdf())))
    kwargs = {}
    if permissions is not None:
        kwargs['perms'] = StandardPermissions(permissions)
    writer._assign_security_handler(StandardSecurityHandler.build_from_pw(owner_password, user_password, **kwargs))
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def object_stream_pdf() -> bytes:
    """One page whose font sits in an (uncompressed) object stream, with a
    cross-reference stream instead of a table."""
    from pyhanko.pdf_utils import generic, writer

    w = writer.PdfFileWriter(stream_xrefs=True)
    objstm = w.prepare_object_stream(compress=False)
    font = w.add_object(
        generic.DictionaryObject(
            {
                generic.NameObject('/Type'): generic.NameObject('/Font'),
                generic.NameObject('/Subtype'): generic.NameObject('/Type1'),
                generic.NameObject('/BaseFont'): generic.NameObject('/Helvetica'),
            }
        ),
        obj_stream=objstm,
    )
    contents = w.add_object(generic.StreamObject(stream_data=b'BT /F1 14 Tf 72 770 Td (Service Agreement) Tj ET'))
    resources = generic.DictionaryObject(
        {
            generic.NameObject('/Font'): generic.DictionaryObject(
                {
                    generic.NameObject('/F1'): font,
                }
            ),
        }
    )
    w.insert_page(writer.PageObject(contents, [0, 0, 595, 842], resources))
    out = io.BytesIO()
    w.write(out)
    return out.getvalue()


def inherited_media_box_pdf(media_box=(100, 100, 695, 942)) -> bytes:
    """One page without a /MediaBox of its own: it inherits the page tree's,
    as many producers write it."""
    from pyhanko.pdf_utils import generic, writer

    w = writer.PdfFileWriter(stream_xrefs=False)
    font = w.add_object(
        generic.DictionaryObject(
            {
                generic.NameObject('/Type'): generic.NameObject('/Font'),
                generic.NameObject('/Subtype'): generic.NameObject('/Type1'),
                generic.NameObject('/BaseFont'): generic.NameObject('/Helvetica'),
            }
        )
    )
    x0, y0 = media_box[:2]
    contents = w.add_object(
        generic.StreamObject(stream_data=f'BT /F1 14 Tf {x0 + 72} {y0 + 700} Td (Inherited box) Tj ET'.encode())
    )
    page = writer.PageObject(
        contents,
        list(media_box),
        generic.DictionaryObject(
            {
                generic.NameObject('/Font'): generic.DictionaryObject(
                    {
                        generic.NameObject('/F1'): font,
                    }
                ),
            }
        ),
    )
    box = page.pop('/MediaBox')
    w.insert_page(page)
    w.root['/Pages'][generic.NameObject('/MediaBox')] = box
    out = io.BytesIO()
    w.write(out)
    return out.getvalue()
