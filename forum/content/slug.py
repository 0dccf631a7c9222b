"""URL slugs, as Discourse makes them: lower-case ASCII words joined by hyphens."""

from __future__ import annotations

import re
import unicodedata


def slugify(text: str, fallback: str = "topic") -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    return slug[:100].rstrip("-") or fallback
