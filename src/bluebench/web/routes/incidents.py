"""An incident's page and the reviewer's actions on it: verdict, assignment and comment.

Each action answers with a redirect back to the page's review section; a refusal the reviewer
can fix (a missing reason, an unknown user) travels in ``?error=`` rather than as an error page.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from bluebench.incidents import Incident, load_incident
from bluebench.review import VERDICTS
from bluebench.review import ValidationError as ReviewValidationError
from bluebench.web import deps, views
from bluebench.web.deps import CheckedDep, ViewerDep
from bluebench.web.render import render

router = APIRouter()


@router.get("/incidents/{incident_id}")
def incident(request: Request, incident_id: str, viewer: ViewerDep, error: str = "") -> Response:
    """The incident with its evidence; ``error`` is a refusal an action redirected back with."""
    page = views.incident_page(deps.cursor(request), deps.store(request), incident_id)
    if page is None:
        raise HTTPException(404, "no such incident")
    return render(request, "incident.html", viewer, p=page, verdicts=VERDICTS, error=error[:300])


def _incident_or_404(request: Request, incident_id: str) -> Incident:
    """Actions on an unknown incident answer 404 before anything is written."""
    inc = load_incident(deps.cursor(request), incident_id)
    if inc is None:
        raise HTTPException(404, "no such incident")
    return inc


def _back(incident_id: str, error: str = "") -> Response:
    """Back to the review section, with the refusal (cut short) if there was one."""
    url = f"/incidents/{quote(incident_id, safe='')}"
    if error:
        url += "?error=" + quote(error[:300], safe="")
    return RedirectResponse(url + "#review", status_code=303)


@router.post("/incidents/{incident_id}/verdict")
def verdict(
    request: Request,
    incident_id: str,
    viewer: CheckedDep,
    verdict: Annotated[str, Form(max_length=50)],
    reason: Annotated[str, Form(max_length=5000)] = "",
) -> Response:
    """A reviewer's verdict; the store refuses e.g. a dismissal without a reason, shown on the page."""
    if verdict not in VERDICTS:
        raise HTTPException(400, f"unknown verdict; one of {', '.join(VERDICTS)}")
    inc = _incident_or_404(request, incident_id)
    try:
        deps.store(request).set_verdict(
            incident_id,
            verdict,
            actor=viewer.user.name,
            reason=reason.strip(),
            alerts=views.review_alerts(inc, deps.cursor(request)),
        )
    except ReviewValidationError as exc:
        return _back(incident_id, str(exc))
    return _back(incident_id)


@router.post("/incidents/{incident_id}/assign")
def assign(
    request: Request,
    incident_id: str,
    viewer: CheckedDep,
    assignee: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """Assigns to a known user, or unassigns when ``assignee`` is empty."""
    _incident_or_404(request, incident_id)
    store = deps.store(request)
    if assignee and store.get_user(assignee) is None:
        return _back(incident_id, f"no such user: {assignee}")
    store.assign(incident_id, assignee or None, actor=viewer.user.name)
    return _back(incident_id)


@router.post("/incidents/{incident_id}/comment")
def comment(
    request: Request,
    incident_id: str,
    viewer: CheckedDep,
    text: Annotated[str, Form(max_length=10000)] = "",
) -> Response:
    """A comment on the incident's record; an empty one is refused on the page."""
    _incident_or_404(request, incident_id)
    if not text.strip():
        return _back(incident_id, "a comment needs some text")
    deps.store(request).comment(incident_id, text.strip(), actor=viewer.user.name)
    return _back(incident_id)
