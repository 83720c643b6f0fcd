"""Ranked vulnerability findings (the latest ``vuln rank --store`` run) and a person's decision on each.

The page lists the run's findings best first with their reasons and the current decision;
an accepted risk whose expiry has passed shows as open again, with the decision that lapsed.
Deciding is a POST like every other change, kept in the review store and its audit trail.
"""

from __future__ import annotations

from datetime import UTC, datetime, time
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Form, HTTPException, Query, Request
from fastapi.responses import RedirectResponse, Response

from bluebench.review import DECISION_WORDS, FINDING_DECISIONS, DecisionError
from bluebench.vuln.store import latest_run, load_finding, load_findings
from bluebench.web import deps
from bluebench.web.deps import CheckedDep, ViewerDep
from bluebench.web.render import render

router = APIRouter()
SHOWN = 200  # findings on the page; the rest are counted (the ranking puts what matters first)


def _rows(request: Request, decision: str) -> tuple[Any, list[dict[str, Any]], int]:
    """The latest run, its findings (best first) with their decision state, and how many there are."""
    con = deps.cursor(request)
    run = latest_run(con)
    if run is None:
        return None, [], 0
    findings = load_findings(con, run.id)
    decided = deps.store(request).finding_decisions(f["finding_id"] for f in findings)
    now = datetime.now(UTC)
    rows = []
    for f in findings:
        d = decided.get(f["finding_id"])
        lapsed = d is not None and d.lapsed(now)
        state = "open" if d is None or lapsed else d.decision
        if decision and state != decision:
            continue
        rows.append({**f, "state": state, "decided": d, "lapsed": lapsed})
    return run, rows, len(findings)


@router.get("/vulns")
def vulns(
    request: Request,
    viewer: ViewerDep,
    decision: Annotated[str, Query(max_length=32)] = "",
    error: Annotated[str, Query(max_length=300)] = "",
) -> Response:
    """The latest stored ranking; ``decision`` filters by state (open, fix_now, ...)."""
    run, rows, total = _rows(request, decision)
    return render(
        request,
        "vulns.html",
        viewer,
        run=run,
        rows=rows[:SHOWN],
        shown=min(len(rows), SHOWN),
        matching=len(rows),
        total=total,
        decision=decision,
        decisions=FINDING_DECISIONS,
        words=DECISION_WORDS,
        error=error,
    )


def _back(finding_id: str, error: str = "") -> Response:
    url = "/vulns" + ("?error=" + quote(error[:300], safe="") if error else "")
    return RedirectResponse(url + "#f-" + quote(finding_id, safe=""), status_code=303)


@router.post("/vulns/{finding_id}/decision")
def decide(
    request: Request,
    finding_id: str,
    viewer: CheckedDep,
    decision: Annotated[str, Form(max_length=32)],
    reason: Annotated[str, Form(max_length=5000)] = "",
    expires: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    """A person's decision on a finding of the latest run; a refusal they can fix comes back on the page."""
    run = latest_run(deps.cursor(request))
    if run is None or load_finding(deps.cursor(request), run.id, finding_id) is None:
        raise HTTPException(404, "no such finding in the latest ranking")
    until = None
    if expires.strip():
        try:
            until = datetime.combine(datetime.fromisoformat(expires.strip()).date(), time(), UTC)
        except ValueError:
            return _back(finding_id, "the expiry must be a day (YYYY-MM-DD)")
    try:
        deps.store(request).decide_finding(
            finding_id, decision, actor=viewer.user.name, reason=reason, expires=until
        )
    except DecisionError as exc:
        return _back(finding_id, str(exc))
    return _back(finding_id)
