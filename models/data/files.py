"""Reading a data file, gzipped or not: the first bytes decide, not the file name.

Files are read as a stream in chunks, so memory follows what the caller asked for, never
what a compressed file would inflate to: a gzip bomb stops at the first byte past the
limit. Only regular files are read (a FIFO named like a data file would block forever).
"""

from __future__ import annotations

import gzip
import io
import os
import stat
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .digits import DataError

GZIP_MAGIC = b"\x1f\x8b"
CHUNK = 1 << 20
MAX_BYTES = 1 << 30  # a CSV of all 70,000 MNIST digits is about 130 MB


@contextmanager
def opened(path: str | Path) -> Iterator[io.BufferedIOBase]:
    """The file at ``path`` as a binary stream, decompressed when it starts with 1f 8b.

    Every problem — missing, a folder, not a regular file, unreadable, corrupt gzip data
    (also when found while reading) — raises DataError naming ``path``.
    """
    path = Path(path)
    try:
        kind = irregular(path)
        if kind == "a folder":
            raise DataError(f"{path}: is a folder, expected a file")
        if kind:
            raise DataError(f"{path}: is not a regular file ({kind}); give a data file")
        with path.open("rb") as raw:
            gzipped = raw.read(2) == GZIP_MAGIC
            raw.seek(0)
            yield gzip.GzipFile(fileobj=raw) if gzipped else raw
    except FileNotFoundError:
        if path.is_symlink():
            raise DataError(f"{path}: a link to {os.readlink(path)}, which does not exist") from None
        raise DataError(f"{path}: no such file") from None
    except (EOFError, gzip.BadGzipFile, zlib.error) as exc:
        detail = " ".join(str(exc).split()) or type(exc).__name__
        raise DataError(f"{path}: truncated or corrupt gzip data ({detail}); download or copy the file again") from None
    except OSError as exc:
        raise DataError(f"{path}: cannot read ({exc.strerror or exc})") from None


def irregular(path: str | os.PathLike[str]) -> str | None:
    """What ``path`` is when it is not a regular file ("a folder" or "a FIFO, socket or
    device"), None when it is one; reading a FIFO would wait for a writer for ever. A
    missing path raises FileNotFoundError."""
    mode = os.stat(path).st_mode
    if stat.S_ISREG(mode):
        return None
    return "a folder" if stat.S_ISDIR(mode) else "a FIFO, socket or device"


def read_at_most(stream: io.BufferedIOBase, n: int) -> bytes:
    """Up to ``n`` bytes of ``stream`` (fewer at its end), read in chunks: memory follows
    the bytes actually there, not ``n``."""
    buffer = io.BytesIO()
    while buffer.tell() < n and (chunk := stream.read(min(CHUNK, n - buffer.tell()))):
        buffer.write(chunk)
    return buffer.getvalue()


def read_bytes(path: str | Path, limit: int = MAX_BYTES) -> bytes:
    """The contents of ``path``, decompressed if gzipped; DataError beyond ``limit`` bytes."""
    with opened(path) as f:
        data = read_at_most(f, limit + 1)
    if len(data) > limit:
        raise DataError(f"{path}: more than {limit:,} bytes (decompressed); not an MNIST file")
    return data
