"""How the app answers errors: a login redirect (or 401), and the error page for the rest.

Error pages are rendered without a viewer, so they carry no CSRF token and show no account.
"""

from __future__ import annotations

from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from bluebench.review import PermissionDenied
from bluebench.review import ValidationError as ReviewValidationError
from bluebench.web.deps import NotLoggedIn
from bluebench.web.render import render


async def not_logged_in(request: Request, exc: NotLoggedIn) -> Response:
    """Pages redirect to the login form and back; htmx swaps and POSTs get a plain 401."""
    if request.method != "GET" or request.headers.get("HX-Request"):
        return Response("login required", status_code=401, media_type="text/plain")
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)


async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
    """Redirects pass through as they are; any other status gets the error page."""
    if exc.status_code in (301, 302, 303, 307, 308):
        return Response(status_code=exc.status_code, headers=exc.headers)
    return render(
        request, "error.html", None, exc.status_code, status=exc.status_code, message=str(exc.detail)
    )


async def denied(request: Request, exc: PermissionDenied) -> Response:
    """The store refused a role's action: the error page says why, with 403."""
    return render(request, "error.html", None, 403, status=403, message=str(exc))


async def invalid(request: Request, exc: ReviewValidationError) -> Response:
    """The store refused a value: the error page says why, with 400."""
    return render(request, "error.html", None, 400, status=400, message=str(exc))


def install_handlers(app: FastAPI) -> None:
    """Registers every handler above on ``app``."""
    app.exception_handler(NotLoggedIn)(not_logged_in)
    app.exception_handler(StarletteHTTPException)(http_error)
    app.exception_handler(PermissionDenied)(denied)
    app.exception_handler(ReviewValidationError)(invalid)
