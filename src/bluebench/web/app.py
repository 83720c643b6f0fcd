"""The review UI's app factory: opens the workspace, builds the app and includes the routers.

Pages: the queue (``/``), an incident (``/incidents/ID``), a detector (``/detectors/ID``),
metrics (``/metrics``) and search (``/search``); their routes live in ``web.routes``, one
router per area. Every page needs a session; every state change is a POST carrying the
session's CSRF token (a form field, or the ``X-CSRF-Token`` header that htmx sends from
``hx-headers`` on ``<body>``). Templates and static files ship inside the package; nothing is
loaded from another origin.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import duckdb
from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from bluebench.errors import BluebenchError
from bluebench.events.workspace import DB_NAME
from bluebench.review import ReviewStore
from bluebench.web import security
from bluebench.web.deps import Settings
from bluebench.web.handlers import install_handlers
from bluebench.web.render import make_templates
from bluebench.web.routes import auth, detectors, incidents, metrics, queue

PAGE_SIZE = 50
LOGIN_MAX_FAILURES = 5  # failed logins per name and client ...
LOGIN_WINDOW_S = 900  # ... within this many seconds, before login answers 429
ROUTERS = (auth.router, queue.router, incidents.router, detectors.router, metrics.router)


def _package_dir(name: str) -> str:
    return str(resources.files("bluebench.web").joinpath(name))


def create_app(
    workspace: Path,
    db_url: str | None = None,
    *,
    mail_evaluation: Path | None = None,
    secure_cookies: bool = False,
    page_size: int = PAGE_SIZE,
    login_max_failures: int = LOGIN_MAX_FAILURES,
    login_window_s: int = LOGIN_WINDOW_S,
    store: ReviewStore | None = None,
) -> FastAPI:
    """The app over one workspace (opened read-only) and its review store (SQLite or ``db_url``)."""
    workspace = Path(workspace)
    db_file = workspace / DB_NAME
    if not db_file.is_file():
        raise BluebenchError(
            f"{workspace}: no bluebench workspace here (run `bluebench scan PATH -w {workspace}`)"
        )
    con = duckdb.connect(str(db_file), read_only=True)
    con.execute("SET TimeZone = 'UTC'")
    app = FastAPI(
        title="bluebench review",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        default_response_class=HTMLResponse,
    )
    app.state.settings = Settings(
        workspace, db_url, mail_evaluation, secure_cookies, page_size, login_max_failures, login_window_s
    )
    app.state.con = con
    app.state.store = store or ReviewStore.for_workspace(workspace, db_url)
    app.state.csrf_key = security.new_key()
    app.state.templates = make_templates(_package_dir("templates"))
    app.add_middleware(security.SecurityHeaders)
    app.mount("/static", StaticFiles(directory=_package_dir("static")), name="static")
    install_handlers(app)
    for router in ROUTERS:
        app.include_router(router)
    return app
