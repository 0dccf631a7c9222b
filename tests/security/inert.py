"""Is this HTML inert? Parse it as a browser does (html5lib implements the HTML standard's
parser) and list everything that could run script or take the page elsewhere.

Parlor's own pages have one script (/parlor-static/parlor.js), links to its stylesheet and
icon, and forms that post to this site (or GET /auth/github/login); no inline script or
style anywhere, which the Content-Security-Policy relies on. Member text (post bodies) lives in
`.cooked` elements and may only use the sanitiser's allow-list there.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

import html5lib

from forum.content.markdown import _TAGS as COOKED_TAGS

OUR_SCRIPT = "/parlor-static/parlor.js"
OUR_STATIC = "/parlor-static/"  # the stylesheet and icon links
URL_ATTRIBUTES = frozenset(
    {
        "href", "src", "action", "formaction", "xlink:href", "data", "poster", "background",
        "cite", "longdesc", "dynsrc", "lowsrc", "ping", "manifest", "codebase", "srcset",
        "archive", "classid", "usemap", "icon", "profile", "to", "from", "values", "by",
    }
)  # fmt: skip
DANGEROUS_ELEMENTS = frozenset(
    {
        "iframe", "frame", "frameset", "object", "embed", "applet", "base", "style",
        "portal", "fencedframe", "isindex", "template", "noembed", "xmp", "plaintext",
    }
)  # fmt: skip
FOREIGN = ("{http://www.w3.org/2000/svg}", "{http://www.w3.org/1998/Math/MathML}")
# What a browser ignores in a URL before its scheme: leading C0 controls and spaces, and
# tabs and newlines anywhere.
_STRIPPED = re.compile(r"[\t\n\r]")
_BAD_SCHEME = re.compile(r"(javascript|data|vbscript|livescript|mocha):", re.IGNORECASE)


_LEADING = "".join(chr(c) for c in range(0x21))


def _scheme_is_bad(value: str) -> bool:
    cleaned = _STRIPPED.sub("", value).lstrip(_LEADING)
    return bool(_BAD_SCHEME.match(cleaned))


def _local(url: str) -> str:
    return url.rsplit("}", 1)[-1].lower()


def _on_site(url: str) -> bool:
    return url.startswith("/") and not url.startswith(("//", "/\\"))


def problems(html: str) -> list[str]:
    """Every executable or page-hijacking thing in `html` (empty: inert)."""
    return list(_problems(html))


@lru_cache(maxsize=8192)  # the same posts come back in many answers; parsing is the cost
def _problems(html: str) -> tuple[str, ...]:
    found: list[str] = []
    doc = html5lib.parse(html, treebuilder="etree", namespaceHTMLElements=False)
    parents: dict[Any, Any] = {child: parent for parent in doc.iter() for child in parent}

    def in_cooked(element: Any) -> bool:
        while element is not None:
            if "cooked" in (element.get("class") or "").split():
                return True
            element = parents.get(element)
        return False

    for element in doc.iter():
        if not isinstance(element.tag, str):
            continue  # comments
        tag = element.tag
        name = _local(tag)
        where = f"<{name}{''.join(f' {k}={v!r}' for k, v in element.attrib.items())}>"[:200]
        if tag.startswith(FOREIGN):
            found.append(f"SVG/MathML element {where}")
        ours = element.get("src") == OUR_SCRIPT and not (element.text or "").strip()
        if name == "script" and not ours:
            found.append(f"script {where}")
        if name in DANGEROUS_ELEMENTS:
            found.append(f"element {where}")
        if name == "meta" and element.get("http-equiv") is not None:
            found.append(f"meta http-equiv {where}")
        if name == "link" and not (element.get("href") or "").startswith(OUR_STATIC):
            found.append(f"link {where}")
        if name == "form" and not _on_site(element.get("action") or "/"):
            found.append(f"form posting off-site {where}")
        if (
            in_cooked(element)
            and name not in COOKED_TAGS
            and "cooked" not in (element.get("class") or "")
        ):
            found.append(f"member text made a <{name}> {where}")
        for attribute, value in element.attrib.items():
            attr = _local(attribute)
            if attr.startswith("on"):
                found.append(f"event handler {attr} in {where}")
            elif attr in ("style", "srcdoc"):
                found.append(f"{attr} attribute in {where}")
            elif attr in URL_ATTRIBUTES and _scheme_is_bad(value):
                found.append(f"{attr}={value!r} in {where}")
            elif attr == "http-equiv":
                found.append(f"http-equiv in {where}")
    return tuple(found)


# The JSON fields Discourse clients render as HTML (its own front end marks them safe).
HTML_FIELDS = frozenset(
    {
        "cooked", "html", "excerpt", "blurb", "fancy_title", "topic_html_title",
        "description", "description_excerpt",
    }
)  # fmt: skip


def html_fields(data: Any, path: str = "") -> list[tuple[str, str]]:
    """(where, value) of the JSON strings that clients render as HTML (HTML_FIELDS and
    anything named `*_html`)."""
    out: list[tuple[str, str]] = []
    if isinstance(data, dict):
        for k, v in data.items():
            here = f"{path}.{k}"
            if isinstance(v, str) and (k in HTML_FIELDS or k.endswith("_html")):
                out.append((here, v))
            else:
                out.extend(html_fields(v, here))
    elif isinstance(data, list):
        for i, v in enumerate(data):
            out.extend(html_fields(v, f"{path}[{i}]"))
    return out
