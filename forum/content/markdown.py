"""Markdown to safe HTML, once, when a post is written (P5).

markdown-it-py parses CommonMark with raw HTML passed through (members may write a little
HTML, as on Discourse); nh3 then keeps only an allow-list, so no script, event handler,
style or `javascript:` URL survives whatever the parser produced.

Images from other sites are not embedded: a reader's browser would fetch them, telling a
third party who reads what (and the CSP blocks them anyway). Markdown images become links;
an `<img>` written in HTML keeps only a source among this site's pictures (avatars, its
static files). Any other path would have every reader's browser call a route with their
cookies: a staff lookup (audited as the moderator's), an export.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from html import escape
from typing import Any

import nh3
from markdown_it import MarkdownIt
from markdown_it.token import Token

_md = MarkdownIt("commonmark", {"html": True, "linkify": False, "typographer": False}).enable(
    ["table", "strikethrough"]
)

_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "code", "del", "details", "em", "h1", "h2", "h3",
    "h4", "h5", "h6", "hr", "i", "img", "kbd", "li", "ol", "p", "pre", "s", "strong", "sub",
    "summary", "sup", "table", "tbody", "td", "th", "thead", "tr", "ul",
}  # fmt: skip
_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title", "width", "height"},
    "code": {"class"},
    "th": {"align"},
    "td": {"align"},
    "ol": {"start"},
}
_URL_SCHEMES = {"http", "https", "mailto"}
# A picture on this site: segments of plain characters under the picture routes, so no
# "//host", "\\", "..", "%2e%2e" or query can take the browser anywhere else.
_LOCAL_SRC = re.compile(
    r"/(?:user_avatar|letter_avatar|parlor-static)(?:/[A-Za-z0-9_\-][A-Za-z0-9_.\-]*)+"
)


def _is_local(src: str) -> bool:
    return bool(_LOCAL_SRC.fullmatch(src.strip()))


def _image(
    renderer: Any, tokens: Sequence[Token], idx: int, options: Any, env: dict[str, Any]
) -> str:
    token = tokens[idx]
    src = str(token.attrGet("src") or "")
    if _is_local(src):
        return str(renderer.image(tokens, idx, options, env))
    text = renderer.renderInlineAsText(token.children or [], options, env) or src
    return f'<a href="{escape(src)}">{escape(text)}</a>'


_md.add_render_rule("image", _image)


def _attribute(element: str, attribute: str, value: str) -> str | None:
    if element == "img" and attribute == "src" and not _is_local(value):
        return None
    return value


# Built once: `nh3.clean()` converted these settings on every call, most of its time on a
# short post (18 µs against 3).
_cleaner = nh3.Cleaner(
    tags=_TAGS,
    attributes=_ATTRIBUTES,
    url_schemes=_URL_SCHEMES,
    attribute_filter=_attribute,
    link_rel="nofollow ugc noopener",
    strip_comments=True,
)


def render(raw: str) -> str:
    """Sanitised HTML for a post's Markdown."""
    return _cleaner.clean(_md.render(raw)).strip()
