"""Write a ZIP archive as a stream of chunks, for a download of any size.

:class:`ZipStream` wraps :class:`zipfile.ZipFile` over a sink that is
emptied after every entry: the archive is never held whole, only the
entry being written and the central directory (about 100 bytes per entry).
ZIP64 is on, so archives beyond 4 GB open everywhere.
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterator


class _Sink:
    """A write-only, non-seekable file that hands its bytes over on demand."""

    def __init__(self) -> None:
        self._chunks: list[bytes] = []
        self._position = 0

    def write(self, data: bytes) -> int:  # pylint: disable=method-required-super  # a file, not a model
        self._chunks.append(bytes(data))
        self._position += len(data)
        return len(data)

    def tell(self) -> int:
        return self._position

    def flush(self) -> None:
        pass

    def take(self) -> bytes:
        chunks, self._chunks = self._chunks, []
        return b''.join(chunks)


class ZipStream:
    """``add()`` entries, ``take()`` the bytes written so far, ``close()``
    and ``take()`` the rest."""

    def __init__(self, compression: int = zipfile.ZIP_DEFLATED) -> None:
        self._sink = _Sink()
        self._zip = zipfile.ZipFile(self._sink, 'w', compression=compression, allowZip64=True)

    def add(self, name: str, data: bytes | str, compress: bool = True) -> None:
        info = zipfile.ZipInfo(name)
        # PDFs are compressed already; deflating them again costs time for nothing.
        info.compress_type = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
        info.external_attr = 0o644 << 16
        self._zip.writestr(info, data)

    def open(self, name: str):
        """A writable entry, for content produced piece by piece."""
        return self._zip.open(zipfile.ZipInfo(name), 'w', force_zip64=True)

    def take(self) -> bytes:
        return self._sink.take()

    def close(self) -> bytes:
        self._zip.close()
        return self.take()


def chunks(stream: ZipStream, writes: Iterator[None]) -> Iterator[bytes]:
    """Run ``writes`` (a generator that adds entries to ``stream``), yielding
    the archive's bytes after each step, then its end."""
    for _step in writes:
        data = stream.take()
        if data:
            yield data
    yield stream.close()
