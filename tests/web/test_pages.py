"""The pages through the app: queue, incident, verdicts, detector, metrics, search, accounts."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
from fastapi.testclient import TestClient
from web_fixtures import ANALYST, FAST_HASHER, LEAD, Site, csrf_of

from bluebench.events.workspace import DB_NAME
from bluebench.incidents import load_incidents
from bluebench.reports import charts
from bluebench.review import ReviewStore
from bluebench.web import create_app
from bluebench.web.views import read_mail_evaluation

HX = {"HX-Request": "true", "HX-Target": "queue-rows"}  # what htmx sends for the queue's swaps


def _incidents(site: Site | Path) -> list[str]:
    """Incident ids in rank order, read beside the app (read-only connections coexist)."""
    folder = site if isinstance(site, Path) else site.workspace
    con = duckdb.connect(str(folder / DB_NAME), read_only=True)
    try:
        return [i.id for i in load_incidents(con)]
    finally:
        con.close()


def test_queue_ranks_incidents_and_counts_them(site: Site) -> None:
    site.login(*ANALYST)
    page = site.client.get("/")
    assert page.status_code == 200
    ids = _incidents(site)
    positions = [page.text.index(f"/incidents/{i}") for i in ids]
    assert positions == sorted(positions), "the queue lists incidents by risk, highest first"
    assert f"open: {len(ids)}" in page.text
    assert "alerts grouped into" in page.text


def test_queue_filters_partial_reload_and_pagination(site: Site) -> None:
    site.login(*ANALYST)
    part = site.client.get("/", params={"detector": "brute_force"}, headers=HX)
    assert part.status_code == 200
    assert "<html" not in part.text, "htmx gets only the rows"
    restore = site.client.get("/", headers={**HX, "HX-History-Restore-Request": "true"})
    assert "<html" in restore.text, "the back button gets the whole page"
    assert part.text.count('class="incident-row"') >= 1
    none = site.client.get("/", params={"technique": "T9999"}, headers=HX)
    assert "No incidents match" in none.text
    assert site.client.get("/", params={"status": "nonsense"}).status_code == 400
    assert site.client.get("/", params={"since": "not-a-date"}).status_code == 400


def test_verdict_closes_incident_and_changes_precision(site: Site) -> None:
    csrf = site.login(*ANALYST)
    top = _incidents(site)[0]
    page = site.client.get(f"/incidents/{top}")
    assert page.status_code == 200
    # dismissal without a reason is refused and says why
    r = site.client.post(f"/incidents/{top}/verdict", data={"verdict": "false_positive", "csrf_token": csrf})
    assert r.status_code == 200 and "review-error" in r.text
    assert site.store.incident_state(top).status == "open"
    r = site.client.post(
        f"/incidents/{top}/verdict",
        data={"verdict": "false_positive", "reason": "admin's scheduled job", "csrf_token": csrf},
    )
    assert r.status_code == 200
    state = site.store.incident_state(top)
    assert (state.status, state.verdict, state.reason) == (
        "closed",
        "false_positive",
        "admin's scheduled job",
    )
    assert "admin&#39;s scheduled job" in r.text
    queue = site.client.get("/")
    assert f"/incidents/{top}" not in queue.text, "closed incidents leave the open queue"
    assert f"/incidents/{top}" in site.client.get("/", params={"status": "closed"}).text
    detector = next(iter(site.store.detector_verdicts()))
    d = site.client.get(f"/detectors/{detector}")
    assert "0.0%" in d.text and "reviewed alerts" in d.text


def test_assign_and_comment_are_audited(site: Site) -> None:
    csrf = site.login(*ANALYST)
    top = _incidents(site)[0]
    site.client.post(f"/incidents/{top}/assign", data={"assignee": LEAD[0], "csrf_token": csrf})
    site.client.post(f"/incidents/{top}/comment", data={"text": "looking <b>now</b>", "csrf_token": csrf})
    page = site.client.get(f"/incidents/{top}")
    assert "looking &lt;b&gt;now&lt;/b&gt;" in page.text
    actions = [a.action for a in site.store.audit(top)]
    assert any("assign" in a for a in actions) and any("comment" in a for a in actions)
    bad = site.client.post(f"/incidents/{top}/assign", data={"assignee": "nobody-here", "csrf_token": csrf})
    assert "no such user" in bad.text


def test_lead_changes_threshold_and_owner(site: Site) -> None:
    csrf = site.login(*LEAD)
    r = site.client.post("/detectors/brute_force/threshold", data={"threshold": "0.42", "csrf_token": csrf})
    assert r.status_code == 200 and "0.42 (set by a lead)" in r.text
    r = site.client.post("/detectors/brute_force/owner", data={"owner": "soc-team", "csrf_token": csrf})
    assert "soc-team" in r.text
    assert site.store.detector_settings()["brute_force"].threshold == 0.42


def test_sigma_has_a_detector_page_and_a_leads_threshold(site: Site) -> None:
    """Sigma is a registered detector: its page answers and a lead sets its threshold there."""
    csrf = site.login(*LEAD)
    page = site.client.get("/detectors/sigma")
    assert page.status_code == 200 and "Sigma rule match" in page.text
    r = site.client.post("/detectors/sigma/threshold", data={"threshold": "0.7", "csrf_token": csrf})
    assert r.status_code == 200 and "0.7 (set by a lead)" in r.text
    assert site.store.detector_settings()["sigma"].threshold == 0.7


def test_detector_budget_answer_uses_stored_scores_and_verdicts(site: Site) -> None:
    csrf = site.login(*ANALYST)
    r = site.client.get("/detectors/brute_force", params={"budget": "1000"})
    assert r.status_code == 200 and "budget-answer" in r.text and "precision n/a" in r.text
    con = duckdb.connect(str(site.workspace / DB_NAME), read_only=True)
    try:
        inc = next(i for i in load_incidents(con, detector="brute_force"))
    finally:
        con.close()
    site.client.post(
        f"/incidents/{inc.id}/verdict",
        data={"verdict": "false_positive", "reason": "test", "csrf_token": csrf},
    )
    r = site.client.get("/detectors/brute_force", params={"budget": "1000"})
    assert "precision 0.0%" in r.text and "0/1 reviewed kept alerts" in r.text
    assert site.client.get("/detectors/no_such_detector").status_code == 404
    assert site.client.get("/detectors/brute_force", params={"budget": "-1"}).status_code == 422
    png = site.client.get("/detectors/brute_force/verdicts.png")
    assert png.headers["content-type"] == "image/png" and png.content.startswith(b"\x89PNG")


def test_unknown_detector_is_404_on_its_page_and_its_chart(site: Site) -> None:
    site.login(*ANALYST)
    page = site.client.get("/detectors/no_such_detector")
    chart = site.client.get("/detectors/no_such_detector/verdicts.png")
    assert (page.status_code, chart.status_code) == (404, 404)
    assert "no such detector" in chart.text and not chart.content.startswith(b"\x89PNG")
    known = site.client.get("/detectors/brute_force/verdicts.png")
    assert known.status_code == 200 and known.content.startswith(b"\x89PNG")


def test_charts_render_without_mail_results(site: Site) -> None:
    site.login(*ANALYST)
    r = site.client.get("/metrics")
    assert r.status_code == 200 and "no mail evaluation given" in r.text
    for name in ("pr", "alerts-per-day", "confusion", "mail-confusion", "drift"):
        c = site.client.get(f"/charts/{name}.png")
        assert c.status_code == 200 and c.content.startswith(b"\x89PNG"), name
    assert site.client.get("/charts/nope.png").status_code == 404


def test_logout_ends_the_session(site: Site) -> None:
    site.login(*ANALYST)
    csrf = csrf_of(site.client.get("/").text)
    r = site.client.post("/logout", data={"csrf_token": csrf}, follow_redirects=False)
    assert r.status_code == 303
    assert site.client.get("/", follow_redirects=False).status_code == 303


def test_metrics_show_stored_evaluation_and_mail_charts(web_workspace: Path, tmp_path: Path) -> None:
    mail = {
        "rows": [
            {
                "key": "all",
                "test": {
                    "threshold": 0.6,
                    "counts": {"TP": 8, "FN": 2, "FP_ham": 1, "TN_ham": 40, "FP_spam": 0, "spam": 3},
                    "precision": {"value": 8 / 9},
                    "recall": {"value": 0.8},
                },
            }
        ],
        "drift": {"months": [{"month": "2024-01", "counts": {"ham": 41}, "fpr": {"value": 1 / 41}}]},
    }
    path = tmp_path / "mail-evaluation.json"
    path.write_text(json.dumps(mail), encoding="utf-8")
    store = ReviewStore(f"sqlite:///{tmp_path / 'review.db'}", hasher=FAST_HASHER)
    store.add_user(*ANALYST, "analyst")
    app = create_app(web_workspace, store=store, mail_evaluation=path)
    with TestClient(app) as client:
        Site(client, store, web_workspace).login(*ANALYST)
        page = client.get("/metrics")
        assert page.status_code == 200 and 'id="overall"' in page.text
        assert "/charts/mail-confusion.png" in page.text and "/charts/drift.png" in page.text
        empty = charts.pr_curve_png({})
        for name in ("pr", "alerts-per-day", "confusion", "mail-confusion", "drift"):
            png = client.get(f"/charts/{name}.png").content
            assert png.startswith(b"\x89PNG") and png != empty, name
    app.state.con.close()
    store.close()
    broken = tmp_path / "broken.json"
    broken.write_text("{not json", encoding="utf-8")
    data, why = read_mail_evaluation(broken)
    assert data is None and "broken.json" in why


def test_pages_follow_the_ranking(web_workspace: Path, tmp_path: Path) -> None:
    store = ReviewStore(f"sqlite:///{tmp_path / 'review.db'}", hasher=FAST_HASHER)
    store.add_user(*ANALYST, "analyst")
    app = create_app(web_workspace, store=store, page_size=3)
    ids = _incidents(web_workspace)
    closed = ids[1]
    store.set_verdict(closed, "true_positive", actor=ANALYST[0], alerts=[])
    open_ids = [i for i in ids if i != closed]
    with TestClient(app) as client:
        Site(client, store, web_workspace).login(*ANALYST)
        shown: list[str] = []
        pages = -(-len(open_ids) // 3)
        for n in range(1, pages + 1):
            html = client.get("/", params={"page": n}, headers=HX).text
            assert f"page {n} of {pages}" in html
            shown += [i for i in open_ids if f"/incidents/{i}" in html]
            assert html.count('class="incident-row"') == min(3, len(open_ids) - 3 * (n - 1))
        assert shown == open_ids, "every open incident once, in rank order, across the pages"
        past = client.get("/", params={"page": 999}, headers=HX).text
        assert f"page {pages} of {pages}" in past
        every = client.get("/", params={"status": "all", "page": 1}, headers=HX).text
        assert "closed: 1" in every and f"open: {len(open_ids)}" in every
    app.state.con.close()
    store.close()
