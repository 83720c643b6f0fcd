"""The contract every registered detector honours, checked on the shipped samples.

Stable unique ids, valid ATT&CK ids and severities, scores in 0..1 (higher = more
suspicious), reasons present, evidence that points at real stored records, and scoring
that leaves the workspace unchanged.
"""

from __future__ import annotations

import re

import pytest

from bluebench.alerts.store import load_alerts, save_alerts
from bluebench.detectors import DETECTORS, build_detectors, load_config, run_detectors
from bluebench.events.workspace import Workspace
from bluebench.schema import SEVERITIES

TACTIC = re.compile(r"^TA\d{4}$")
TECHNIQUE = re.compile(r"^T\d{4}(\.\d{3})?$")


@pytest.mark.parametrize("cls", list(DETECTORS), ids=lambda c: c.id)
def test_identity_is_declared(cls: type) -> None:
    assert re.fullmatch(r"[a-z][a-z0-9_]*", cls.id)
    assert cls.title and cls.severity in SEVERITIES
    assert cls.phrase and cls.phrase == cls.phrase.strip(), "incident titles and timelines name the step"
    assert all(TACTIC.match(t) for t in cls.tactics)
    assert all(TECHNIQUE.match(t) for t in cls.techniques)
    if not cls.rule_driven:  # Sigma's alerts carry each rule's own ATT&CK tags
        assert cls.tactics and cls.techniques
    assert cls.__doc__, "a detector says why it exists"


def test_every_config_section_names_a_detector() -> None:
    config = load_config()
    assert set(config) <= set(DETECTORS.names())
    for det in build_detectors(config):
        assert set(config.get(det.id, {})) <= set(det.params)


def _fingerprint(ws: Workspace) -> tuple[object, ...]:
    return tuple(
        ws.con.execute(
            'SELECT count(*), sum(hash("event.id")), sum(hash("event.original")) FROM events'
        ).fetchall()[0]
    )


def test_alerts_honour_the_contract(sample_workspace: Workspace) -> None:
    ws = sample_workspace
    before = _fingerprint(ws)
    detectors = build_detectors(load_config())
    alerts = run_detectors(ws.con, detectors)
    assert _fingerprint(ws) == before, "scoring must not change stored events"
    assert alerts, "the samples hold attacks"
    ids = set(ws.con.execute('SELECT "event.id" FROM events').fetchall())
    for a in alerts:
        assert 0.0 <= a.score <= 1.0
        assert a.reasons and all(r.strip() for r in a.reasons)
        assert any(ch.isdigit() for ch in " ".join(a.reasons)), "reasons carry the numbers"
        assert a.event_ids and a.event_count == len(a.event_ids)
        assert all((e,) in ids for e in a.event_ids), f"{a.detector} cites events that do not exist"
        assert a.first_seen <= a.last_seen
        assert set(a.techniques) and all(TECHNIQUE.match(t) for t in a.techniques)
    # Running again gives the same alerts: scoring is deterministic and stateless.
    again = run_detectors(ws.con, detectors)
    assert [(a.id, a.score) for a in again] == [(a.id, a.score) for a in alerts]


def test_stored_alerts_resolve_evidence_to_file_and_record(sample_workspace: Workspace) -> None:
    ws = sample_workspace
    detectors = build_detectors(load_config())
    alerts = run_detectors(ws.con, detectors)
    save_alerts(ws.con, alerts, [d.id for d in detectors])
    stored = load_alerts(ws.con)
    assert {a.id for a in stored} == {a.id for a in alerts}
    for a in stored:
        assert len(a.evidence) == a.event_count
        for ev in a.evidence:
            row = ws.con.execute(
                'SELECT count(*) FROM events WHERE "log.file.path" = ? AND "log.record" = ?',
                [ev.file, ev.record],
            ).fetchall()
            assert row[0][0] >= 1
    ranks = [(SEVERITIES.index(a.severity), a.score) for a in stored]
    assert ranks == sorted(ranks, reverse=True)
