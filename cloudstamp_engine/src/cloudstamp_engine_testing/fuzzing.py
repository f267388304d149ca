"""Mutation fuzzing of ``preflight()`` and ``DocumentSigner.sign()``.

Security review finding 15: malformed uploads must end in a
:class:`PreflightRefusal` or, for a file preflight accepted, in a
:class:`SigningError`, never in a raw exception (which the portal turns
into a 500). This module mutates small sample PDFs and reports every other
outcome. ``bench/fuzz_engine.py`` runs it for minutes and saves what it
finds; ``test_fuzz_corpus.py`` runs a short fixed-seed round.
"""

from __future__ import annotations

import hashlib
import random
import re
import signal
import time
import traceback
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import cloudstamp_engine
from cloudstamp_engine import (
    DocumentSigner,
    EmbeddedTimeStamper,
    PreflightRefusal,
    SignatureAction,
    SignatureRequest,
    SigningError,
    generate_service_pki,
    preflight,
)

from .pdf_samples import contract_pdf, encrypted_pdf, object_stream_pdf

# Frames under it are the engine's: a finding names the innermost one.
ENGINE_DIR = Path(cloudstamp_engine.__file__).resolve().parent
REQUEST = SignatureRequest('fuzz@example.jp', SignatureAction.SEND)
NOTE_REQUEST = SignatureRequest('fuzz@example.jp', SignatureAction.SEND, page_note='CloudStamp ID: CS-FUZZ')


class CaseTimeout(BaseException):
    """One input ran too long. A BaseException, so no ``except Exception``
    in the code under test can swallow it."""


@dataclass(frozen=True)
class Finding:
    """An input that made the engine raise what it must not."""

    stage: str  # 'preflight' or 'sign'
    exception: str  # qualified name of the exception type, or 'Hang'
    engine_where: str  # innermost engine frame: file:function:line
    deepest_where: str  # innermost frame of all: module:function
    message: str
    mutation: str
    data: bytes = field(repr=False)

    @property
    def key(self) -> tuple[str, str, str, str]:
        """Findings with the same key are the same bug, as far as we can tell."""
        return (self.stage, self.exception, self.engine_where, self.deepest_where)

    @property
    def filename(self) -> str:
        digest = hashlib.sha256(self.data).hexdigest()[:12]
        short = self.exception.rsplit('.', 1)[-1]
        return f'{self.stage}-{short}-{digest}.pdf'


@dataclass
class FuzzStats:
    cases: int = 0
    refused: int = 0
    signed: int = 0
    # accepted by preflight, then refused by sign with a SigningError: allowed,
    # but preflight's trial run is meant to make it rare
    unsignable: int = 0
    findings: list[Finding] = field(default_factory=list)
    seconds: float = 0.0

    def distinct(self) -> dict[tuple[str, str, str, str], int]:
        counts: dict[tuple[str, str, str, str], int] = {}
        for finding in self.findings:
            counts[finding.key] = counts.get(finding.key, 0) + 1
        return counts


# ---------------------------------------------------------------- seeds


def seed_documents(signer: DocumentSigner) -> list[tuple[str, bytes]]:
    """Small, valid inputs that preflight accepts and sign signs."""
    signed = signer.sign(contract_pdf(), NOTE_REQUEST)
    return [
        ('contract', contract_pdf()),
        ('contract-3-pages', contract_pdf(pages=3)),
        ('signed-once', signed),
        ('owner-password', encrypted_pdf('', 'owner')),
        ('object-stream', object_stream_pdf()),
    ]


# ------------------------------------------------------------- mutation

_NUMBER = re.compile(rb'(?<![\w.#/])[-+]?(?:\d+\.?\d*|\.\d+)(?![\w.])')
_NAME = re.compile(rb'/[A-Za-z][A-Za-z0-9]*')
_REF = re.compile(rb'\b(\d+) (\d+) R\b')
_KEYWORDS = (
    b'obj',
    b'endobj',
    b'xref',
    b'trailer',
    b'startxref',
    b'stream',
    b'endstream',
    b'%%EOF',
    b' R',
    b'null',
    b'true',
)
_DELIMITERS = (b'<<', b'>>', b'[', b']', b'(', b')', b'<', b'>', b'/')
_NUMBERS = (
    b'0',
    b'-0',
    b'-1',
    b'1',
    b'2147483648',
    b'-2147483649',
    b'4294967297',
    b'9' * 30,
    b'1' + b'0' * 400,
    b'-' + b'9' * 40,
    b'0.5',
    b'-3.75',
    b'1e308',
    b'1.2.3',
    b'--1',
    b'+-2',
    b'.',
    b'-.',
    b'-',
    b'+',
    b'0.' + b'0' * 60 + b'1',
    b'NaN',
    b'Infinity',
    b'99999999999.9',
    b'007',
    b'1 0',
    b'',
)
_KEYS = (
    b'/Pages',
    b'/Kids',
    b'/Parent',
    b'/Count',
    b'/Type',
    b'/Page',
    b'/Catalog',
    b'/MediaBox',
    b'/Contents',
    b'/Resources',
    b'/AcroForm',
    b'/Fields',
    b'/Root',
    b'/Size',
    b'/Prev',
    b'/Length',
    b'/Filter',
    b'/Encrypt',
    b'/ObjStm',
    b'/XRef',
    b'/Index',
    b'/W',
    b'/N',
    b'/First',
    b'/Annots',
    b'/FT',
    b'/Sig',
    b'/V',
    b'/T',
    b'/ByteRange',
    b'/Perms',
    b'/DocMDP',
    b'/Font',
    b'/Info',
    b'/ID',
    b'/Version',
    b'/Names',
    b'/Widget',
    b'/Subtype',
    b'/Rect',
    b'/P',
    b'/Extends',
    b'/DecodeParms',
)


class Mutator:
    """Stacks one to four random edits on a seed."""

    def __init__(self, rng: random.Random, seeds: Sequence[tuple[str, bytes]]):
        self.rng = rng
        self.seeds = list(seeds)
        self.operators: list[Callable[[bytes], tuple[bytes, str]]] = [
            self.flip_bytes,
            self.flip_bytes,
            self.truncate,
            self.cut_chunk,
            self.numbers,
            self.numbers,
            self.numbers,
            self.keywords,
            self.keywords,
            self.swap_keys,
            self.replace_key,
            self.delimiters,
            self.references,
            self.splice,
            self.append_section,
        ]

    def mutate(self) -> tuple[bytes, str]:
        name, data = self.rng.choice(self.seeds)
        steps = [name]
        for _ in range(self.rng.choice((1, 1, 1, 2, 2, 3, 4))):
            if not data:
                break
            data, step = self.rng.choice(self.operators)(data)
            steps.append(step)
        return data, ' | '.join(steps)

    # Each operator returns the new data and a short description.

    def _span(self, data: bytes) -> int:
        return self.rng.randrange(len(data))

    def flip_bytes(self, data):
        buf = bytearray(data)
        count = self.rng.choice((1, 1, 2, 4, 16))
        for _ in range(count):
            i = self._span(buf)
            if self.rng.random() < 0.5:
                buf[i] ^= 1 << self.rng.randrange(8)
            else:
                buf[i] = self.rng.randrange(256)
        return bytes(buf), f'flip {count}'

    def truncate(self, data):
        at = self._span(data)
        return data[:at], f'truncate at {at}'

    def cut_chunk(self, data):
        start = self._span(data)
        end = min(len(data), start + self.rng.choice((1, 8, 64, 512)))
        return data[:start] + data[end:], f'cut {start}:{end}'

    def _replace_match(self, data, pattern, replacement):
        matches = list(pattern.finditer(data))
        if not matches:
            return data, None
        m = self.rng.choice(matches)
        new = replacement(m) if callable(replacement) else replacement
        return data[: m.start()] + new + data[m.end() :], m.group(0)

    def numbers(self, data):
        def pick(m):
            if self.rng.random() < 0.3:
                try:
                    value = int(m.group(0))
                except ValueError:
                    return self.rng.choice(_NUMBERS)
                return str(value + self.rng.choice((-1, 1, -value - 1, value))).encode()
            return self.rng.choice(_NUMBERS)

        new, old = self._replace_match(data, _NUMBER, pick)
        return new, f'number {old!r}'

    def keywords(self, data):
        word = self.rng.choice(_KEYWORDS)
        positions = [m.start() for m in re.finditer(re.escape(word), data)]
        if not positions:
            return data, f'keyword {word!r} absent'
        at = self.rng.choice(positions)
        how = self.rng.choice(('delete', 'double', 'misspell', 'other'))
        if how == 'delete':
            new = b''
        elif how == 'double':
            new = word + b' ' + word
        elif how == 'misspell':
            i = self.rng.randrange(len(word))
            new = word[:i] + bytes([self.rng.randrange(33, 127)]) + word[i + 1 :]
        else:
            new = self.rng.choice(_KEYWORDS)
        return data[:at] + new + data[at + len(word) :], f'{how} {word!r}'

    def swap_keys(self, data):
        matches = list(_NAME.finditer(data))
        if len(matches) < 2:
            return data, 'swap: no names'
        a, b = sorted(self.rng.sample(matches, 2), key=lambda m: m.start())
        swapped = data[: a.start()] + b.group(0) + data[a.end() : b.start()] + a.group(0) + data[b.end() :]
        return swapped, f'swap {a.group(0)!r} {b.group(0)!r}'

    def replace_key(self, data):
        new, old = self._replace_match(data, _NAME, self.rng.choice(_KEYS))
        return new, f'rename {old!r}'

    def delimiters(self, data):
        token = self.rng.choice(_DELIMITERS)
        positions = [m.start() for m in re.finditer(re.escape(token), data)]
        if not positions:
            return data, f'delimiter {token!r} absent'
        at = self.rng.choice(positions)
        new = self.rng.choice((b'', token * 2, self.rng.choice(_DELIMITERS)))
        return data[:at] + new + data[at + len(token) :], f'delimiter {token!r}->{new!r}'

    def references(self, data):
        def retarget(m):
            idnum = self.rng.choice((0, 1, 2, 3, 4, 5, 7, 40, 65535, 2**31, 10**20))
            gen = self.rng.choice((b'0', b'0', b'1', b'65536', b'-1'))
            return str(idnum).encode() + b' ' + gen + b' R'

        new, old = self._replace_match(data, _REF, retarget)
        return new, f'reference {old!r}'

    def splice(self, data):
        _name, other = self.rng.choice(self.seeds)
        start = self.rng.randrange(len(other))
        chunk = other[start : start + self.rng.choice((16, 128, 1024))]
        at = self._span(data)
        if self.rng.random() < 0.5:
            return data[:at] + chunk + data[at:], f'insert {len(chunk)} at {at}'
        return data[:at] + chunk + data[at + len(chunk) :], f'overwrite {len(chunk)} at {at}'

    def append_section(self, data):
        """A bogus incremental update: an object, an xref and a trailer whose
        numbers are taken from the file or invented."""
        size = self.rng.choice((b'1', b'9', b'100', b'-3', b'99999999999'))
        prev = self.rng.choice((b'0', b'9', b'-1', str(len(data) // 2).encode(), b'1.5'))
        root = self.rng.choice((b'5 0 R', b'1 0 R', b'99 0 R', b'(x)', b'<< >>'))
        section = (
            b'\n9 0 obj\n<< /Type /Pages /Kids [9 0 R] /Count 1 >>\nendobj\n'
            b'xref\n0 1\n0000000000 65535 f \n9 1\n0000000000 00000 n \n'
            b'trailer\n<< /Size '
            + size
            + b' /Root '
            + root
            + b' /Prev '
            + prev
            + b' >>\nstartxref\n'
            + str(len(data)).encode()
            + b'\n%%EOF\n'
        )
        return data + section, 'append section'


# ------------------------------------------------------------ checking


def _where(exc: BaseException) -> tuple[str, str]:
    frames = traceback.extract_tb(exc.__traceback__)
    engine = ''
    for frame in frames:
        path = Path(frame.filename)
        if ENGINE_DIR in path.parents:
            engine = f'{path.name}:{frame.name}:{frame.lineno}'
    deepest = ''
    if frames:
        last = frames[-1]
        deepest = f'{Path(last.filename).stem}:{last.name}'
    return engine, deepest


def _qualified(exc: BaseException) -> str:
    cls = type(exc)
    return f'{cls.__module__}.{cls.__qualname__}'


@contextmanager
def deadline(seconds: float) -> Iterator[None]:
    """Raise :class:`CaseTimeout` in the block after ``seconds``.

    Uses SIGALRM, so it only works in the main thread; a test that would
    otherwise hang fails instead.
    """

    def on_alarm(_signum, _frame):
        raise CaseTimeout()

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def check(
    data: bytes,
    signer: DocumentSigner,
    mutation: str = '',
    timeout: float = 20.0,
    request: SignatureRequest = NOTE_REQUEST,
) -> tuple[str, Finding | None]:
    """Preflight ``data`` and sign it if accepted.

    Returns the outcome ('refused', 'signed', 'unsignable' or 'finding')
    and, for the last two, what happened. Must run in the main thread (it
    uses SIGALRM to stop inputs that hang).
    """
    stage = 'preflight'
    try:
        with deadline(timeout):
            try:
                preflight(data, 'fuzz.pdf')
            except PreflightRefusal:
                return 'refused', None
            stage = 'sign'
            try:
                signer.sign(data, request)
            except SigningError as exc:
                # Allowed, but preflight's trial run should have caught it.
                cause = exc.__cause__ or exc
                engine, deepest = _where(cause)
                return 'unsignable', Finding(
                    stage,
                    _qualified(cause),
                    engine,
                    deepest,
                    str(exc)[:200],
                    mutation,
                    data,
                )
            return 'signed', None
    except CaseTimeout as exc:
        engine, deepest = _where(exc)
        return 'finding', Finding(
            stage,
            'Hang',
            engine,
            deepest,
            f'no answer within {timeout:g} s',
            mutation,
            data,
        )
    except Exception as exc:  # noqa: BLE001 - this is what we look for
        engine, deepest = _where(exc)
        return 'finding', Finding(
            stage,
            _qualified(exc),
            engine,
            deepest,
            str(exc)[:200],
            mutation,
            data,
        )


def default_signer() -> DocumentSigner:
    pki = generate_service_pki('Fuzz KK')
    return DocumentSigner(pki.signer(), EmbeddedTimeStamper(pki.tsa()))


def fuzz(
    signer: DocumentSigner | None = None,
    *,
    seed: int = 0,
    seconds: float | None = None,
    cases: int | None = None,
    timeout: float = 20.0,
    on_finding: Callable[[Finding], None] | None = None,
    on_unsignable: Callable[[Finding], None] | None = None,
) -> FuzzStats:
    """Run until ``seconds`` have passed or ``cases`` inputs were tried."""
    if seconds is None and cases is None:
        raise ValueError('give seconds or cases')
    signer = signer or default_signer()
    rng = random.Random(seed)
    mutator = Mutator(rng, seed_documents(signer))
    stats = FuzzStats()
    start = time.monotonic()
    while True:
        if cases is not None and stats.cases >= cases:
            break
        if seconds is not None and time.monotonic() - start >= seconds:
            break
        data, mutation = mutator.mutate()
        # A quarter without a page note: the path of every later signature.
        request = NOTE_REQUEST if rng.random() < 0.75 else REQUEST
        outcome, finding = check(data, signer, mutation, timeout, request)
        stats.cases += 1
        if outcome == 'refused':
            stats.refused += 1
        elif outcome == 'signed':
            stats.signed += 1
        elif outcome == 'unsignable':
            stats.unsignable += 1
            if on_unsignable is not None:
                on_unsignable(finding)
        else:
            stats.findings.append(finding)
            if on_finding is not None:
                on_finding(finding)
    stats.seconds = time.monotonic() - start
    return stats
