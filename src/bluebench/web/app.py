"""The review UI's app factory: opens the workspace, builds the app and includes the routers.

Pages: the queue (``/``), an incident (``/incidents/ID``), a detector (``/detectors/ID``),
metrics (``/metrics``) and search (``/search``); their routes live in ``web.routes``, one
router per area. Every page needs a session; every state change is a POST carrying the
session's CSRF token (a form field, or the ``X-CSRF-Token`` header that htmx sends from
``hx-headers`` on ``<body>``). Templates and static files ship inside the package; nothing is
loaded from another origin.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib import resources
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from bluebench.errors import BluebenchError
from bluebench.events.lock import WorkspaceLock
from bluebench.events.workspace import DB_NAME, connect
from bluebench.review import LoginPolicy, ReviewStore
from bluebench.web import security
from bluebench.web.deps import Settings
from bluebench.web.handlers import install_handlers
from bluebench.web.render import make_templates
from bluebench.web.routes import auth, detectors, incidents, metrics, queue, vulns

PAGE_SIZE = 50
ROUTERS = (auth.router, queue.router, incidents.router, detectors.router, metrics.router, vulns.router)


def _package_dir(name: str) -> str:
    return str(resources.files("bluebench.web").joinpath(name))


def create_app(
    workspace: Path,
    db_url: str | None = None,
    *,
    mail_evaluation: Path | None = None,
    secure_cookies: bool = False,
    page_size: int = PAGE_SIZE,
    login_policy: LoginPolicy | None = None,
    store: ReviewStore | None = None,
) -> FastAPI:
    """The app over one workspace (opened read-only) and its review store (SQLite or ``db_url``).

    The app reads the workspace for as long as it runs: a writer (``scan``) started meanwhile
    is told that ``serve`` is reading it, and ``serve`` is refused while a writer holds it.
    """
    workspace = Path(workspace)
    db_file = workspace / DB_NAME
    if not db_file.is_file():
        raise BluebenchError(
            f"{workspace}: no bluebench workspace here (run `bluebench scan PATH -w {workspace}`)"
        )
    lock = WorkspaceLock(workspace, "serve", write=False)
    lock.acquire()
    try:
        con = connect(workspace, read_only=True)
    except BaseException:
        lock.release()
        raise

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        con.close()
        lock.release()

    app = FastAPI(
        lifespan=lifespan,
        title="bluebench review",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        default_response_class=HTMLResponse,
    )
    app.state.settings = Settings(
        workspace, db_url, mail_evaluation, secure_cookies, page_size, login_policy or LoginPolicy()
    )
    app.state.con = con
    app.state.workspace_lock = lock
    app.state.store = store or ReviewStore.for_workspace(workspace, db_url, via="web")
    app.state.csrf_key = security.new_key()
    app.state.templates = make_templates(_package_dir("templates"))
    app.add_middleware(security.SecurityHeaders)
    app.mount("/static", StaticFiles(directory=_package_dir("static")), name="static")
    install_handlers(app)
    for router in ROUTERS:
        app.include_router(router)
    return app
