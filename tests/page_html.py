"""Reading the forum's pages in tests as a browser would: the forms on a page (to submit
one with the token it carries), and the accessibility rules every page keeps (a label for
each control, a scope on each table header, no inline script or style)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any

CONTROLS = ("input", "select", "textarea")
UNLABELLED_INPUTS = ("hidden", "submit", "button", "reset", "image")


@dataclass
class Form:
    action: str
    method: str
    attrs: dict[str, str]
    fields: dict[str, str] = field(default_factory=dict)
    buttons: list[str] = field(default_factory=list)


@dataclass
class Control:
    tag: str
    attrs: dict[str, str]
    in_label: bool


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[Form] = []
        self.controls: list[Control] = []
        self.label_for: set[str] = set()
        self.ids: list[str] = []
        self.headers: list[dict[str, str]] = []
        self.inline: list[str] = []
        self._form: Form | None = None
        self._label_depth = 0
        self._button: list[str] | None = None
        self._textarea: str | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attr_list: list[tuple[str, str | None]]) -> None:
        attrs = {k: v or "" for k, v in attr_list}
        if "id" in attrs:
            self.ids.append(attrs["id"])
        if "style" in attrs or any(k.startswith("on") for k in attrs):
            self.inline.append(f"<{tag} {attrs}>")
        if tag == "script" and "src" not in attrs:
            self.inline.append("inline <script>")
        if tag == "style":
            self.inline.append("<style>")
        if tag == "form":
            self._form = Form(attrs.get("action", ""), attrs.get("method", "get").lower(), attrs)
            self.forms.append(self._form)
        elif tag == "label":
            self._label_depth += 1
            if "for" in attrs:
                self.label_for.add(attrs["for"])
        elif tag == "th":
            self.headers.append(attrs)
        elif tag == "button":
            self._button = []
        if tag in CONTROLS:
            self.controls.append(Control(tag, attrs, self._label_depth > 0))
            if self._form is not None and attrs.get("name"):
                if tag == "input" and attrs.get("type") in ("checkbox", "radio"):
                    if "checked" in attrs:
                        self._form.fields[attrs["name"]] = attrs.get("value", "on")
                elif tag == "input":
                    self._form.fields[attrs["name"]] = attrs.get("value", "")
                elif tag == "textarea":
                    self._textarea = attrs["name"]
                    self._form.fields[attrs["name"]] = ""
        if tag == "option" and self._form is not None and "selected" in attrs:
            select = next(c for c in reversed(self.controls) if c.tag == "select")
            self._form.fields[select.attrs.get("name", "")] = attrs.get("value", "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._form = None
        elif tag == "label":
            self._label_depth -= 1
        elif tag == "button" and self._button is not None:
            if self._form is not None:
                self._form.buttons.append(" ".join("".join(self._button).split()))
            self._button = None
        elif tag == "textarea":
            self._textarea = None

    def handle_data(self, data: str) -> None:
        self._text.append(data)
        if self._button is not None:
            self._button.append(data)
        if self._textarea is not None and self._form is not None:
            self._form.fields[self._textarea] += data


def parse(html: str) -> _Page:
    page = _Page()
    page.feed(html)
    page.close()
    return page


def forms(html: str) -> list[Form]:
    return parse(html).forms


def form(html: str, action: str) -> Form:
    """The one form that posts or gets to `action` (a path, with any URL prefix)."""
    found = [f for f in forms(html) if f.action == action]
    assert len(found) == 1, (action, [f.action for f in forms(html)])
    return found[0]


def text(html: str) -> str:
    """The page's words, as a reader sees them."""
    return " ".join("".join(parse(html)._text).split())


def check_accessible(html: str) -> None:
    """Every control has a label, every table header a scope, every id is unique, and
    nothing inline that the Content-Security-Policy would block."""
    page = parse(html)
    for control in page.controls:
        attrs = control.attrs
        if control.tag == "input" and attrs.get("type", "text") in UNLABELLED_INPUTS:
            continue
        labelled = control.in_label or attrs.get("id", "") in page.label_for
        assert labelled or attrs.get("aria-label"), f"no label: <{control.tag} {attrs}>"
        for ref in attrs.get("aria-describedby", "").split():
            assert ref in page.ids, f"aria-describedby={ref!r} names nothing"
    for header in page.headers:
        assert header.get("scope") in ("col", "row", "colgroup", "rowgroup"), header
    duplicates = {i for i in page.ids if page.ids.count(i) > 1}
    assert not duplicates, duplicates
    assert not page.inline, page.inline


def submit(client: Any, html: str, action: str, **changes: str) -> Any:
    """Submit the form to `action` as a browser would: its own fields (the token too),
    with `changes` typed in."""
    found = form(html, action)
    data = {**found.fields, **changes}
    if found.method == "get":
        return client.get(action, query_string=data)
    return client.post(action, data=data)


def token_of(html: str) -> str:
    match = re.search(r'name="authenticity_token" value="([^"]+)"', html)
    assert match, "no authenticity_token on the page"
    return match.group(1)
