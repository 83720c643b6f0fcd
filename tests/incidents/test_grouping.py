"""Grouping alerts into incidents: shared entities, progressions, stable ids, risk parts, titles."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bluebench.alerts.store import save_alerts
from bluebench.errors import ConfigError
from bluebench.events.workspace import SCHEMA_SQL
from bluebench.incidents import (
    RISK_PARTS,
    AssetList,
    GroupingParams,
    group_alerts,
    incident_id,
    load_assets,
    load_grouping_params,
    load_incident,
    load_incidents,
)
from bluebench.incidents.config import DEFAULT_RISK_WEIGHTS
from bluebench.schema import Alert

T0 = datetime(2024, 5, 1, 10, 0)
CRED, ACCESS, LATERAL = ["TA0006"], ["TA0006", "TA0001"], ["TA0008"]


def alert(
    detector: str,
    tactics: list[str],
    entities: dict[str, str],
    minutes: float,
    *,
    techniques: list[str] | None = None,
    severity: str = "medium",
    score: float = 0.7,
    length: float = 5,
) -> Alert:
    return Alert(
        detector=detector,
        title=detector.replace("_", " ").capitalize(),
        severity=severity,
        score=score,
        tactics=tactics,
        techniques=techniques or ["T1110"],
        entities=entities,
        first_seen=T0 + timedelta(minutes=minutes),
        last_seen=T0 + timedelta(minutes=minutes + length),
        event_count=2,
        reasons=["because"],
    )


@pytest.fixture
def con() -> Iterator[duckdb.DuckDBPyConnection]:
    """An in-memory workspace schema: grouping needs only alerts and alert_events."""
    c = duckdb.connect()
    for sql in SCHEMA_SQL:
        c.execute(sql)
    yield c
    c.close()


def store(con: duckdb.DuckDBPyConnection, alerts: list[Alert]) -> None:
    save_alerts(con, alerts, sorted({a.detector for a in alerts}))


def progression() -> list[Alert]:
    """Spraying from one address, a success from it, then admin shares on three hosts."""
    return [
        alert(
            "password_spray",
            CRED,
            {"source": "203.0.113.7", "host": "DC1"},
            0,
            techniques=["T1110.003"],
            severity="high",
            score=0.9,
        ),
        alert(
            "success_after_failures",
            ACCESS,
            {"user": "alice", "source": "203.0.113.7", "host": "DC1"},
            40,
            techniques=["T1110", "T1078"],
        ),
        *[
            alert(
                "admin_share_access",
                LATERAL,
                {"user": "alice", "host": h, "source": "10.0.0.5"},
                600 + i,
                techniques=["T1021.002"],
                severity="high",
            )
            for i, h in enumerate(["WS1", "WS2", "WS3"])
        ],
    ]


def noise() -> list[Alert]:
    """Unrelated brute force from three addresses against three users, all logged on DC1."""
    return [
        alert("brute_force", CRED, {"user": u, "source": f"198.51.100.{i}", "host": "DC1"}, 5)
        for i, u in enumerate(["bob", "carol", "dave"], 1)
    ]


def test_spray_success_admin_shares_become_one_incident(con: duckdb.DuckDBPyConnection) -> None:
    store(con, progression() + noise())
    report = group_alerts(con)
    assert (report.alerts_in, report.incidents_out) == (8, 4)
    assert report.text() == "8 alerts -> 4 incidents"
    top = load_incidents(con)[0]
    assert top.alert_count == 5
    assert top.detectors == ("admin_share_access", "password_spray", "success_after_failures")
    assert top.tactics == ("TA0001", "TA0006", "TA0008")
    assert top.title.startswith("Password spraying from 203.0.113.7 then admin shares on 3 hosts")
    assert top.entities["user"] == ["alice"]
    assert set(top.entities["host"]) == {"DC1", "WS1", "WS2", "WS3"}
    assert top.entities["source.ip"] == ["10.0.0.5", "203.0.113.7"]
    assert top.severity == "high"
    assert top.first_seen == T0 and top.last_seen == T0 + timedelta(minutes=607)
    # DC1 logs everyone's logons (4 users): it is listed, but joins nothing.
    assert all(i.alert_count == 1 for i in load_incidents(con)[1:])


def test_risk_is_the_sum_of_named_parts_and_ranks(con: duckdb.DuckDBPyConnection) -> None:
    store(con, progression() + noise())
    group_alerts(con)
    incidents = load_incidents(con)
    for inc in incidents:
        assert set(inc.risk_parts) == set(RISK_PARTS)
        assert inc.risk == pytest.approx(sum(inc.risk_parts.values()), abs=0.011)
        assert 0 <= inc.risk <= 100
    assert [i.risk for i in incidents] == sorted((i.risk for i in incidents), reverse=True)
    top, single = incidents[0], incidents[-1]
    assert top.risk_parts["tactics"] > 0 and top.risk_parts["techniques"] > 0
    assert single.risk_parts["tactics"] == 0 and single.risk_parts["alerts"] == 0


def test_ids_are_stable_and_anchor_on_the_earliest_alert(con: duckdb.DuckDBPyConnection) -> None:
    alerts = progression() + noise()
    store(con, alerts)
    group_alerts(con)
    first = {i.id: i.alert_ids for i in load_incidents(con)}
    assert all(re.fullmatch(r"inc-[0-9a-f]{16}", i) for i in first)
    spray = alerts[0]
    assert incident_id(spray.id) in first and spray.id in first[incident_id(spray.id)]
    group_alerts(con)  # a re-run replaces, with the same ids
    assert {i.id: i.alert_ids for i in load_incidents(con)} == first
    assert con.execute("SELECT count(*) FROM incident_alerts").fetchall()[0][0] == len(alerts)


def test_same_entity_joins_within_the_window_only(con: duckdb.DuckDBPyConnection) -> None:
    near = [alert("brute_force", CRED, {"user": "eve"}, m) for m in (0, 60)]
    far = [alert("brute_force", CRED, {"user": "eve"}, 60 * 24)]
    store(con, near + far)
    group_alerts(con, GroupingParams(window_minutes=120))
    assert sorted(i.alert_count for i in load_incidents(con)) == [1, 2]


def test_progression_joins_forward_in_the_kill_chain_only(con: duckdb.DuckDBPyConnection) -> None:
    p = GroupingParams(window_minutes=60, progression_window_minutes=24 * 60)
    forward = [
        alert("brute_force", CRED, {"user": "frank"}, 0),
        alert("admin_share_access", LATERAL, {"user": "frank", "host": "WS9"}, 12 * 60),
    ]
    store(con, forward)
    group_alerts(con, p)
    assert [i.alert_count for i in load_incidents(con)] == [2]
    backward = [
        alert("admin_share_access", LATERAL, {"user": "frank", "host": "WS9"}, 0),
        alert("brute_force", CRED, {"user": "frank"}, 12 * 60),
    ]
    store(con, backward)
    group_alerts(con, p)
    assert [i.alert_count for i in load_incidents(con)] == [1, 1]


def test_ignored_values_and_asset_hubs_do_not_join(con: duckdb.DuckDBPyConnection) -> None:
    store(con, [alert("brute_force", CRED, {"user": "-", "host": "FS1"}, m) for m in (0, 1)])
    group_alerts(con, load_grouping_params(), AssetList())
    assert [i.alert_count for i in load_incidents(con)] == [2]  # joined by FS1, not by '-'
    inc = load_incidents(con)[0]
    assert inc.entities["user"] == []
    hubs = AssetList({("host", "fs1"): load_assets_row("host", "FS1", 1.0, hub=True)})
    group_alerts(con, load_grouping_params(), hubs)
    incidents = load_incidents(con)
    assert [i.alert_count for i in incidents] == [1, 1]
    assert all(i.risk_parts["criticality"] == 10.0 for i in incidents)


def load_assets_row(kind: str, name: str, crit: float, hub: bool = False):  # type: ignore[no-untyped-def]
    from bluebench.incidents import Asset

    return Asset(kind, name, crit, hub)


def test_asset_list_csv_and_toml(tmp_path: Path, con: duckdb.DuckDBPyConnection) -> None:
    csv = tmp_path / "assets.csv"
    csv.write_text("kind,name,criticality,hub\nhost,WS1,critical,\nuser,Alice,0.5,no\nhost,DC1,high,yes\n")
    assets = load_assets(csv)
    assert assets.criticality("host", "ws1") == 1.0 and assets.criticality("user", "ALICE") == 0.5
    assert assets.hubs() == [("host", "dc1")]
    toml = tmp_path / "assets.toml"
    toml.write_text('[[asset]]\nkind = "host"\nname = "WS1"\ncriticality = "critical"\n')
    assert load_assets(toml).criticality("host", "WS1") == 1.0
    store(con, progression())
    group_alerts(con, assets=assets)
    assert load_incidents(con)[0].risk_parts["criticality"] == 10.0


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("kind,name,criticality\nhost,WS1,extreme\n", "line 2"),
        ("kind,name,criticality\nrouter,R1,0.5\n", "line 2"),
        ("kind,name,criticality\nhost,WS1,0.5\nhost,,0.5\n", "line 3"),
        ("kind,name,criticality\nhost,WS1,1.5\n", "outside 0..1"),
        ("name,criticality\nWS1,0.5\n", "header"),
    ],
)
def test_bad_asset_rows_name_file_and_line(tmp_path: Path, text: str, message: str) -> None:
    p = tmp_path / "assets.csv"
    p.write_text(text)
    with pytest.raises(ConfigError, match=message) as info:
        load_assets(p)
    assert str(p) in str(info.value)


def test_dataclass_defaults_are_the_shipped_config() -> None:
    assert GroupingParams() == load_grouping_params()
    assert sum(GroupingParams().risk_weights.values()) == 100


def test_grouping_config_is_validated(tmp_path: Path) -> None:
    p = tmp_path / "g.toml"
    p.write_text("[grouping]\nwindow_minutes = 30\n[grouping.risk_weights]\nseverity = 30\n")
    params = load_grouping_params(p)
    assert params.window_minutes == 30 and params.risk_weights["severity"] == 30
    assert (
        params.risk_weights["max_score"] == DEFAULT_RISK_WEIGHTS["max_score"]
    )  # the rest stay at their defaults
    for bad, msg in [
        ("[grouping]\nwindow = 3\n", "unknown grouping parameters"),
        ("[grouping]\nlink_on = ['mac']\n", "unknown entity kind"),
        ("[grouping.risk_weights]\nseverity = 90\n", "more than 100"),
        ("[other]\nx = 1\n", "unknown tables"),
    ]:
        p.write_text(bad)
        with pytest.raises(ConfigError, match=msg):
            load_grouping_params(p)


def test_filters(con: duckdb.DuckDBPyConnection) -> None:
    store(con, progression() + noise())
    group_alerts(con)
    every = load_incidents(con)
    top = every[0]
    assert [i.id for i in load_incidents(con, detector="password_spray")] == [top.id]
    assert len(load_incidents(con, technique="T1110")) == 4  # T1110.003 and T1110 both match
    assert [i.id for i in load_incidents(con, technique="T1021")] == [top.id]
    assert [i.id for i in load_incidents(con, entity="ALICE")] == [top.id]
    assert [i.id for i in load_incidents(con, entity="ws2")] == [top.id]
    assert load_incidents(con, since=T0 + timedelta(minutes=300)) == [top]
    assert len(load_incidents(con, until=T0 + timedelta(minutes=1))) == 1
    assert load_incidents(con, status_filter={top.id}) == [top]
    assert len(load_incidents(con, status_filter=lambda i: i != top.id)) == 3
    assert load_incidents(con, limit=2) == every[:2]
    assert load_incident(con, top.id) == top
    assert load_incident(con, "inc-0000000000000000") is None


def test_empty_and_missing_tables() -> None:
    c = duckdb.connect()
    assert load_incidents(c) == [] and load_incident(c, "inc-x") is None
    for sql in SCHEMA_SQL:
        c.execute(sql)
    report = group_alerts(c)
    assert (report.alerts_in, report.incidents_out, report.reduction) == (0, 0, None)
    assert load_incidents(c) == []


_users = st.sampled_from(["ann", "bob", "cy", "-", "SYSTEM"])
_hosts = st.sampled_from(["DC1", "WS1", "WS2"])
_srcs = st.sampled_from(["10.0.0.1", "10.0.0.2", "203.0.113.7"])
_tactics = st.sampled_from([CRED, ACCESS, LATERAL, ["TA0003"], ["TA0005"], ["TA9999"], []])


@st.composite
def _alert(draw: st.DrawFn, i: int) -> Alert:
    ents = {
        k: draw(s) for k, s in (("user", _users), ("host", _hosts), ("source", _srcs)) if draw(st.booleans())
    }
    return alert(
        f"det_{draw(st.integers(0, 3))}",
        draw(_tactics),
        ents,
        draw(st.integers(0, 3000)),
        length=draw(st.integers(0, 300)),
        severity=draw(st.sampled_from(["low", "medium", "high", "critical"])),
        score=draw(st.floats(0, 1)),
    )


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 30).flatmap(lambda n: st.tuples(*[_alert(i) for i in range(n)])))
def test_every_alert_lands_in_exactly_one_incident(alerts: tuple[Alert, ...]) -> None:
    c = duckdb.connect()
    for sql in SCHEMA_SQL:
        c.execute(sql)
    store(c, list(alerts))
    n = c.execute("SELECT count(*) FROM alerts").fetchall()[0][0]
    report = group_alerts(c)
    links = c.execute("SELECT alert_id, count(*) FROM incident_alerts GROUP BY 1").fetchall()
    stored = {r[0] for r in c.execute("SELECT id FROM alerts").fetchall()}
    assert {a for a, _ in links} == stored and all(k == 1 for _, k in links)
    incidents = load_incidents(c)
    assert report.alerts_in == n and report.incidents_out == len(incidents) <= n
    assert sum(i.alert_count for i in incidents) == n
    assert len({i.id for i in incidents}) == len(incidents)
    for i in incidents:
        assert 0 <= i.risk <= 100 and i.title
        assert incident_id(i.alert_ids[0]) == i.id  # the anchor is the earliest alert
    c.close()


def test_a_low_confidence_alert_joins_incidents_but_opens_none_alone(con: duckdb.DuckDBPyConnection) -> None:
    weak = alert("unusual_logon_hour", ["TA0001"], {"user": "erin"}, 0)
    weak.confidence = 0.1
    joined = alert("unusual_logon_hour", ["TA0001"], {"user": "frank"}, 5)
    joined.confidence = 0.1
    strong = alert("kerberoasting", CRED, {"user": "frank"}, 10, techniques=["T1558.003"])
    strong.confidence = 0.9
    unmeasured = alert("sigma", CRED, {"user": "gina"}, 20)  # never measured: may open one
    store(con, [weak, joined, strong, unmeasured])
    report = group_alerts(con)
    assert report.incidents_out == 2 and report.held_back == 1
    assert "(1 low-confidence alerts held back: they open no incident alone)" in report.text()
    grouped = {a for i in load_incidents(con) for a in load_incident(con, i.id).alert_ids}
    assert grouped == {joined.id, strong.id, unmeasured.id}
    frank = next(i for i in load_incidents(con) if "frank" in i.entities["user"])
    assert frank.risk_parts["confidence"] == 9.0  # the weight 10 times the best confidence, 0.9
    # with no bar every alert opens its own incident
    assert group_alerts(con, GroupingParams(open_min_confidence=0.0)).held_back == 0
