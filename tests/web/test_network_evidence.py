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
from bluebench.web import create_app
from netlogs import conn, every, ingest, zeek_tsv

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
