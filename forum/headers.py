"""Security headers on Parlor's own responses (a host application's pages keep theirs).

The Content-Security-Policy is what keeps the promise that a reader's browser contacts no
third party: scripts, styles, images, fonts and fetches come from this site only. The one
other origin is GitHub's, as a form target: the sign-in form goes to /auth/github/login,
which redirects to GitHub's authorize page, and Chromium checks `form-action` on redirects.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Flask, Response, request


def content_security_policy(github_url: str) -> str:
    github = urlsplit(github_url)
    github_origin = f"{github.scheme}://{github.netloc}" if github.netloc else ""
    return "; ".join(
        [
            "default-src 'none'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self'",
            "connect-src 'self'",
            "manifest-src 'self'",
            f"form-action 'self' {github_origin}".rstrip(),
            "frame-ancestors 'none'",
            "base-uri 'none'",
        ]
    )


def init_headers(app: Flask, blueprints: frozenset[str] | None) -> None:
    """Add the headers to the responses of `blueprints` (None: every response)."""
    headers = {
        "Content-Security-Policy": content_security_policy(app.config["GITHUB_URL"]),
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "same-origin",
        "X-Frame-Options": "DENY",
        "Cross-Origin-Opener-Policy": "same-origin",
        "Permissions-Policy": "camera=(), microphone=(), geolocation=(), interest-cohort=()",
    }

    wanted = [(name.lower(), name, value) for name, value in headers.items()]

    @app.after_request
    def _add(response: Response) -> Response:
        if blueprints is None or request.blueprint in blueprints:
            # One pass over the response's headers, not a lookup and a set per header.
            present = {key.lower() for key, _ in response.headers}
            response.headers.extend(
                [(name, value) for lower, name, value in wanted if lower not in present]
            )
        return response
