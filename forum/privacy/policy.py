"""The privacy policy page (P15): Markdown with its last-updated date in front matter."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from forum.content.markdown import render

_FRONT = re.compile(r"\A---\s*\n(.*?)\n---\s*\n", re.S)


@dataclass(frozen=True)
class Policy:
    title: str
    last_updated: str
    markdown: str
    html: str


def load_policy(path: str) -> Policy:
    text = Path(path).read_text(encoding="utf-8")
    meta: dict[str, str] = {}
    match = _FRONT.match(text)
    if match:
        for line in match.group(1).splitlines():
            key, sep, value = line.partition(":")
            if sep:
                meta[key.strip().lower()] = value.strip().strip("\"'")
        text = text[match.end() :]
    if "last_updated" not in meta:
        raise ValueError(f"{path}: front matter needs `last_updated: YYYY-MM-DD`")
    return Policy(
        title=meta.get("title", "Privacy Policy"),
        last_updated=meta["last_updated"],
        markdown=text,
        html=render(text),
    )
