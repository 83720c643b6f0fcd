"""Every host with matches gets its alert while the evidence kept per (rule, host) stays capped."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sigma_helpers import T0, batch, proc_rule, write_rule

from bluebench.sigma import SigmaEngine, compile_rules, engine_alerts

DETECTION = """    sel:
        Image|endswith: '\\evil.exe'
    condition: sel
"""


def events(hosts: int, per_host: int) -> list[dict[str, object]]:
    """``per_host`` matching events on each host, one harmless event between them."""
    out: list[dict[str, object]] = []
    for i in range(per_host):
        for h in range(hosts):
            ts = T0 + timedelta(seconds=i * hosts + h)
            out.append({"Image": "C:\\x\\evil.exe", "_host": f"pc{h}", "_ts": ts})
            out.append({"Image": "C:\\x\\good.exe", "_host": f"pc{h}", "_ts": ts})
    return out


def test_every_host_alerted_and_evidence_capped(tmp_path: Path) -> None:
    rs = compile_rules([write_rule(tmp_path, proc_rule(DETECTION))])
    hosts, per_host, cap = 30, 12, 5
    evs = events(hosts, per_host)
    eng = SigmaEngine(rs, evidence_cap=cap)
    # Several batches: the cap and the counts hold across batch boundaries.
    for lo in range(0, len(evs), 97):
        eng.process(batch(evs[lo : lo + 97]))
    rm = eng.matches[rs.rules[0].id]
    assert rm.count == hosts * per_host
    assert len(rm.events) == hosts * cap  # evidence bounded by hosts x cap, not by the matches
    alerts = engine_alerts(eng)
    assert sorted(a.entities["host.name"] for a in alerts) == sorted(f"pc{h}" for h in range(hosts))
    for a in alerts:
        h = int(a.entities["host.name"][2:])
        assert a.event_count == per_host  # the true count, not the kept one
        assert len(a.event_ids) == len(a.evidence) == cap
        assert a.first_seen == T0 + timedelta(seconds=h)
        assert a.last_seen == T0 + timedelta(seconds=(per_host - 1) * hosts + h)
        assert f"matched {per_host} events on pc{h}" in a.reasons[0]
        assert any(f"first {cap} of the {per_host}" in r for r in a.reasons)
        assert any("Image=C:\\x\\evil.exe" in r for r in a.reasons)


def test_small_match_keeps_all_evidence(tmp_path: Path) -> None:
    rs = compile_rules([write_rule(tmp_path, proc_rule(DETECTION))])
    eng = SigmaEngine(rs, evidence_cap=5)
    eng.process(batch(events(2, 3)))
    alerts = engine_alerts(eng)
    assert len(alerts) == 2
    for a in alerts:
        assert a.event_count == len(a.evidence) == 3
        assert not any("kept as evidence" in r for r in a.reasons)


def test_evidence_cap_must_be_positive(tmp_path: Path) -> None:
    rs = compile_rules([write_rule(tmp_path, proc_rule(DETECTION))])
    with pytest.raises(ValueError, match="evidence_cap"):
        SigmaEngine(rs, evidence_cap=0)
