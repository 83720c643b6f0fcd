"""A detector's page, its reviewer verdicts chart, and the lead's threshold and owner settings."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

import duckdb
from fastapi import APIRouter, Form, HTTPException, Query, Request
from fastapi.responses import RedirectResponse, Response

from bluebench.reports import charts
from bluebench.web import deps, views
from bluebench.web.deps import CheckedDep, ViewerDep
from bluebench.web.render import render

router = APIRouter()


def _known_or_404(con: duckdb.DuckDBPyConnection, detector_id: str) -> None:
    """Not registered and no stored alerts: 404 on every detector URL, the chart included."""
    if not views.detector_known(con, detector_id):
        raise HTTPException(404, "no such detector")


@router.get("/detectors/{detector_id}")
def detector(
    request: Request,
    detector_id: str,
    viewer: ViewerDep,
    budget: Annotated[float | None, Query(ge=0, le=1_000_000)] = None,
) -> Response:
    """The detector's alerts and verdicts; ``budget`` (alerts a day) asks which threshold keeps to it."""
    con = deps.cursor(request)
    _known_or_404(con, detector_id)
    page = views.detector_page(con, deps.store(request), detector_id, budget)
    return render(request, "detector.html", viewer, d=page)


@router.post("/detectors/{detector_id}/threshold")
def set_threshold(
    request: Request,
    detector_id: str,
    viewer: CheckedDep,
    threshold: Annotated[float, Form(ge=0.0, le=1.0)],
) -> Response:
    """A lead sets the detector's threshold; the store keeps who and when."""
    deps.lead_only(viewer)
    _known_or_404(deps.cursor(request), detector_id)
    deps.store(request).set_threshold(detector_id, threshold, actor=viewer.user.name)
    return RedirectResponse(f"/detectors/{quote(detector_id, safe='')}", status_code=303)


@router.post("/detectors/{detector_id}/owner")
def set_owner(
    request: Request,
    detector_id: str,
    viewer: CheckedDep,
    owner: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """A lead names the detector's owner; the store keeps who and when."""
    deps.lead_only(viewer)
    _known_or_404(deps.cursor(request), detector_id)
    deps.store(request).set_owner(detector_id, owner.strip(), actor=viewer.user.name)
    return RedirectResponse(f"/detectors/{quote(detector_id, safe='')}", status_code=303)


@router.get("/detectors/{detector_id}/verdicts.png")
def detector_chart(request: Request, detector_id: str, viewer: ViewerDep) -> Response:
    """Reviewer verdicts per week, so a detector's drift in precision shows at a glance."""
    con = deps.cursor(request)
    _known_or_404(con, detector_id)
    weeks = views.verdicts_by_week(con, detector_id, deps.store(request).alert_labels())
    png = charts.verdicts_over_time_png(
        [w for w, _, _ in weeks],
        {"false positive": [fp for _, fp, _ in weeks], "true positive": [tp for _, _, tp in weeks]},
        title=f"Reviewer verdicts by week of the alert: {detector_id}",
    )
    return Response(png, media_type="image/png")
