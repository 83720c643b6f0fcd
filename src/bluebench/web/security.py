"""The web UI's defences: security headers, CSRF tokens and the session cookie's settings.

Log and mail text shown by the UI is attacker-controlled. Templates escape it (Jinja2
autoescape); the Content-Security-Policy below is the second line: no inline script or
style, nothing from another origin, so even text that slipped through escaping could not
run. CSRF tokens are synchronizer tokens tied to the session: an HMAC of the session token
under a key only this server process holds, so a token is worthless for another session
and after a restart. The login form, which has no session yet, uses a double-submit token
(a random cookie echoed in the form).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Awaitable, Callable

from starlette.middleware.base import BaseHTTPMiddleware
from starlette.requests import Request
from starlette.responses import Response

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
}
SESSION_COOKIE = "bb_session"
LOGIN_COOKIE = "bb_login"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"


class SecurityHeaders(BaseHTTPMiddleware):
    """Adds the security headers to every response, static files and errors included."""

    async def dispatch(
        self, request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        response = await call_next(request)
        for name, value in HEADERS.items():
            response.headers.setdefault(name, value)
        if not request.url.path.startswith("/static/"):
            # Pages show reviewer decisions and evidence: never kept by a shared cache.
            response.headers.setdefault("Cache-Control", "no-store")
        return response


def new_key() -> bytes:
    """A fresh CSRF signing key for one server process."""
    return secrets.token_bytes(32)


def csrf_token(key: bytes, session_token: str) -> str:
    """The CSRF token of one session: HMAC-SHA256 of the session token."""
    return hmac.new(key, b"csrf:" + session_token.encode(), hashlib.sha256).hexdigest()


def csrf_ok(key: bytes, session_token: str, sent: str | None) -> bool:
    """True when ``sent`` is this session's token (constant-time comparison)."""
    return bool(sent) and hmac.compare_digest(csrf_token(key, session_token), sent or "")


def login_token() -> str:
    """A random double-submit token for the login form (there is no session yet)."""
    return secrets.token_urlsafe(24)


def login_token_ok(cookie: str | None, sent: str | None) -> bool:
    """True when the login form echoes the login cookie it was served with."""
    return bool(cookie) and bool(sent) and hmac.compare_digest(cookie or "", sent or "")


def cookie_secure(request: Request, force: bool) -> bool:
    """Secure cookies when served over https, or when the operator says a proxy terminates TLS."""
    return force or request.url.scheme == "https"
