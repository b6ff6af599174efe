"""Damage done to a saved .npz on purpose, for the tests of hostile model files."""

from __future__ import annotations

import struct
from pathlib import Path


def central_directory_field(path: Path, out: Path, offset: int, value: int) -> Path:
    """``path`` written to ``out`` with a 2-byte field of every central-directory entry
    (at ``offset`` from the entry's signature) set to ``value``."""
    data = bytearray(path.read_bytes())
    at = data.find(b"PK\x01\x02")
    while at >= 0:
        struct.pack_into("<H", data, at + offset, value)
        at = data.find(b"PK\x01\x02", at + 4)
    out.write_bytes(bytes(data))
    return out
