"""Helpers: tiny events and rules written inline, run through both the engine and the SQL form."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from bluebench.sigma import RuleSet, SigmaEngine, compile_rules

SYSMON = "Microsoft-Windows-Sysmon/Operational"
T0 = datetime(2024, 1, 1, 12, 0, 0)


def batch(events: list[dict[str, Any]]) -> pa.Table:
    """Events as the engine reads them; each dict holds EventData plus optional _code/_channel/_ts."""
    rows: dict[str, list[Any]] = {
        c: [] for c in ("code", "channel", "provider", "host", "ts", "ed", "file", "record", "event_id")
    }
    for i, e in enumerate(events):
        e = dict(e)
        rows["code"].append(str(e.pop("_code", "1")))
        rows["channel"].append(e.pop("_channel", SYSMON))
        rows["provider"].append(e.pop("_provider", "Microsoft-Windows-Sysmon"))
        rows["host"].append(e.pop("_host", "pc1"))
        rows["ts"].append(e.pop("_ts", T0 + timedelta(seconds=i)))
        rows["ed"].append(json.dumps(e))
        rows["file"].append("test.evtx")
        rows["record"].append(i + 1)
        rows["event_id"].append(f"e{i + 1}")
    return pa.table(
        {
            **{k: pa.array(v, pa.string()) for k, v in rows.items() if k not in ("ts", "record")},
            "ts": pa.array(rows["ts"], pa.timestamp("us")),
            "record": pa.array(rows["record"], pa.int64()),
        }
    )


def write_rule(tmp: Path, body: str, name: str = "rule.yml") -> Path:
    p = tmp / name
    p.write_text(body, encoding="utf-8")
    return p


PROC = """title: t
id: {id}
status: test
level: high
logsource:
    category: process_creation
    product: windows
detection:
{detection}
"""


def proc_rule(detection: str, rid: str = "00000000-0000-0000-0000-000000000001") -> str:
    return PROC.format(id=rid, detection=detection)


def run(ruleset: RuleSet, events: list[dict[str, Any]]) -> SigmaEngine:
    eng = SigmaEngine(ruleset)
    eng.run([batch(events)])
    return eng


def sql_records(ruleset: RuleSet, rule_id: str, events: list[dict[str, Any]]) -> list[int]:
    """The same rule through its SQL WHERE clause on DuckDB over a wide table of the events."""
    rule = next(r for r in ruleset.rules if r.id == rule_id)
    names = sorted({k for e in events for k in e if not k.startswith("_")} | set(rule.fields) - {"_text"})
    cols: dict[str, list[Any]] = {n: [] for n in names}
    cols["EventID"], cols["Channel"], cols["_text"], cols["rec"] = [], [], [], []
    for i, e in enumerate(events):
        for n in names:
            if n not in ("EventID", "Channel"):
                v = e.get(n)
                cols[n].append(None if v is None else str(v))
        cols["EventID"].append(str(e.get("_code", "1")))
        cols["Channel"].append(e.get("_channel", SYSMON))
        cols["_text"].append(
            json.dumps({k: v for k, v in e.items() if not k.startswith("_")}).replace("\\\\", "\\")
        )
        cols["rec"].append(i + 1)
    con = duckdb.connect()
    con.register(
        "events",
        pa.table({k: pa.array(v, pa.int64() if k == "rec" else pa.string()) for k, v in cols.items()}),
    )
    return sorted(r[0] for r in con.execute(f"SELECT rec FROM events WHERE {rule.where}").fetchall())


def matched(eng: SigmaEngine, rule_id: str) -> list[int]:
    return sorted(int(e.record) for e in eng.matches[rule_id].events if e.record is not None)


def check(tmp_path: Path, detection: str, events: list[dict[str, Any]]) -> list[int]:
    """A detection (process creation) over tiny events -> records matched; the SQL form must agree."""
    rs = compile_rules([write_rule(tmp_path, proc_rule(detection))])
    assert not rs.failures, rs.failures
    rid = rs.rules[0].id
    got = matched(run(rs, events), rid)
    assert sql_records(rs, rid, events) == got
    return got
