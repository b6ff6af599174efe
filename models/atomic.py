"""Atomic writes: a reader (or a crash) never sees half a file, nor a folder of mixed files.

The data goes to a hidden temporary file in the target's folder, is flushed to disk,
and is then renamed over the target with ``os.replace`` (atomic on POSIX and Windows).
The file gets the permissions of any new file (0666 less the umask). Whatever stops
the writing — an error, Ctrl-C — the temporary file is removed, and an error names
the target, never the temporary file. :func:`atomic_dir` does the same for a folder of
files written together (a training run): it appears whole, or not at all.
"""

from __future__ import annotations

import errno
import os
import secrets
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import IO

TEMP_SUFFIX = ".tmp"


def temp_name(path: Path) -> Path:
    """A fresh hidden name beside ``path``: ``.<name>.<random>.tmp``."""
    return path.with_name(f".{path.name}.{secrets.token_hex(4)}{TEMP_SUFFIX}")


@contextmanager
def atomic_file(path: str | os.PathLike[str]) -> Iterator[IO[bytes]]:
    """A binary file to write into; it becomes ``path`` when the block ends without error.

    A ``path`` that exists and is not a regular file (a FIFO, a device, a folder) raises
    FileExistsError naming it: a rename would put the file in its place.

    An exception raised inside the block removes the temporary file and passes through,
    except a system error that names no file (a full disk): that one, like any error of
    the writer's own steps, is raised again naming ``path`` (never the temporary file).
    """
    path = Path(path)
    tmp = temp_name(path)
    with _naming(path):
        if path.exists() and not path.is_file():  # a FIFO or a device is written through, never replaced
            raise FileExistsError(errno.EEXIST, "exists and is not a regular file; remove it or write elsewhere", path)
        path.parent.mkdir(parents=True, exist_ok=True)
        # os.open applies the umask to 0o666, as open() does for any new file.
        f = os.fdopen(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666), "wb")
    try:
        with _naming(path, only_unnamed=True):
            yield f
        with _naming(path):
            f.flush()
            os.fsync(f.fileno())  # the bytes are on disk before the name points at them
            f.close()
            os.replace(tmp, path)
    finally:
        with suppress(OSError):  # the buffer of an abandoned file may not fit on the disk either
            f.close()
        tmp.unlink(missing_ok=True)  # gone already after os.replace


@contextmanager
def _naming(path: Path, only_unnamed: bool = False) -> Iterator[None]:
    """Raise a system error (an ``OSError`` with an errno) again naming ``path``, not the
    temporary file; with ``only_unnamed``, only errors that name no file (a full disk)."""
    try:
        yield
    except OSError as exc:
        if exc.errno is None or (only_unnamed and exc.filename is not None):
            raise
        raise type(exc)(exc.errno, exc.strerror or str(exc), str(path)) from None


@contextmanager
def _naming_inside(folder: Path, path: Path) -> Iterator[None]:
    """Raise a system error about a file in the hidden ``folder`` again naming the file's
    place in ``path``: the hidden folder is gone by the time anyone reads the error."""
    try:
        yield
    except OSError as exc:
        name = exc.filename
        if exc.errno is None or not isinstance(name, str) or not Path(name).is_relative_to(folder):
            raise
        raise type(exc)(exc.errno, exc.strerror or str(exc), str(path / Path(name).relative_to(folder))) from None


def write_atomic(path: str | os.PathLike[str], write: Callable[[IO[bytes]], object]) -> Path:
    """Call ``write(f)`` on a temporary binary file, then rename it to ``path``."""
    with atomic_file(path) as f:
        write(f)
    return Path(path)


def write_text_atomic(path: str | os.PathLike[str], text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    return write_atomic(path, lambda f: f.write(text.encode("utf-8")))


@contextmanager
def atomic_dir(path: str | os.PathLike[str]) -> Iterator[Path]:
    """A fresh hidden folder beside ``path`` to fill; when the block ends without error it
    is renamed to ``path``, replacing the folder there (the caller decides it may). On any
    error or interrupt the hidden folder is removed and ``path`` is left as it was.

    The hidden folder is made at once, so a ``path`` that cannot be written fails before
    any work is done.
    """
    path = Path(path)
    tmp = temp_name(path)
    with _naming(path):
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp.mkdir(0o777)  # less the umask, like any new folder
    try:
        with _naming_inside(tmp, path):
            yield tmp
        with _naming(path):
            _swap_in(tmp, path)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)  # gone already after the rename


def _swap_in(new: Path, path: Path) -> None:
    """Rename the folder ``new`` to ``path``; a folder already at ``path`` is moved aside
    first and deleted after, so ``path`` is never a mix of the two."""
    if not path.exists():
        os.replace(new, path)
        return
    old = temp_name(path)
    os.replace(path, old)
    try:
        os.replace(new, path)
    except BaseException:
        os.replace(old, path)
        raise
    if old.is_symlink():  # a link to a folder is replaced, its folder kept (rmtree refuses links)
        old.unlink()
    else:
        shutil.rmtree(old, ignore_errors=True)
