"""Sigma correlation rules: counts, distinct values, temporal (ordered), always within the timespan."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sigma_helpers import T0, run, write_rule

from bluebench.sigma import compile_rules, engine_alerts
from bluebench.sigma.correlate import correlate

BASE = """title: failed logon
id: 10000000-0000-0000-0000-000000000001
name: failed_logon
status: test
level: low
logsource:
    product: windows
    service: security
detection:
    sel:
        EventID: 4625
    condition: sel
---
title: success logon
id: 10000000-0000-0000-0000-000000000002
name: success_logon
status: test
level: low
logsource:
    product: windows
    service: security
detection:
    sel:
        EventID: 4624
    condition: sel
"""


def corr(kind: str, condition: str, timespan: str = "1m", rules: str = "    - failed_logon") -> str:
    return f"""---
title: correlated
id: 20000000-0000-0000-0000-000000000001
status: test
level: high
correlation:
    type: {kind}
    rules:
{rules}
    group-by:
        - TargetUserName
    timespan: {timespan}
    condition:
{condition}
"""


def logon(code: str, user: str, seconds: float, ip: str = "10.0.0.1") -> dict[str, object]:
    return {
        "_code": code,
        "_channel": "Security",
        "TargetUserName": user,
        "IpAddress": ip,
        "_ts": T0 + timedelta(seconds=seconds),
    }


def hits(tmp_path: Path, text: str, events: list[dict[str, object]]):  # type: ignore[no-untyped-def]
    rs = compile_rules([write_rule(tmp_path, text)])
    assert not rs.failures, rs.failures
    eng = run(rs, events)
    return [h for c in rs.correlations for h in correlate(c, eng.matches)], eng


def test_event_count_counts_within_the_timespan_only(tmp_path: Path) -> None:
    text = BASE + corr("event_count", "        gte: 3")
    close = [logon("4625", "bob", s) for s in (0, 10, 20)]
    far = [logon("4625", "eve", s) for s in (0, 600, 1200)]  # 3 events, 10 minutes apart
    found, eng = hits(tmp_path, text, close + far)
    assert [(h.group, h.count) for h in found] == [({"TargetUserName": "bob"}, 3)]
    alerts = engine_alerts(eng)
    # the referenced rule does not alert on its own (generate: false), the correlation does
    assert [a.title for a in alerts] == ["correlated"]
    assert alerts[0].event_count == 3 and alerts[0].severity == "high"
    assert "3 events within 60 s" in alerts[0].reasons[0]


def test_value_count(tmp_path: Path) -> None:
    text = BASE + corr("value_count", "        gte: 2\n        field: IpAddress")
    events = [
        logon("4625", "bob", 0, "1.1.1.1"),
        logon("4625", "bob", 5, "1.1.1.1"),
        logon("4625", "ann", 0, "1.1.1.1"),
        logon("4625", "ann", 5, "2.2.2.2"),
    ]
    found, _ = hits(tmp_path, text, events)
    assert [h.group["TargetUserName"] for h in found] == ["ann"]


def test_temporal_and_temporal_ordered(tmp_path: Path) -> None:
    both = "    - failed_logon\n    - success_logon"
    fail_then_ok = [logon("4625", "bob", 0), logon("4624", "bob", 30)]
    ok_then_fail = [logon("4624", "ann", 0), logon("4625", "ann", 30)]
    too_late = [logon("4625", "joe", 0), logon("4624", "joe", 300)]
    found, _ = hits(
        tmp_path,
        BASE + corr("temporal", "        gte: 2", rules=both),
        fail_then_ok + ok_then_fail + too_late,
    )
    assert sorted(h.group["TargetUserName"] for h in found) == ["ann", "bob"]
    found, _ = hits(
        tmp_path,
        BASE + corr("temporal_ordered", "        gte: 2", rules=both),
        fail_then_ok + ok_then_fail + too_late,
    )
    assert [h.group["TargetUserName"] for h in found] == ["bob"]
