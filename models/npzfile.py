"""Reading an ``.npz`` file someone else wrote, with memory bounded before anything is read.

An ``.npz`` is a zip of ``.npy`` members, each a small header (dtype, shape, order)
followed by the raw values. numpy's own reader allocates the array its header
declares before reading a byte of it, and lets the zip's own failures through
(encrypted members, unknown compression methods). Here the zip's directory is read
first (how many members, how many bytes they unpack to, from how few), then each member's header,
which must account for exactly the bytes the member holds; only then are the values
read. No member may hold Python objects: reading never runs code from the file.
"""

from __future__ import annotations

import math
import os
import tokenize
import warnings
import zipfile
import zlib

import numpy as np
from glassgrad.errors import GlassgradError

from .data.files import irregular

NPY_VERSIONS = ((1, 0), (2, 0))  # what np.save writes for arrays of numbers
# A compressed member may unpack to this many times its packed size, plus the slack:
# floating-point weights hardly compress (about 1.1 times); a thousand times is a bomb.
MAX_INFLATION = 16
INFLATION_SLACK = 1 << 20


def read_npz(
    path: str | os.PathLike[str], where: str, error: type[GlassgradError], max_arrays: int, max_bytes: int
) -> dict[str, np.ndarray]:
    """The arrays of the ``.npz`` file at ``path`` by name; at most ``max_arrays`` of them,
    unpacking to at most ``max_bytes``. Every problem raises ``error`` with one line that
    starts with ``where`` (e.g. "module file model.npz")."""
    try:
        kind = irregular(path)
        if kind:
            raise error(f"{where} is not a regular file ({kind}); give the .npz file itself")
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
            if len(members) > max_arrays:
                raise error(f"{where} holds {len(members):,} arrays, more than the {max_arrays:,} it may")
            size = sum(member.file_size for member in members)
            if size > max_bytes:
                raise error(f"{where} unpacks to {size:,} bytes, more than the {max_bytes:,} it may")
            return {member.filename.removesuffix(".npy"): _array(archive, member, where, error) for member in members}
    except FileNotFoundError:
        raise error(f"{where} does not exist") from None
    # UnicodeDecodeError: a member's name flagged as UTF-8 is not (zipfile decodes it as it opens the member).
    except (OSError, EOFError, UnicodeDecodeError, zlib.error, zipfile.BadZipFile, zipfile.LargeZipFile) as exc:
        raise error(f"{where} is not a readable .npz file ({_detail(exc)})") from None
    except NotImplementedError as exc:  # a compression method this Python does not have
        raise error(f"{where} is not a readable .npz file ({_detail(exc)}); save it with numpy.savez") from None
    except RuntimeError as exc:  # zipfile's word for an encrypted member (after its subclass above)
        raise error(f"{where} is not a readable .npz file ({_detail(exc)}); save it again without a password") from None


def _array(archive: zipfile.ZipFile, member: zipfile.ZipInfo, where: str, error: type[GlassgradError]) -> np.ndarray:
    """One member's array, its header checked against the bytes the member holds."""
    name = member.filename.removesuffix(".npy")
    if member.file_size > MAX_INFLATION * member.compress_size + INFLATION_SLACK:
        raise error(
            f"{where}: array {name!r} unpacks from {member.compress_size:,} to {member.file_size:,} bytes, "
            f"more than {MAX_INFLATION} times; save it uncompressed, as numpy.savez does"
        )
    with archive.open(member) as f:
        assert isinstance(f, zipfile.ZipExtFile)  # what open() returns for reading; typeshed says IO[bytes]
        try:
            version = np.lib.format.read_magic(f)
            if version not in NPY_VERSIONS:
                raise ValueError(f"npy format version {version[0]}.{version[1]}")
            read_header = (
                np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
            )
            with warnings.catch_warnings():  # numpy warns as it reads a header written by Python 2
                warnings.simplefilter("ignore", UserWarning)
                shape, fortran_order, dtype = read_header(f)
        # numpy re-reads a header Python cannot parse as Python 2's, and its tokenizer's
        # error at an unclosed bracket passes through (numpy 2.4).
        except (ValueError, tokenize.TokenError) as exc:
            raise error(f"{where}: array {name!r} is not a numpy array ({_detail(exc)})") from None
        if dtype.hasobject:
            raise error(f"{where}: array {name!r} holds Python objects (dtype object); a file of numbers never does")
        if dtype.itemsize == 0:
            raise error(f"{where}: array {name!r} has dtype {dtype}, whose values hold no bytes")
        count = math.prod(shape)
        declared = count * dtype.itemsize
        held = member.file_size - f.tell()
        if declared != held:
            raise error(
                f"{where} is damaged: array {name!r} declares {dtype}{list(shape)} = {declared:,} bytes "
                f"but holds {held:,}"
            )
        data = bytearray(declared)
        if f.readinto(data) != declared or f.read(1):  # read(1) meets the end, where zipfile checks the CRC
            raise error(f"{where} is damaged: array {name!r} is shorter than its {declared:,} bytes")
    values = np.frombuffer(data, dtype)
    return values.reshape(shape[::-1]).T if fortran_order else values.reshape(shape)


def _detail(exc: BaseException) -> str:
    return (" ".join(str(exc).split()) or type(exc).__name__)[:200]
