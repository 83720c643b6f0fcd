"""Login and logout: the throttled login form with its double-submit token, and ending a session."""

from __future__ import annotations

import math
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from bluebench.web import deps, security
from bluebench.web.deps import CheckedDep
from bluebench.web.render import render

router = APIRouter()


def _safe_next(target: str | None) -> str:
    """Only a local path may be a redirect target after login (no open redirect)."""
    if not target:
        return "/"
    parts = urlsplit(target)
    if (
        parts.scheme
        or parts.netloc
        or not target.startswith("/")
        or target.startswith("//")
        or "\\" in target
    ):
        return "/"
    return target


def _client(request: Request) -> str:
    """The client's address, which the login throttle counts failures by.

    The address the connection came from: ``serve`` trusts forwarded headers only from the
    proxies named with ``--forwarded-allow-ips`` (uvicorn rewrites it there), never by default.
    """
    return request.client.host if request.client else "unknown"


def login_page(request: Request, next_: str, error: str = "", status: int = 200) -> Response:
    """The login form with a fresh double-submit token, set as a cookie only /login reads."""
    token = security.login_token()
    resp = render(request, "login.html", None, status, login_token=token, next=_safe_next(next_), error=error)
    resp.set_cookie(
        security.LOGIN_COOKIE,
        token,
        httponly=True,
        samesite="strict",
        secure=security.cookie_secure(request, deps.settings(request).secure_cookies),
        path="/login",
    )
    return resp


@router.get("/login")
def login_form(request: Request, next: str = "/") -> Response:
    """The form; ``next`` is kept only if it is a local path."""
    return login_page(request, next)


@router.post("/login")
def login(
    request: Request,
    name: Annotated[str, Form(max_length=200)] = "",
    password: Annotated[str, Form(max_length=1000)] = "",
    csrf_token: Annotated[str, Form(max_length=200)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/",
) -> Response:
    """Token first, then the throttle, then the password: a guess made too soon is not even tried.

    The throttle is per account and client (``review.logins``): an attacker's failures delay
    the attacker's own address, never the account's owner elsewhere.
    """
    if not security.login_token_ok(request.cookies.get(security.LOGIN_COOKIE), csrf_token):
        raise HTTPException(403, "missing or wrong CSRF token: reload the login page")
    store, s, client = deps.store(request), deps.settings(request), _client(request)
    wait = store.login_wait(name, client, s.login_policy)
    if wait.delayed:
        seconds = math.ceil(wait.wait_s)
        resp = login_page(request, next, f"too many failed logins: try again in {seconds} s", 429)
        resp.headers["Retry-After"] = str(seconds)
        return resp
    user = store.authenticate(name, password)
    store.record_login(name, client, user is not None, s.login_policy)
    if user is None:
        return login_page(request, next, "wrong name or password", 401)
    token = store.create_session(user.name)
    resp = RedirectResponse(_safe_next(next), status_code=303)
    resp.set_cookie(
        security.SESSION_COOKIE,
        token,
        httponly=True,
        samesite="strict",
        secure=security.cookie_secure(request, s.secure_cookies),
        path="/",
    )
    resp.delete_cookie(security.LOGIN_COOKIE, path="/login")
    return resp


@router.post("/logout")
def logout(request: Request, viewer: CheckedDep) -> Response:
    """Ends the session in the store too, so a copied cookie stops working."""
    deps.store(request).end_session(viewer.token)
    resp = RedirectResponse("/login", status_code=303)
    resp.delete_cookie(security.SESSION_COOKIE, path="/")
    return resp
