"""The metrics page and its charts: stored detector evaluations and the mail model's results."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import Response

from bluebench.reports import charts
from bluebench.web import deps, views
from bluebench.web.deps import ViewerDep
from bluebench.web.render import render

router = APIRouter()


@router.get("/metrics")
def metrics(
    request: Request, viewer: ViewerDep, evaluation: Annotated[str, Query(max_length=64)] = ""
) -> Response:
    """The chosen (or newest) stored evaluation and the mail model's results, if given."""
    evals = views.stored_evaluation_rows(deps.cursor(request))
    chosen = next((e for e in evals if e.get("id") == evaluation), evals[0] if evals else None)
    mail, mail_note = views.read_mail_evaluation(deps.settings(request).mail_evaluation)
    return render(request, "metrics.html", viewer, evals=evals, chosen=chosen, mail=mail, mail_note=mail_note)


def _chart(request: Request, name: str, evaluation: str) -> bytes:
    """The PNG of chart ``name``; each is drawn only when asked for, an empty one when data is missing."""
    evals = views.stored_evaluation_rows(deps.cursor(request))
    ev = next((e for e in evals if e.get("id") == evaluation), evals[0] if evals else None)
    mail, _ = views.read_mail_evaluation(deps.settings(request).mail_evaluation)
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


@router.get("/charts/{name}.png")
def chart(
    request: Request, name: str, viewer: ViewerDep, evaluation: Annotated[str, Query(max_length=64)] = ""
) -> Response:
    """One metrics chart as PNG, drawn on request (the page links them as images)."""
    return Response(_chart(request, name, evaluation), media_type="image/png")
