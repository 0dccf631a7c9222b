"""Solid-colour PNG avatars built with the standard library (Pillow is not always installed)."""

from __future__ import annotations

import hashlib
import struct
import zlib
from functools import lru_cache

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _chunk(kind: bytes, data: bytes) -> bytes:
    crc = zlib.crc32(kind + data)
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)


@lru_cache(maxsize=64)
def avatar_png(login: str, size: int = 120) -> bytes:
    """A size x size RGB PNG whose colour is derived from the login, so it is stable."""
    rgb = hashlib.sha256(login.encode()).digest()[:3]
    row = b"\x00" + rgb * size  # filter byte 0 (None), then the pixels
    header = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)  # 8-bit truecolour
    return (
        PNG_SIGNATURE
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(row * size, 9))
        + _chunk(b"IEND", b"")
    )
