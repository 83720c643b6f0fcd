"""The vulnerabilities page: the latest stored ranking with reasons, decisions recorded and audited."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pytest
from fastapi.testclient import TestClient
from web_fixtures import ANALYST, FAST_HASHER, LEAD, Site, csrf_of

from bluebench.events.workspace import Workspace
from bluebench.review import LoginPolicy, ReviewStore
from bluebench.vuln.findings import RANKED_FINDING_SCHEMA, RankedFindings
from bluebench.vuln.store import store_run
from bluebench.web import create_app

HOSTILE = "<script>alert(1)</script>"


def finding(rank: int, fid: str, asset: str, reasons: list[str]) -> dict[str, object]:
    row: dict[str, object] = {name: None for name in RANKED_FINDING_SCHEMA.names}
    row.update(
        rank=rank,
        finding_id=fid,
        priority=1.0 / rank,
        decision="Track",
        cve=f"CVE-2024-{1000 + rank}",
        score=0.5 / rank,
        in_kev=False,
        asset=asset,
        package="openssl",
        cves=[f"CVE-2024-{1000 + rank}"],
        scanner="trivy",
        file="scan.json",
        record=rank,
        weight=2,
        reasons=reasons,
    )
    return row


@pytest.fixture
def vuln_site(tmp_path: Path) -> Iterator[Site]:
    rows = [
        finding(1, "f-one", "web-01", ["asset web-01: critical", "EPSS 0.9 (99th percentile)"]),
        finding(2, "f-two", HOSTILE, [f"vendor {HOSTILE} with 3 earlier KEV additions"]),
    ]
    ranked = RankedFindings(pa.Table.from_pylist(rows, schema=RANKED_FINDING_SCHEMA), 0.02, {})
    with Workspace(tmp_path / "ws", command="test") as ws:
        store_run(ws.con, ranked, [], date(2025, 3, 23), date(2025, 3, 23), 365, "model.zip", {})
    store = ReviewStore(f"sqlite:///{tmp_path / 'review.db'}", hasher=FAST_HASHER)
    store.add_user(*LEAD, "lead")
    store.add_user(*ANALYST, "analyst")
    app = create_app(tmp_path / "ws", store=store, login_policy=LoginPolicy(base_s=600.0))
    with TestClient(app) as client:
        yield Site(client, store, tmp_path / "ws")
    app.state.con.close()
    store.close()


def test_findings_are_listed_best_first_with_reasons_escaped(vuln_site: Site) -> None:
    vuln_site.login(*ANALYST)
    page = vuln_site.client.get("/vulns")
    assert page.status_code == 200
    assert page.text.index("CVE-2024-1001") < page.text.index("CVE-2024-1002")
    assert "EPSS 0.9 (99th percentile)" in page.text
    assert HOSTILE not in page.text and "&lt;script&gt;" in page.text
    assert "Showing 2 of 2" in page.text


def test_a_decision_is_recorded_audited_and_an_expired_risk_comes_back(vuln_site: Site) -> None:
    csrf = vuln_site.login(*ANALYST)
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).date().isoformat()
    r = vuln_site.client.post(
        "/vulns/f-one/decision",
        data={
            "decision": "accepted_risk",
            "reason": "behind the WAF",
            "expires": tomorrow,
            "csrf_token": csrf,
        },
    )
    assert r.status_code == 200 and "accepted risk by analyst1" in r.text
    assert vuln_site.store.finding_decisions()["f-one"].reason == "behind the WAF"
    assert [a.action for a in vuln_site.store.audit("f-one")] == ["finding_decision"]
    only_open = vuln_site.client.get("/vulns?decision=open")
    assert "CVE-2024-1002" in only_open.text and "CVE-2024-1001" not in only_open.text
    # An accepted risk that has expired is open again, and the page says which decision lapsed.
    long_ago = datetime.now(UTC) - timedelta(days=40)
    vuln_site.store.decide_finding(
        "f-one",
        "accepted_risk",
        actor="lead1",
        reason="old waiver",
        expires=long_ago + timedelta(days=30),
        now=long_ago,
    )
    back = vuln_site.client.get("/vulns?decision=open")
    assert "CVE-2024-1001" in back.text and "expired, open again" in back.text and "old waiver" in back.text


def test_refusals_come_back_on_the_page_and_unknown_findings_are_404(vuln_site: Site) -> None:
    csrf = vuln_site.login(*ANALYST)
    r = vuln_site.client.post(
        "/vulns/f-one/decision", data={"decision": "false_finding", "reason": "", "csrf_token": csrf}
    )
    assert r.status_code == 200 and "false finding needs a reason" in r.text
    assert vuln_site.store.finding_decisions() == {}
    missing = vuln_site.client.post("/vulns/nope/decision", data={"decision": "fix_now", "csrf_token": csrf})
    assert missing.status_code == 404
    no_csrf = vuln_site.client.post("/vulns/f-one/decision", data={"decision": "fix_now"})
    assert no_csrf.status_code in (400, 403)
    assert vuln_site.store.finding_decisions() == {}


def test_a_workspace_without_rankings_says_how_to_make_one(site: Site) -> None:
    site.login(*ANALYST)
    page = site.client.get("/vulns")
    assert page.status_code == 200 and "bluebench vuln rank" in page.text
    assert csrf_of(page.text)
