"""Downloading the four official MNIST files, each checked against its published SHA-256.

A file is streamed into a temporary file next to its destination, hashed on the way, and
renamed into place only when the hash matches, so the cache never holds a half-written or
wrong file, whatever stops the download (a network error, a bad mirror, Ctrl-C, SIGTERM).
The temporary file of a download killed outright (SIGKILL) is deleted by the next one.
"""

from __future__ import annotations

import contextlib
import glob
import hashlib
import http.client
import os
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from pathlib import Path
from types import MappingProxyType

from ..atomic import TEMP_SUFFIX, atomic_file
from .digits import DataError
from .files import irregular

DEFAULT_URL = "https://ossci-datasets.s3.amazonaws.com/mnist/"  # torchvision's mirror
# file name -> SHA-256 of the official gzipped file, as published with the data
OFFICIAL_FILES: Mapping[str, str] = MappingProxyType(
    {
        "train-images-idx3-ubyte.gz": "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
        "train-labels-idx1-ubyte.gz": "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
        "t10k-images-idx3-ubyte.gz": "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
        "t10k-labels-idx1-ubyte.gz": "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
    }
)
CHUNK = 1 << 16
MAX_BYTES = 1 << 25  # the largest official file has 9.9 MB: a server sending more does not serve MNIST
STALE_SECONDS = 300  # a live download writes every few seconds; its temporary file stays young
USER_AGENT = "glassgrad-mnist-download"  # some hosts refuse urllib's default agent

Progress = Callable[[str, int, int | None], None]
"""progress(file name, bytes received so far, total bytes or None when the server won't say)."""


def _cache_home() -> Path:
    xdg = os.environ.get("XDG_CACHE_HOME", "")
    # The XDG spec says to ignore a relative XDG_CACHE_HOME.
    return Path(xdg) if os.path.isabs(xdg) else Path.home() / ".cache"


DEFAULT_CACHE: Path = _cache_home() / "glassgrad" / "mnist"


def download(
    cache_dir: str | Path = DEFAULT_CACHE,
    base_url: str = DEFAULT_URL,
    timeout: float = 30.0,
    files: Mapping[str, str] = OFFICIAL_FILES,
    progress: Progress | None = None,
) -> Path:
    """Make sure ``cache_dir`` holds each of ``files`` (name -> SHA-256) and return it.

    Files already there with the right hash are kept; the others are fetched from
    ``base_url + name``. Raises DataError (naming the URL) on a network or HTTP error and on
    a checksum mismatch (expected vs got), leaving nothing new behind.
    """
    cache = Path(cache_dir)
    try:
        cache.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        reason = exc.strerror or exc
        raise DataError(f"{cache}: cannot create the cache folder ({reason})") from None
    base = base_url if base_url.endswith("/") else base_url + "/"
    _remove_stale_temporaries(cache, files)
    for name, sha256 in files.items():
        target = cache / name
        if _sha256_of(target) == sha256:
            continue  # already downloaded and intact
        _fetch(base + name, target, sha256, timeout, progress)
    return cache


def _fetch(url: str, target: Path, sha256: str, timeout: float, progress: Progress | None) -> None:
    try:
        request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
        with urllib.request.urlopen(request, timeout=timeout) as resp, atomic_file(target) as out:
            digest = hashlib.sha256()
            length = resp.headers.get("Content-Length")
            total, done = (int(length) if length and length.isdigit() else None), 0
            too_large = f"{url}: more than {MAX_BYTES:,} bytes, larger than any MNIST file; the file was not saved"
            if total is not None and total > MAX_BYTES:
                raise DataError(too_large)
            while chunk := resp.read(CHUNK):
                done += len(chunk)
                if done > MAX_BYTES:  # a server that does not say the size, or says it wrong
                    raise DataError(too_large)
                out.write(chunk)
                digest.update(chunk)
                if progress is not None:
                    progress(target.name, done, total)
            if total is not None and done != total:  # read(n) returns short, not raising, when cut
                raise DataError(
                    f"{url}: the connection closed after {done:,} of {total:,} bytes; the file was not saved, try again"
                )
            got = digest.hexdigest()
            if got != sha256:
                raise DataError(f"{url}: SHA-256 mismatch, expected {sha256}, got {got}; the file was not saved")
    except urllib.error.HTTPError as exc:
        raise DataError(f"{url}: cannot download, HTTP {exc.code} {exc.reason}") from None
    except urllib.error.URLError as exc:
        raise DataError(f"{url}: cannot download ({exc.reason})") from None
    except (OSError, ValueError, http.client.HTTPException) as exc:
        # timeouts, resets, TLS errors, a cut-off body, a bad URL, a full disk
        detail = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        raise DataError(f"{url}: download to {target} failed ({detail})") from None


def _remove_stale_temporaries(cache: Path, files: Mapping[str, str]) -> None:
    """Delete the temporary files a killed download left behind (SIGKILL gives no chance to
    clean up). One still being written is younger than ``STALE_SECONDS``: it is kept."""
    now = time.time()
    for name in files:
        for leftover in cache.glob(f".{glob.escape(name)}.*{TEMP_SUFFIX}"):
            with contextlib.suppress(OSError):  # gone already, or not ours to delete
                if now - leftover.stat().st_mtime > STALE_SECONDS:
                    leftover.unlink()


def _sha256_of(path: Path) -> str | None:
    """The hex SHA-256 of the file at ``path``, or None if there is no readable file."""
    digest = hashlib.sha256()
    try:
        if irregular(path):  # a FIFO would be waited on for ever: not a downloaded file
            return None
        with path.open("rb") as f:
            while chunk := f.read(1 << 20):
                digest.update(chunk)
    except OSError:
        return None  # missing or unreadable: fetch it again (os.replace will say if it can't)
    return digest.hexdigest()
