"""Pages from the package's Jinja2 templates: the filters and globals they use, and ``render``.

``render`` adds what every page needs (the viewer and their CSRF token) so that no route can
forget the token a form must carry.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

from fastapi import Request
from fastapi.responses import Response
from fastapi.templating import Jinja2Templates

from bluebench.web import security, views
from bluebench.web.deps import Viewer

VERDICT_NAMES = {
    "true_positive": "True positive",
    "false_positive": "False positive",
    "benign_true_positive": "Benign true positive",
    "needs_info": "Needs more information",
}


def make_templates(directory: str) -> Jinja2Templates:
    """The templates of one app, with the filters and globals the pages use."""
    templates = Jinja2Templates(directory=directory)
    templates.env.globals["attack_url"] = views.attack_url
    templates.env.globals["verdict_names"] = VERDICT_NAMES
    templates.env.filters["when"] = _when
    templates.env.filters["pct"] = _pct
    return templates


def _when(t: datetime | None) -> str:
    return "" if t is None else t.strftime("%Y-%m-%d %H:%M:%S")


def _pct(v: float | None) -> str:
    return "n/a" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{100 * v:.1f}%"


def render(request: Request, name: str, viewer: Viewer | None, code: int = 200, **ctx: Any) -> Response:
    """The template ``name`` with the viewer and their CSRF token added (none on error pages)."""
    templates: Jinja2Templates = request.app.state.templates
    ctx.update(viewer=viewer, csrf=viewer.csrf if viewer else "", csrf_field=security.CSRF_FIELD)
    return templates.TemplateResponse(request, name, ctx, status_code=code)
