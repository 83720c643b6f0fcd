"""What every route needs from the request: the app's settings, store and workspace, and who is asking.

``create_app`` keeps the shared objects on ``app.state``; these helpers read them back typed.
The viewer dependencies run before a route does, so no route body sees an anonymous request
or, for a state change, one without the session's CSRF token.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import duckdb
from fastapi import Depends, HTTPException, Request

from bluebench.review import LoginPolicy, ReviewStore, User
from bluebench.web import security


@dataclass
class Settings:
    """What ``create_app`` was given; kept on ``app.state``."""

    workspace: Path
    db_url: str | None
    mail_evaluation: Path | None
    secure_cookies: bool
    page_size: int
    login_policy: LoginPolicy


class NotLoggedIn(Exception):
    """Raised by the session dependency; answered with a redirect (pages) or 401 (htmx, POST)."""


def store(request: Request) -> ReviewStore:
    """The review store the app was built with (typed, since ``app.state`` is not)."""
    found: ReviewStore = request.app.state.store
    return found


def cursor(request: Request) -> duckdb.DuckDBPyConnection:
    """A cursor of the shared read-only connection: DuckDB cursors are safe across threads."""
    con: duckdb.DuckDBPyConnection = request.app.state.con
    return con.cursor()


def settings(request: Request) -> Settings:
    """The app's settings (typed, since ``app.state`` is not)."""
    s: Settings = request.app.state.settings
    return s


@dataclass
class Viewer:
    """The logged-in user, their session token and its CSRF token."""

    user: User
    token: str
    csrf: str

    @property
    def is_lead(self) -> bool:
        return self.user.role == "lead"


def current_viewer(request: Request) -> Viewer:
    """The session's user, or NotLoggedIn."""
    token = request.cookies.get(security.SESSION_COOKIE)
    user = store(request).session_user(token) if token else None
    if user is None or token is None:
        raise NotLoggedIn()
    return Viewer(user, token, security.csrf_token(request.app.state.csrf_key, token))


async def checked_viewer(request: Request, viewer: Annotated[Viewer, Depends(current_viewer)]) -> Viewer:
    """The session's user, after the request's CSRF token (header or form field) matched."""
    sent = request.headers.get(security.CSRF_HEADER)
    if not sent:
        form = await request.form()
        value = form.get(security.CSRF_FIELD)
        sent = value if isinstance(value, str) else None
    if not security.csrf_ok(request.app.state.csrf_key, viewer.token, sent):
        raise HTTPException(403, "missing or wrong CSRF token: reload the page and try again")
    return viewer


ViewerDep = Annotated[Viewer, Depends(current_viewer)]
CheckedDep = Annotated[Viewer, Depends(checked_viewer)]


def lead_only(viewer: Viewer) -> None:
    """Called in the route body, not as a dependency, so a malformed form still answers 422 first."""
    if not viewer.is_lead:
        raise HTTPException(403, "only a lead changes thresholds and owners")
