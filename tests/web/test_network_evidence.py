"""Network alerts through the rest of the path: one incident per host, network fields on its page."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest
from fastapi.testclient import TestClient
from web_fixtures import FAST_HASHER, LEAD, csrf_of

from bluebench.alerts.store import save_alerts
from bluebench.detectors import build_detectors, load_config, run_detectors
from bluebench.incidents import group_alerts, load_incidents
from bluebench.review import LoginPolicy, ReviewStore
from bluebench.schema import Alert
from bluebench.web import create_app
from netlogs import T0, conn, every, ingest, zeek_tsv

SERVER = "10.1.0.5"
ATTACKER = "203.0.113.9"
C2 = "198.51.100.77"


def _story() -> list[dict[str, object]]:
    """A server scanned from the Internet, then brute-forced over SSH, then beaconing out."""
    scan = [conn(i * 0.05, ATTACKER, SERVER, 20 + i, sport=60000, state="S0", got=None) for i in range(40)]
    tries = [
        conn(60 + 4 * i, ATTACKER, SERVER, 22, sport=40000 + i, service="ssh", duration=2.0)
        for i in range(30)
    ]
    beacon = [conn(t, SERVER, C2, 4444, sport=50000 + i) for i, t in enumerate(every(600, 60, 60, 0.5))]
    return scan + tries + beacon


@pytest.fixture
def network_site(tmp_path: Path) -> Iterator[tuple[TestClient, Path]]:
    with ingest(tmp_path, {"conn.log": zeek_tsv("conn", _story())}) as ws:
        detectors = build_detectors(load_config())
        save_alerts(ws.con, run_detectors(ws.con, detectors), [d.id for d in detectors])
        group_alerts(ws.con)
    store = ReviewStore(f"sqlite:///{tmp_path / 'review.db'}", hasher=FAST_HASHER)
    store.add_user(*LEAD, "lead")
    app = create_app(tmp_path / "ws", store=store, login_policy=LoginPolicy(base_s=600.0))
    with TestClient(app) as client:
        yield client, tmp_path / "ws"
    app.state.con.close()
    store.close()


def test_scan_brute_force_and_beacon_of_one_host_are_one_incident_showing_network_fields(
    network_site: tuple[TestClient, Path],
) -> None:
    client, ws_dir = network_site
    con = duckdb.connect(str(ws_dir / "bluebench.duckdb"), read_only=True)
    try:
        incidents = load_incidents(con)
        detectors = {a: d for a, d in con.execute("SELECT id, detector FROM alerts").fetchall()}
    finally:
        con.close()
    mine = [
        i
        for i in incidents
        if {"port_scan", "network_brute_force", "beaconing"} <= {detectors[a] for a in i.alert_ids}
    ]
    assert len(mine) == 1, [(i.id, [detectors[a] for a in i.alert_ids]) for i in incidents]
    page = client.get("/login")
    assert page.status_code == 200
    r = client.post(
        "/login", data={"name": LEAD[0], "password": LEAD[1], "csrf_token": csrf_of(page.text), "next": "/"}
    )
    assert r.status_code == 200
    html = client.get(f"/incidents/{mine[0].id}").text
    assert f"to {C2}:4444" in html and f"to {SERVER}:22" in html and "tcp/ssh" in html


def _http(t: float, src: str, dst: str, host: str, agent: str, i: int) -> dict[str, object]:
    """One http.log request (no conn.log beside it: the capture holds only HTTP)."""
    return {
        "ts": T0 + t, "uid": f"CH{i:06d}", "id.orig_h": src, "id.orig_p": 50000 + i, "id.resp_h": dst,
        "id.resp_p": 8080, "trans_depth": 1, "method": "GET", "host": host, "uri": "/poll", "referrer": None,
        "version": "1.1", "user_agent": agent, "request_body_len": 0, "response_body_len": 120,
        "status_code": 200, "status_msg": "OK",
    }  # fmt: skip


def test_http_evidence_shows_host_and_user_agent_escaped(tmp_path: Path) -> None:
    """The host and User-Agent of an alert's HTTP evidence are on the page, as text, never as markup."""
    agent = "<script>alert(1)</script>"
    rows = [_http(t, SERVER, C2, "poll.example.net", agent, i) for i, t in enumerate(every(0, 60, 20, 0.5))]
    with ingest(tmp_path, {"http.log": zeek_tsv("http", rows)}) as ws:
        ids, first, last = ws.con.execute(
            'SELECT list("event.id" ORDER BY "@timestamp"), min("@timestamp"), max("@timestamp") FROM events'
        ).fetchall()[0]
        # An alert made here, so the page is tested on HTTP evidence whatever a detector decides.
        alert = Alert(
            "beaconing", "Beaconing to one destination", "high", 0.9, ["TA0011"], ["T1071"],
            {"source": SERVER, "destination": C2}, first, last, len(ids), ["every 60 s"], list(ids),
        )  # fmt: skip
        save_alerts(ws.con, [alert], ["beaconing"])
        group_alerts(ws.con)
        incidents = load_incidents(ws.con)
    assert len(incidents) == 1
    store = ReviewStore(f"sqlite:///{tmp_path / 'review.db'}", hasher=FAST_HASHER)
    store.add_user(*LEAD, "lead")
    app = create_app(tmp_path / "ws", store=store, login_policy=LoginPolicy(base_s=600.0))
    try:
        with TestClient(app) as client:
            page = client.get("/login")
            client.post(
                "/login",
                data={"name": LEAD[0], "password": LEAD[1], "csrf_token": csrf_of(page.text), "next": "/"},
            )
            html = client.get(f"/incidents/{incidents[0].id}").text
    finally:
        app.state.con.close()
        store.close()
    assert f"to {C2}:8080" in html and "name poll.example.net" in html
    assert "user agent &lt;script&gt;alert(1)&lt;/script&gt;" in html and agent not in html
