"""The incident queue (``/``, whole page or htmx rows) and search over events and alerts."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import Response

from bluebench.alerts.search import search_alerts, search_events
from bluebench.web import deps, views
from bluebench.web.deps import ViewerDep
from bluebench.web.render import render

router = APIRouter()


def _date(text: str) -> datetime | None:
    """A filter's date, or 400 naming what was sent (cut short: it is echoed on the error page)."""
    if not text:
        return None
    try:
        return datetime.fromisoformat(text)
    except ValueError as exc:
        raise HTTPException(400, f"not a date: {text[:40]!r} (use YYYY-MM-DD)") from exc


@router.get("/")
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
    """The ranked queue; htmx filter and page changes get only the rows they swap in."""
    if status not in views.STATUSES:
        raise HTTPException(400, f"status must be one of {', '.join(views.STATUSES)}")
    f = views.QueueFilters(
        status, detector.strip(), technique.strip().upper(), entity.strip(), _date(since), _date(until)
    )
    q = views.queue_page(deps.cursor(request), deps.store(request), f, page, deps.settings(request).page_size)
    params = {"status": status, "detector": f.detector, "technique": f.technique, "entity": f.entity,
              "since": since, "until": until}  # fmt: skip
    # Only the rows for htmx's own swaps; a history restore (back button) needs the whole page.
    partial = request.headers.get("HX-Target") == "queue-rows" and not request.headers.get(
        "HX-History-Restore-Request"
    )
    name = "_queue_rows.html" if partial else "queue.html"
    return render(request, name, viewer, q=q, f=f, params=params, statuses=views.STATUSES)


@router.get("/search")
def search(request: Request, viewer: ViewerDep, q: Annotated[str, Query(max_length=500)] = "") -> Response:
    """Events and alerts holding the text, searched as text (never as a pattern or SQL)."""
    con = deps.cursor(request)
    return render(
        request,
        "search.html",
        viewer,
        q=q,
        search_q=q,
        events=search_events(con, q),
        alerts=search_alerts(con, q),
    )
