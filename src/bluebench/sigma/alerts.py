"""Sigma matches as ordinary alerts (detector id ``sigma``), so they flow into incidents,
review and reports like every other detector's.

One alert per rule and host: the rule's title, its level as severity, ATT&CK ids from its
tags, reasons that name the rule id and file and the fields and values that matched, and
the first matching events on that host as evidence (up to the engine's ``evidence_cap``);
the count, first and last times are exact and the reasons say how many events are shown.
The score follows the level (higher = more suspicious); Sigma gives no finer measure.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from bluebench.schema import Alert, Evidence
from bluebench.sigma.correlate import CorrelationHit, correlate
from bluebench.sigma.engine import SigmaEngine
from bluebench.sigma.match import HostMatches, MatchEvent

DETECTOR_ID = "sigma"
LEVEL_SCORE = {"informational": 0.2, "low": 0.4, "medium": 0.6, "high": 0.8, "critical": 0.95}
EPOCH = datetime(1970, 1, 1)


def _short(v: str, n: int = 160) -> str:
    return v if len(v) <= n else v[: n - 3] + "..."


def engine_alerts(engine: SigmaEngine) -> list[Alert]:
    """Alerts for every rule that matched and every correlation that held."""
    suppressed: set[str] = set()
    alerts: list[Alert] = []
    for corr in engine.ruleset.correlations:
        hits = correlate(corr, engine.matches)
        alerts.extend(_correlation_alert(h, engine) for h in hits)
        if not corr.generate:
            suppressed.update(corr.rules)
    for rid, rm in engine.matches.items():
        if rm.count == 0 or rid in suppressed:
            continue
        for host, hm in rm.hosts.items():
            alerts.append(_rule_alert(rm.rule, host, hm))
    return alerts


def _rule_alert(rule: object, host: str, hm: HostMatches) -> Alert:
    from bluebench.sigma.rules import CompiledRule

    assert isinstance(rule, CompiledRule)
    evs = hm.events
    reasons = [f"Sigma rule {rule.id} ({rule.file}) matched {hm.count} events on {host or 'an unnamed host'}"]
    if evs and evs[0].matched:
        shown = ", ".join(f"{k}={_short(v)}" for k, v in evs[0].matched.items())
        reasons.append(f"matched fields: {shown}")
    if hm.count > len(evs):
        reasons.append(f"the first {len(evs)} of the {hm.count} matching events are kept as evidence")
    return Alert(
        detector=DETECTOR_ID,
        title=rule.title,
        severity=rule.severity,
        score=LEVEL_SCORE.get(rule.level, 0.6),
        tactics=rule.tactics,
        techniques=rule.techniques,
        entities={"rule": rule.id, "host.name": host} if host else {"rule": rule.id},
        first_seen=hm.first or EPOCH,
        last_seen=hm.last or EPOCH,
        event_count=hm.count,
        reasons=reasons,
        event_ids=[e.event_id for e in evs if e.event_id],
        evidence=[Evidence(e.file, e.record) for e in evs if e.file is not None and e.record is not None],
    )


def _correlation_alert(h: CorrelationHit, engine: SigmaEngine) -> Alert:
    c = h.correlation
    first = datetime.fromtimestamp(h.first, UTC).replace(tzinfo=None)
    last = datetime.fromtimestamp(h.last, UTC).replace(tzinfo=None)
    group = ", ".join(f"{k}={v}" for k, v in h.group.items()) or "all events"
    what = {"event_count": "events", "value_count": "distinct values", "temporal": "rules"}.get(
        c.type, "rules in order"
    )
    evidence: list[Evidence] = []
    ids: list[str] = []
    for rid in h.rules:
        for e in _events_in(engine.matches[rid].events, h.first, h.last):
            if e.file is not None and e.record is not None:
                evidence.append(Evidence(e.file, e.record))
            if e.event_id:
                ids.append(e.event_id)
    from bluebench.sigma.rules import attack_ids

    tactics, techniques = attack_ids(c.tags)
    return Alert(
        detector=DETECTOR_ID,
        title=c.title,
        severity=c.severity,
        score=LEVEL_SCORE.get(c.level, 0.6),
        tactics=tactics,
        techniques=techniques,
        entities={"rule": c.id, **{k: v for k, v in h.group.items() if v}},
        first_seen=first,
        last_seen=last,
        event_count=h.count,
        reasons=[
            f"Sigma correlation {c.id} ({c.type}, {c.file}): {h.measure:g} {what} within "
            f"{c.timespan_s} s for {group} ({c.op} {c.count:g})",
            "rules: " + ", ".join(engine.matches[r].rule.title for r in h.rules),
        ],
        event_ids=ids,
        evidence=evidence,
    )


def _events_in(evs: Iterable[MatchEvent], lo: float, hi: float) -> list[MatchEvent]:
    out = []
    for e in evs:
        t = e.ts.replace(tzinfo=UTC).timestamp() if e.ts is not None else None
        if t is not None and lo <= t <= hi:
            out.append(e)
    return out
