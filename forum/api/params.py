"""Request parameters as Discourse clients send them: JSON, form-encoded or multipart,
with Rails-style nested keys (`post[raw]`), plus the query string."""

from __future__ import annotations

import json
import re
from typing import Any

from flask import request

from forum.content.errors import ContentError

# ASCII digits only: str.isdigit() also accepts "²", which int() then refuses.
_INTEGER = re.compile(r"-?[0-9]+")


def params() -> dict[str, Any]:
    """The request's parameters, body over query string, nested keys unfolded."""
    merged: dict[str, Any] = {}
    for key, value in request.args.items(multi=False):
        _put(merged, key, value)
    if request.is_json:
        body = request.get_json(silent=True)
        if body is None and request.get_data():
            raise ContentError("The request body is not valid JSON")
        if body is not None and not isinstance(body, dict):
            raise ContentError("The request body must be a JSON object")
        if body and not _is_unicode(body):
            raise ContentError("The request body contains text that is not valid Unicode")
        merged.update(body or {})
    else:
        for key, value in request.form.items(multi=False):
            if not isinstance(key, str):  # a multipart part whose name is not valid text
                raise ContentError("A form field's name is not valid text")
            _put(merged, key, value)
    return merged


def _is_unicode(body: dict[str, Any]) -> bool:
    # JSON may spell lone surrogates (\ud800); no database can store them as text.
    try:
        json.dumps(body, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _put(target: dict[str, Any], key: str, value: Any) -> None:
    # "post[raw]" -> target["post"]["raw"]; "post_ids[]" -> a list
    if key.endswith("[]"):
        target[key[:-2]] = request.values.getlist(key)
        return
    if "[" in key and key.endswith("]"):
        outer, inner = key[:-1].split("[", 1)
        nested = target.setdefault(outer, {})
        if isinstance(nested, dict):
            nested[inner] = value
        return
    target[key] = value


def int_param(data: dict[str, Any], name: str, *, required: bool = True) -> int | None:
    value = data.get(name)
    if value is None or value == "":
        if required:
            raise ContentError(f"{name} is required")
        return None
    if isinstance(value, bool):
        raise ContentError(f"{name} must be an integer")
    if isinstance(value, str) and _INTEGER.fullmatch(value.strip()):
        value = int(value)
    if not isinstance(value, int):
        raise ContentError(f"{name} must be an integer")
    if not -(2**31) < value < 2**31:  # what an INTEGER column holds on every database
        raise ContentError(f"{name} is out of range")
    return value


def str_param(data: dict[str, Any], name: str) -> Any:
    """The raw value; the action validates it (so a wrong type gets its own message)."""
    return data.get(name)
