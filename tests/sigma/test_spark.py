"""Sigma rules on Spark give the DuckDB engine's alerts, counts and evidence (issue 6, scale-out).

Two event sets: SigmaHQ's regression subset shipped in ``tests/data/sigma`` (ingested into a
workspace and exported as Parquet, the path ``detect --engine spark`` takes), and tiny events
written here that exercise each modifier, NOT over a missing field, case-insensitivity, rule
text with quotes and backslashes, a keyword search and a correlation rule.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sigma_helpers import T0, batch, write_rule
from typer.testing import CliRunner

from bluebench.alerts.store import load_alerts
from bluebench.cli import app
from bluebench.engines import parity_key
from bluebench.engines.parquet import export_parquet
from bluebench.events.workspace import Workspace
from bluebench.schema import Alert
from bluebench.sigma import RuleSet, SigmaEngine, compile_rules, detect_workspace, engine_alerts
from bluebench.sigma.source import EVENT_COLUMNS
from bluebench.sigma.spark import check_ruleset, refused_field, run_rules
from bluebench.sources import discover

DATA = Path(__file__).resolve().parents[1] / "data" / "sigma"


@pytest.fixture(scope="module")
def spark() -> Iterator[Any]:
    """The process's ``local[2]`` session: the one tests/engines started, or a new one.

    Not stopped here: Spark keeps one session per JVM, and tests/engines' session fixture
    (or the end of the process) stops it. CI sets BLUEBENCH_REQUIRE_SPARK=1: fail, not skip.
    """
    missing = [m for m in ("pyspark", "sqlglot") if importlib.util.find_spec(m) is None]
    if missing:
        reason = f"{', '.join(missing)} not installed: pip install -e '.[spark]'"
        if os.environ.get("BLUEBENCH_REQUIRE_SPARK") == "1":
            pytest.fail(f"BLUEBENCH_REQUIRE_SPARK=1 but {reason}")
        pytest.skip(reason)
    from bluebench.engines.spark import start_session

    yield start_session("local[2]")


def _alerts_key(alerts: list[Alert]) -> list[tuple[Any, ...]]:
    return [parity_key(a) for a in sorted(alerts, key=lambda a: a.id)]


def _state(engine: SigmaEngine) -> dict[str, Any]:
    """Per rule: count, and per host the count, time span and evidence (file, record) in order."""
    return {
        rid: (
            rm.count,
            {
                h: (hm.count, hm.first, hm.last, [(e.file, e.record, e.event_id) for e in hm.events])
                for h, hm in rm.hosts.items()
            },
            rm.keys,
        )
        for rid, rm in engine.matches.items()
    }


def _first_matched(engine: SigmaEngine) -> dict[str, list[dict[str, str]]]:
    return {rid: [e.matched for e in rm.events] for rid, rm in engine.matches.items()}


def _compare(duck: SigmaEngine, spark_engine: SigmaEngine) -> list[Alert]:
    assert spark_engine.events_seen == duck.events_seen
    assert _state(spark_engine) == _state(duck)
    assert _first_matched(spark_engine) == _first_matched(duck)
    duck_alerts, spark_alerts = engine_alerts(duck), engine_alerts(spark_engine)
    assert _alerts_key(spark_alerts) == _alerts_key(duck_alerts)
    assert [a.score for a in sorted(spark_alerts, key=lambda a: a.id)] == [
        a.score for a in sorted(duck_alerts, key=lambda a: a.id)
    ]
    return duck_alerts


@pytest.fixture(scope="module")
def regression(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The shipped regression EVTX in a workspace, and its Parquet export."""
    root = tmp_path_factory.mktemp("sigma-spark")
    with Workspace(root / "ws") as ws:
        ws.ingest(discover([str(DATA / "regression")]))
        export_parquet(ws.con, root / "parquet")
    return root / "ws", root / "parquet"


def test_regression_subset_gives_identical_alerts(regression: tuple[Path, Path], spark: Any) -> None:
    from bluebench.engines.spark import SparkEngine

    folder, parquet = regression
    rs = compile_rules([DATA / "rules"])
    with Workspace(folder) as ws:
        duck, _ = detect_workspace(ws.con, rs)
    SparkEngine(spark, parquet)  # registers the ``events`` view over the Parquet
    on_spark = run_rules(spark, rs)
    alerts = _compare(duck, on_spark)
    # Not a comparison of nothing: every shipped rule matches its own regression EVTX.
    assert {a.entities["rule"] for a in alerts} == {r.id for r in rs.rules}


RULES = r"""title: endswith and NOT over a missing field
id: 30000000-0000-0000-0000-000000000001
status: test
level: high
logsource: {category: process_creation, product: windows}
detection:
    sel:
        Image|endswith: '\whoami.exe'
    filter:
        ParentImage|endswith: '\explorer.exe'
    condition: sel and not filter
---
title: contains all, startswith, quotes and backslashes as data
id: 30000000-0000-0000-0000-000000000002
status: test
level: medium
logsource: {category: process_creation, product: windows}
detection:
    a:
        CommandLine|contains|all: ["it's", '\\share\']
    b:
        Image|startswith: 'C:\Temp\'
    condition: a or b
---
title: regex, windash and numbers
id: 30000000-0000-0000-0000-000000000003
status: test
level: low
logsource: {category: process_creation, product: windows}
detection:
    re:
        CommandLine|re: '-[Ee]nc\s+[A-Za-z0-9+/=]{8,}'
    dash:
        CommandLine|windash|contains: ' -exec '
    num:
        ProcessId|gt: 4000
    condition: re or (dash and num)
---
title: fieldref and exists
id: 30000000-0000-0000-0000-000000000004
status: test
level: critical
logsource: {category: process_creation, product: windows}
detection:
    same:
        Image|fieldref: ParentImage
    noname:
        OriginalFileName|exists: false
    condition: same and noname
---
title: cidr on network connections
id: 30000000-0000-0000-0000-000000000005
status: test
level: medium
logsource: {category: network_connection, product: windows}
detection:
    sel:
        DestinationIp|cidr: '10.0.0.0/9'
    condition: sel
---
title: keyword anywhere in the event
id: 30000000-0000-0000-0000-000000000006
status: test
level: low
logsource: {category: process_creation, product: windows}
detection:
    keywords:
        - 'HackTool'
    condition: keywords
---
title: whoami by user
id: 30000000-0000-0000-0000-000000000007
name: whoami_run
status: test
level: low
logsource: {category: process_creation, product: windows}
detection:
    sel:
        CommandLine|contains: 'whoami'
    condition: sel
---
title: repeated whoami
id: 30000000-0000-0000-0000-000000000008
status: test
level: high
correlation:
    type: event_count
    rules:
        - whoami_run
    group-by:
        - User
    timespan: 1m
    condition:
        gte: 3
"""


def _events() -> list[dict[str, Any]]:
    def at(s: float) -> Any:
        return T0 + timedelta(seconds=s)

    return [
        {"Image": r"C:\Windows\System32\WHOAMI.EXE", "ParentImage": r"C:\x\cmd.exe", "User": "bob"},
        {"Image": r"C:\Windows\System32\whoami.exe", "ParentImage": r"C:\Windows\Explorer.EXE"},
        {"Image": r"C:\Windows\System32\whoami.exe", "CommandLine": "WhoAmI /all", "User": "Bob"},
        {"Image": r"c:\temp\tool.exe", "CommandLine": r"copy it's \\share\x", "_host": "pc2"},
        {"Image": r"D:\x.exe", "CommandLine": r"it's not a share"},
        {"Image": r"D:\p.exe", "CommandLine": "powershell -Enc SQBFAFgAIAAoAA==", "ProcessId": "12"},
        {"Image": r"D:\p.exe", "CommandLine": "psexec /exec x", "ProcessId": "4242"},
        {"Image": r"D:\p.exe", "CommandLine": "psexec -exec x", "ProcessId": "42"},
        {"Image": r"C:\A.exe", "ParentImage": r"c:\a.EXE"},
        {"Image": r"C:\A.exe", "ParentImage": r"c:\a.EXE", "OriginalFileName": "a.exe"},
        {"_code": "3", "DestinationIp": "10.1.2.3", "_host": None},
        {"_code": "3", "DestinationIp": "10.200.0.1"},
        {"_code": "3", "DestinationIp": "11.0.0.1"},
        {"Image": r"C:\x.exe", "Description": "a HACKTOOL here", "_channel": "Security", "_code": "4688"},
        {"CommandLine": "whoami", "User": "BOB", "_ts": at(100)},
        {"CommandLine": "whoami /priv", "User": "bob", "_ts": at(110)},
        {"CommandLine": "whoami /groups", "User": "eve", "_ts": at(120)},
        {"CommandLine": "whoami", "User": "bob", "_ts": at(130)},
        {"CommandLine": "whoami", "User": "bob", "_ts": at(500)},
        {"_code": "4624", "_channel": "Security", "TargetUserName": "whoami"},
    ]


def _as_parquet(table: pa.Table, path: Path) -> None:
    """Batch columns renamed to the events table's, as an export would write them."""
    out = table.rename_columns([EVENT_COLUMNS[c] for c in table.column_names])
    out = out.append_column("event.dataset", pa.array(["evtx"] * out.num_rows, pa.string()))
    pq.write_table(out, path)


def test_tiny_events_every_modifier_and_a_correlation(tmp_path: Path, spark: Any) -> None:
    rs = compile_rules([write_rule(tmp_path, RULES)])
    assert not rs.failures, rs.failures
    assert len(rs.rules) == 7 and len(rs.correlations) == 1
    events = _events()
    table = batch(events)
    duck = SigmaEngine(rs)
    duck.run([table])
    _as_parquet(table, tmp_path / "events.parquet")
    on_spark = run_rules(spark, rs, spark.read.parquet(str(tmp_path / "events.parquet")))
    alerts = _compare(duck, on_spark)
    records = {
        rid: sorted(int(e.record) for e in rm.events if e.record is not None)
        for rid, rm in on_spark.matches.items()
    }
    # what Sigma means, not only what DuckDB did: case-insensitive, NOT true over an absent field
    assert records["30000000-0000-0000-0000-000000000001"] == [1, 3]
    assert records["30000000-0000-0000-0000-000000000002"] == [4]
    assert records["30000000-0000-0000-0000-000000000003"] == [6, 7]
    assert records["30000000-0000-0000-0000-000000000004"] == [9]
    assert records["30000000-0000-0000-0000-000000000005"] == [11]
    assert records["30000000-0000-0000-0000-000000000006"] == [14]
    assert records["30000000-0000-0000-0000-000000000007"] == [3, 15, 16, 17, 18, 19]
    correlated = [a for a in alerts if a.entities.get("rule") == "30000000-0000-0000-0000-000000000008"]
    assert [a.entities.get("User") for a in correlated] == ["bob"]


HOSTILE = """title: hostile field name
id: 40000000-0000-0000-0000-000000000001
status: test
level: high
logsource: {category: process_creation, product: windows}
detection:
    sel:
        "Image` = '' OR 1=1 --|contains": 'x'
    condition: sel
---
title: fine
id: 40000000-0000-0000-0000-000000000002
status: test
level: high
logsource: {category: process_creation, product: windows}
detection:
    sel:
        Image|contains: 'x'
    condition: sel
"""


def test_hostile_field_name_is_refused_with_a_reason(tmp_path: Path) -> None:

    rs = compile_rules([write_rule(tmp_path, HOSTILE)])
    assert len(rs.rules) == 2  # the DuckDB engine binds field names; Spark refuses them
    checked = check_ruleset(rs)
    assert [r.title for r in checked.rules] == ["fine"]
    refused = [f for f in checked.failures if f.rule == "hostile field name"]
    assert len(refused) == 1 and "refused on Spark" in refused[0].reason
    assert "1=1" in refused[0].reason  # the reason names the field
    assert len(rs.rules) == 2 and not rs.failures  # the caller's RuleSet is left as it was


@pytest.mark.parametrize("name", ["Image", "Data.Name", "param-1", "_text", "a_b9"])
def test_plain_field_names_are_accepted(name: str) -> None:

    assert refused_field(name) is None


@pytest.mark.parametrize("name", ["", "9lives", "a b", "a'b", 'a"b', "a`b", "a;b", "x" * 200, "é"])
def test_other_field_names_are_refused(name: str) -> None:

    assert refused_field(name) is not None


def test_hostile_rule_does_not_run_on_spark(tmp_path: Path, spark: Any) -> None:
    rs = compile_rules([write_rule(tmp_path, HOSTILE)])
    table = batch([{"Image": "x.exe"}])
    _as_parquet(table, tmp_path / "events.parquet")
    got = run_rules(spark, rs, spark.read.parquet(str(tmp_path / "events.parquet")))
    assert [r.title for r in got.ruleset.rules] == ["fine"]
    assert {rid: rm.count for rid, rm in got.matches.items()} == {"40000000-0000-0000-0000-000000000002": 1}
    assert any("refused on Spark" in f.reason for f in got.ruleset.failures)


def test_cli_detect_on_spark_runs_sigma_beside_the_detectors(
    regression: tuple[Path, Path], spark: Any
) -> None:
    folder, parquet = regression
    rs: RuleSet = compile_rules([DATA / "rules"])
    with Workspace(folder) as ws:
        _, duck = detect_workspace(ws.con, rs)
    args = ["detect", "-w", str(folder), "--engine", "spark", "--parquet", str(parquet)]
    result = CliRunner().invoke(
        app, [*args, "--only", "brute_force", "--rules", str(DATA / "rules"), "--json"]
    )
    assert result.exit_code == 0, result.output
    with Workspace(folder) as ws:
        stored = load_alerts(ws.con, detector="sigma")
    assert sorted(a.id for a in stored) == sorted(a.id for a in duck)
