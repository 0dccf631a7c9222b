"""Errors the content actions raise; the web layer turns them into Discourse's shapes."""

from __future__ import annotations


class ContentError(Exception):
    status = 422
    error_type = "invalid_parameters"

    def __init__(self, *messages: str) -> None:
        super().__init__("; ".join(messages))
        self.messages = list(messages)


class NotFound(ContentError):
    status = 404
    error_type = "not_found"


class Forbidden(ContentError):
    status = 403
    error_type = "invalid_access"
