"""The review UI: FastAPI routes that check who is asking, call one function and render.

Pages: the queue (``/``), an incident (``/incidents/ID``), a detector (``/detectors/ID``),
metrics (``/metrics``) and search (``/search``). Every page needs a session; every state
change is a POST carrying the session's CSRF token (a form field, or the ``X-CSRF-Token``
header that htmx sends from ``hx-headers`` on ``<body>``). Templates and static files ship
inside the package; nothing is loaded from another origin.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote, urlsplit

import duckdb
from fastapi import Depends, FastAPI, Form, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.exceptions import HTTPException as StarletteHTTPException

from bluebench.alerts.search import search_alerts, search_events
from bluebench.errors import BluebenchError
from bluebench.events.workspace import DB_NAME
from bluebench.incidents import Incident, load_incident
from bluebench.reports import charts
from bluebench.review import VERDICTS, PermissionDenied, ReviewStore, User
from bluebench.review import ValidationError as ReviewValidationError
from bluebench.web import security, views

PAGE_SIZE = 50
LOGIN_MAX_FAILURES = 5  # failed logins per name and client ...
LOGIN_WINDOW_S = 900  # ... within this many seconds, before login answers 429
VERDICT_NAMES = {
    "true_positive": "True positive",
    "false_positive": "False positive",
    "benign_true_positive": "Benign true positive",
    "needs_info": "Needs more information",
}


@dataclass
class Settings:
    """What ``create_app`` was given; kept on ``app.state``."""

    workspace: Path
    db_url: str | None
    mail_evaluation: Path | None
    secure_cookies: bool
    page_size: int
    login_max_failures: int
    login_window_s: int


class NotLoggedIn(Exception):
    """Raised by the session dependency; answered with a redirect (pages) or 401 (htmx, POST)."""


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
    app.add_middleware(security.SecurityHeaders)
    app.mount("/static", StaticFiles(directory=_package_dir("static")), name="static")
    templates = Jinja2Templates(directory=_package_dir("templates"))
    templates.env.globals["attack_url"] = views.attack_url
    templates.env.globals["verdict_names"] = VERDICT_NAMES
    templates.env.filters["when"] = _when
    templates.env.filters["pct"] = _pct
    _routes(app, templates)
    return app


def _when(t: datetime | None) -> str:
    return "" if t is None else t.strftime("%Y-%m-%d %H:%M:%S")


def _pct(v: float | None) -> str:
    return "n/a" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{100 * v:.1f}%"


# ------------------------------------------------------------------ per-request helpers


def _store(request: Request) -> ReviewStore:
    store: ReviewStore = request.app.state.store
    return store


def _cursor(request: Request) -> duckdb.DuckDBPyConnection:
    """A cursor of the shared read-only connection: DuckDB cursors are safe across threads."""
    con: duckdb.DuckDBPyConnection = request.app.state.con
    return con.cursor()


def _settings(request: Request) -> Settings:
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
    user = _store(request).session_user(token) if token else None
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
    return request.client.host if request.client else "unknown"


def _date(text: str) -> datetime | None:
    if not text:
        return None
    try:
        return datetime.fromisoformat(text)
    except ValueError as exc:
        raise HTTPException(400, f"not a date: {text[:40]!r} (use YYYY-MM-DD)") from exc


# ------------------------------------------------------------------ routes


def _routes(app: FastAPI, templates: Jinja2Templates) -> None:
    def render(request: Request, name: str, viewer: Viewer | None, code: int = 200, **ctx: Any) -> Response:
        ctx.update(viewer=viewer, csrf=viewer.csrf if viewer else "", csrf_field=security.CSRF_FIELD)
        return templates.TemplateResponse(request, name, ctx, status_code=code)

    @app.exception_handler(NotLoggedIn)
    async def not_logged_in(request: Request, exc: NotLoggedIn) -> Response:
        if request.method != "GET" or request.headers.get("HX-Request"):
            return Response("login required", status_code=401, media_type="text/plain")
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code in (301, 302, 303, 307, 308):
            return Response(status_code=exc.status_code, headers=exc.headers)
        return render(
            request, "error.html", None, exc.status_code, status=exc.status_code, message=str(exc.detail)
        )

    @app.exception_handler(PermissionDenied)
    async def denied(request: Request, exc: PermissionDenied) -> Response:
        return render(request, "error.html", None, 403, status=403, message=str(exc))

    @app.exception_handler(ReviewValidationError)
    async def invalid(request: Request, exc: ReviewValidationError) -> Response:
        return render(request, "error.html", None, 400, status=400, message=str(exc))

    # -------------------------------------------------------------- login

    def login_page(request: Request, next_: str, error: str = "", status: int = 200) -> Response:
        token = security.login_token()
        resp = render(
            request, "login.html", None, status, login_token=token, next=_safe_next(next_), error=error
        )
        resp.set_cookie(
            security.LOGIN_COOKIE,
            token,
            httponly=True,
            samesite="strict",
            secure=security.cookie_secure(request, _settings(request).secure_cookies),
            path="/login",
        )
        return resp

    @app.get("/login")
    def login_form(request: Request, next: str = "/") -> Response:
        return login_page(request, next)

    @app.post("/login")
    def login(
        request: Request,
        name: Annotated[str, Form(max_length=200)] = "",
        password: Annotated[str, Form(max_length=1000)] = "",
        csrf_token: Annotated[str, Form(max_length=200)] = "",
        next: Annotated[str, Form(max_length=2000)] = "/",
    ) -> Response:
        if not security.login_token_ok(request.cookies.get(security.LOGIN_COOKIE), csrf_token):
            raise HTTPException(403, "missing or wrong CSRF token: reload the login page")
        store, s, client = _store(request), _settings(request), _client(request)
        if store.recent_failures(name, client, window_s=s.login_window_s) >= s.login_max_failures:
            return login_page(request, next, "too many failed logins: wait and try again", 429)
        user = store.authenticate(name, password)
        store.record_login(name, client, user is not None)
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

    @app.post("/logout")
    def logout(request: Request, viewer: CheckedDep) -> Response:
        _store(request).end_session(viewer.token)
        resp = RedirectResponse("/login", status_code=303)
        resp.delete_cookie(security.SESSION_COOKIE, path="/")
        return resp

    # -------------------------------------------------------------- queue

    @app.get("/")
    def queue(
        request: Request,
        viewer: ViewerDep,
        status: str = "open",
        detector: Annotated[str, Query(max_length=200)] = "",
        technique: Annotated[str, Query(max_length=50)] = "",
        entity: Annotated[str, Query(max_length=500)] = "",
        since: str = "",
        until: str = "",
        page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
    ) -> Response:
        if status not in views.STATUSES:
            raise HTTPException(400, f"status must be one of {', '.join(views.STATUSES)}")
        f = views.QueueFilters(
            status, detector.strip(), technique.strip().upper(), entity.strip(), _date(since), _date(until)
        )
        q = views.queue_page(_cursor(request), _store(request), f, page, _settings(request).page_size)
        params = {"status": status, "detector": f.detector, "technique": f.technique, "entity": f.entity,
                  "since": since, "until": until}  # fmt: skip
        # Only the rows for htmx's own swaps; a history restore (back button) needs the whole page.
        partial = request.headers.get("HX-Target") == "queue-rows" and not request.headers.get(
            "HX-History-Restore-Request"
        )
        name = "_queue_rows.html" if partial else "queue.html"
        return render(request, name, viewer, q=q, f=f, params=params, statuses=views.STATUSES)

    # -------------------------------------------------------------- incident

    @app.get("/incidents/{incident_id}")
    def incident(request: Request, incident_id: str, viewer: ViewerDep, error: str = "") -> Response:
        page = views.incident_page(_cursor(request), _store(request), incident_id)
        if page is None:
            raise HTTPException(404, "no such incident")
        return render(request, "incident.html", viewer, p=page, verdicts=VERDICTS, error=error[:300])

    def _incident_or_404(request: Request, incident_id: str) -> Incident:
        inc = load_incident(_cursor(request), incident_id)
        if inc is None:
            raise HTTPException(404, "no such incident")
        return inc

    def _back(incident_id: str, error: str = "") -> Response:
        url = f"/incidents/{quote(incident_id, safe='')}"
        if error:
            url += "?error=" + quote(error[:300], safe="")
        return RedirectResponse(url + "#review", status_code=303)

    @app.post("/incidents/{incident_id}/verdict")
    def verdict(
        request: Request,
        incident_id: str,
        viewer: CheckedDep,
        verdict: Annotated[str, Form(max_length=50)],
        reason: Annotated[str, Form(max_length=5000)] = "",
    ) -> Response:
        if verdict not in VERDICTS:
            raise HTTPException(400, f"unknown verdict; one of {', '.join(VERDICTS)}")
        inc = _incident_or_404(request, incident_id)
        try:
            _store(request).set_verdict(
                incident_id,
                verdict,
                actor=viewer.user.name,
                reason=reason.strip(),
                alerts=views.review_alerts(inc, _cursor(request)),
            )
        except ReviewValidationError as exc:
            return _back(incident_id, str(exc))
        return _back(incident_id)

    @app.post("/incidents/{incident_id}/assign")
    def assign(
        request: Request,
        incident_id: str,
        viewer: CheckedDep,
        assignee: Annotated[str, Form(max_length=200)] = "",
    ) -> Response:
        _incident_or_404(request, incident_id)
        store = _store(request)
        if assignee and store.get_user(assignee) is None:
            return _back(incident_id, f"no such user: {assignee}")
        store.assign(incident_id, assignee or None, actor=viewer.user.name)
        return _back(incident_id)

    @app.post("/incidents/{incident_id}/comment")
    def comment(
        request: Request,
        incident_id: str,
        viewer: CheckedDep,
        text: Annotated[str, Form(max_length=10000)] = "",
    ) -> Response:
        _incident_or_404(request, incident_id)
        if not text.strip():
            return _back(incident_id, "a comment needs some text")
        _store(request).comment(incident_id, text.strip(), actor=viewer.user.name)
        return _back(incident_id)

    # -------------------------------------------------------------- detector

    @app.get("/detectors/{detector_id}")
    def detector(
        request: Request,
        detector_id: str,
        viewer: ViewerDep,
        budget: Annotated[float | None, Query(ge=0, le=1_000_000)] = None,
    ) -> Response:
        con = _cursor(request)
        if not views.detector_known(con, detector_id):
            raise HTTPException(404, "no such detector")
        page = views.detector_page(con, _store(request), detector_id, budget)
        return render(request, "detector.html", viewer, d=page)

    def _lead_only(viewer: Viewer) -> None:
        if not viewer.is_lead:
            raise HTTPException(403, "only a lead changes thresholds and owners")

    @app.post("/detectors/{detector_id}/threshold")
    def set_threshold(
        request: Request,
        detector_id: str,
        viewer: CheckedDep,
        threshold: Annotated[float, Form(ge=0.0, le=1.0)],
    ) -> Response:
        _lead_only(viewer)
        if not views.detector_known(_cursor(request), detector_id):
            raise HTTPException(404, "no such detector")
        _store(request).set_threshold(detector_id, threshold, actor=viewer.user.name)
        return RedirectResponse(f"/detectors/{quote(detector_id, safe='')}", status_code=303)

    @app.post("/detectors/{detector_id}/owner")
    def set_owner(
        request: Request,
        detector_id: str,
        viewer: CheckedDep,
        owner: Annotated[str, Form(max_length=200)] = "",
    ) -> Response:
        _lead_only(viewer)
        if not views.detector_known(_cursor(request), detector_id):
            raise HTTPException(404, "no such detector")
        _store(request).set_owner(detector_id, owner.strip(), actor=viewer.user.name)
        return RedirectResponse(f"/detectors/{quote(detector_id, safe='')}", status_code=303)

    @app.get("/detectors/{detector_id}/verdicts.png")
    def detector_chart(request: Request, detector_id: str, viewer: ViewerDep) -> Response:
        con = _cursor(request)
        weeks = views.verdicts_by_week(con, detector_id, _store(request).alert_labels())
        png = charts.verdicts_over_time_png(
            [w for w, _, _ in weeks],
            {"false positive": [fp for _, fp, _ in weeks], "true positive": [tp for _, _, tp in weeks]},
            title=f"Reviewer verdicts by week of the alert: {detector_id}",
        )
        return Response(png, media_type="image/png")

    # -------------------------------------------------------------- metrics

    @app.get("/metrics")
    def metrics(
        request: Request, viewer: ViewerDep, evaluation: Annotated[str, Query(max_length=64)] = ""
    ) -> Response:
        evals = views.stored_evaluation_rows(_cursor(request))
        chosen = next((e for e in evals if e.get("id") == evaluation), evals[0] if evals else None)
        mail, mail_note = views.read_mail_evaluation(_settings(request).mail_evaluation)
        return render(
            request, "metrics.html", viewer, evals=evals, chosen=chosen, mail=mail, mail_note=mail_note
        )

    def _chart(request: Request, name: str, evaluation: str) -> bytes:
        evals = views.stored_evaluation_rows(_cursor(request))
        ev = next((e for e in evals if e.get("id") == evaluation), evals[0] if evals else None)
        mail, _ = views.read_mail_evaluation(_settings(request).mail_evaluation)
        drawers: dict[str, Callable[[], bytes]] = {
            "pr": lambda: charts.pr_curve_png(
                {"detectors (overall)": charts.curve_from_evaluation(ev)} if ev else {},
                charts.points_from_mail(mail) if mail else None,
            ),
            "alerts-per-day": lambda: charts.alerts_per_day_vs_recall_png(
                {"detectors (overall)": charts.curve_from_evaluation(ev)} if ev else {}
            ),
            "confusion": lambda: charts.confusion_matrix_png(
                charts.confusion_from_evaluation(ev) if ev else None, title="Detectors, overall"
            ),
            "mail-confusion": lambda: charts.confusion_matrix_png(
                charts.confusion_from_mail(mail) if mail else None, title="Mail model, test part"
            ),
            "drift": lambda: charts.drift_by_month_png(
                charts.drift_from_mail(mail) if mail else [], title="Mail model drift by month"
            ),
        }
        if name not in drawers:
            raise HTTPException(404, "no such chart")
        return drawers[name]()

    @app.get("/charts/{name}.png")
    def chart(
        request: Request, name: str, viewer: ViewerDep, evaluation: Annotated[str, Query(max_length=64)] = ""
    ) -> Response:
        return Response(_chart(request, name, evaluation), media_type="image/png")

    # -------------------------------------------------------------- search

    @app.get("/search")
    def search(
        request: Request, viewer: ViewerDep, q: Annotated[str, Query(max_length=500)] = ""
    ) -> Response:
        con = _cursor(request)
        return render(
            request,
            "search.html",
            viewer,
            q=q,
            search_q=q,
            events=search_events(con, q),
            alerts=search_alerts(con, q),
        )
