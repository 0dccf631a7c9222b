"""Download the member's GitHub picture once, at sign-in, so readers never contact GitHub.

Bounded in bytes, pixels and time; only real images, re-encoded to PNG, which also drops
whatever metadata (EXIF, location) the original carried.
"""

from __future__ import annotations

import io
import time

import requests
from PIL import Image, UnidentifiedImageError

MAX_BYTES = 2 * 1024 * 1024
MAX_PIXELS = 4096 * 4096
SIZE = 240
_FORMATS = {"PNG", "JPEG", "GIF", "WEBP"}


def download_avatar(url: str, timeout: float) -> bytes | None:
    """A square PNG of the picture at `url`, or None if it cannot be had safely.

    `timeout` bounds each network wait and the whole download, so a server that trickles
    bytes cannot hold the sign-in request open.
    """
    deadline = time.monotonic() + timeout
    try:
        with requests.get(url, timeout=timeout, stream=True) as resp:
            if resp.status_code != 200:
                return None
            if not resp.headers.get("content-type", "").startswith("image/"):
                return None
            data = bytearray()
            for chunk in resp.iter_content(64 * 1024):
                data.extend(chunk)
                if len(data) > MAX_BYTES or time.monotonic() > deadline:
                    return None
    except requests.RequestException:
        return None
    return reencode(bytes(data))


def reencode(data: bytes) -> bytes | None:
    try:
        with Image.open(io.BytesIO(data)) as img:
            if img.format not in _FORMATS or img.width * img.height > MAX_PIXELS:
                return None
            img.seek(0)  # first frame of an animation
            picture = img.convert("RGBA")
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
        return None
    side = min(picture.size)
    left, top = (picture.width - side) // 2, (picture.height - side) // 2
    picture = picture.crop((left, top, left + side, top + side))
    picture = picture.resize((SIZE, SIZE), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    picture.save(out, format="PNG", optimize=True)
    return out.getvalue()
