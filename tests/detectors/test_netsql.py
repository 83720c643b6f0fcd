"""Beaconing, long connections and exfiltration read the sources in passes: the same findings as one pass."""

from __future__ import annotations

from pathlib import Path

from bluebench.datagen.netflows import NetPlan, generate_conn
from bluebench.detectors import c2, netsql
from bluebench.detectors.c2 import Beaconing, LongConnection
from bluebench.detectors.exfil import Exfiltration
from bluebench.events.workspace import Workspace
from bluebench.sources import discover

PLAN = NetPlan(rows=20_000, days=2, hosts=30, servers=4, sites=1500, beacons=3, exfiltrations=2, scans=0)


def test_passes_over_the_sources_give_the_findings_of_one(tmp_path: Path) -> None:
    generate_conn(PLAN, tmp_path / "gen")
    ws = Workspace(tmp_path / "ws")
    ws.ingest(discover([str(tmp_path / "gen" / "conn.log")]))
    with ws:
        for cls in (Beaconing, LongConnection, Exfiltration):
            one = cls(min_score=0.0).detect(ws.con)
            many = cls(min_score=0.0, chunk_rows=3000).detect(ws.con)  # seven passes
            assert one, f"{cls.id} found nothing to compare"
            assert [(a.id, a.score, a.reasons, a.event_ids) for a in many] == [
                (a.id, a.score, a.reasons, a.event_ids) for a in one
            ], cls.id


def test_evidence_fetched_for_kept_findings_is_what_all_findings_cite(tmp_path: Path) -> None:
    """Evidence comes from a second query over the kept findings' hosts: the same ids as the full run."""
    generate_conn(PLAN, tmp_path / "gen")
    ws = Workspace(tmp_path / "ws")
    ws.ingest(discover([str(tmp_path / "gen" / "conn.log")]))
    with ws:
        for cls in (Beaconing, LongConnection, Exfiltration):
            every = {(a.score, tuple(a.reasons)): a.event_ids for a in cls(min_score=0.0).detect(ws.con)}
            kept = cls().detect(ws.con)
            for a in kept:
                assert a.event_ids and a.event_ids == every[(a.score, tuple(a.reasons))], cls.id
            below = [f for f in cls().score(ws.con) if not cls().reaches(f.score)]
            assert all(not f.event_ids for f in below), cls.id


def test_conn_only_queries_give_the_rows_of_the_full_ones_when_no_ssl_or_http_was_read(
    tmp_path: Path,
) -> None:
    """Without ssl/http records, beaconing and long connections skip the name join: same rows."""
    generate_conn(PLAN, tmp_path / "gen")
    ws = Workspace(tmp_path / "ws")
    ws.ingest(discover([str(tmp_path / "gen" / "conn.log")]))
    common = {"merge_gap": 30.0, "allow": [], "chunks": 1, "chunk": 0}
    beacon = {**common, "min_attempts": 12, "bins": 24, "standard": [443]}
    long = {**common, "merge_gap": 120.0, "min_seconds": 1800.0, "slice": 900.0}
    with ws:
        for sql, params in ((c2.BEACON_SQL, beacon), (c2.LONG_SQL, long)):
            full = ws.con.execute(
                sql[True], {**params, "odd_ua": c2.ODD_USER_AGENT} if sql is c2.BEACON_SQL else params
            )
            rows = full.fetchall()
            assert rows and rows == ws.con.execute(sql[False], params).fetchall()


def test_sessions_shared_by_a_run_give_the_findings_each_detector_builds_alone(tmp_path: Path) -> None:
    """Within one run the repeated 5-tuples are counted once and their sessions merged once per gap, then dropped."""
    generate_conn(PLAN, tmp_path / "gen")
    ws = Workspace(tmp_path / "ws")
    ws.ingest(discover([str(tmp_path / "gen" / "conn.log")]))
    tables = "SELECT table_name FROM duckdb_tables() WHERE temporary ORDER BY 1"
    with ws:
        detectors = [cls(min_score=0.0, chunk_rows=3000) for cls in (Beaconing, LongConnection, Exfiltration)]
        alone = [[(a.id, a.score, a.reasons, a.event_ids) for a in d.detect(ws.con)] for d in detectors]
        with netsql.shared_sessions(ws.con, detectors):
            shared = [[(a.id, a.score, a.reasons, a.event_ids) for a in d.detect(ws.con)] for d in detectors]
            during = [name for (name,) in ws.con.execute(tables).fetchall()]
            repeated = ws.con.execute(f"SELECT count(*) FROM {netsql.REPEATED_TABLE}").fetchall()[0][0]
        after = ws.con.execute(tables).fetchall()
    assert all(alone) and shared == alone
    # The local hosts, the repeated 5-tuples and their records, their sessions at each gap
    # (beaconing and exfiltration merge at 30 s, long connections at 120 s), and the sums per pair.
    assert netsql.shares_sessions(detectors) and not netsql.shares_sessions(detectors[:1])
    merged = [netsql.MERGED_TABLE.format(n=i) for i in range(2)]
    made = [
        netsql.LOCAL_TABLE,
        netsql.REPEATED_TABLE,
        netsql.RECORDS_TABLE,
        *merged,
        netsql.PAIR_TABLE.format(n=0),
    ]
    assert during == sorted(made) and after == []
    assert repeated > 0, "the generated traffic repeats some 5-tuples (retried and cut sessions)"


def test_pair_sums_count_the_hosts_the_events_count_and_exfiltration_finds_the_same(tmp_path: Path) -> None:
    """The run's pair sums give the hosts per destination of the event queries, allow lists included."""
    generate_conn(PLAN, tmp_path / "gen")
    ws = Workspace(tmp_path / "ws")
    ws.ingest(discover([str(tmp_path / "gen" / "conn.log")]))
    with ws:
        busiest = ws.con.execute(
            """SELECT "destination.ip" FROM events WHERE "network.direction" = 'outbound'
               GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 2"""
        ).fetchall()
        allow = [str(ip) for (ip,) in busiest]
        detectors = [cls(min_score=0.0, chunk_rows=3000) for cls in (Beaconing, LongConnection, Exfiltration)]
        exfil_allowed = Exfiltration(min_score=0.0, chunk_rows=3000, allow=allow)
        alone = [(a.score, a.reasons, a.event_ids) for a in exfil_allowed.detect(ws.con)]

        def counted(sql: str, params: dict[str, object]) -> list[tuple[object, ...]]:
            return sorted(ws.con.execute(sql, params).fetchall())

        with netsql.shared_sessions(ws.con, detectors):
            pairs = netsql.pair_sums(ws.con, 30.0)
            shared = [(a.score, a.reasons, a.event_ids) for a in exfil_allowed.detect(ws.con)]
            for tcp_udp, sql, extra in (
                (True, netsql.DESTINATION_HOSTS_SQL, {}),
                (False, c2.TARGET_HOSTS_SQL, {"odd_ua": c2.ODD_USER_AGENT}),
            ):
                from_pairs = netsql.pair_hosts_sql(ws.con, 30.0, tcp_udp)
                assert from_pairs is not None and pairs is not None and pairs in from_pairs
                for allowed in ([], allow):
                    expected = counted(sql, {"allow": allowed, **extra})
                    assert expected and counted(from_pairs, {"allow": allowed}) == expected
        assert netsql.pair_sums(ws.con, 30.0) is None  # outside a run: each detector reads the events
    assert alone and shared == alone
