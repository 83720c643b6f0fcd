from __future__ import annotations

from datetime import datetime

import pytest

from bluebench.schema import EVENT_COLUMN_NAMES, Alert, Evidence, alert_id, q

T0 = datetime(2024, 3, 3, 8, 0, 0)


def _alert(**kw: object) -> Alert:
    base: dict[str, object] = dict(
        detector="brute_force",
        title="t",
        severity="high",
        score=0.5,
        tactics=["TA0006"],
        techniques=["T1110.001"],
        entities={"user": "root"},
        first_seen=T0,
        last_seen=T0,
        event_count=1,
        reasons=["r"],
    )
    base.update(kw)
    return Alert(**base)  # type: ignore[arg-type]


def test_alert_id_is_stable_and_depends_on_identity() -> None:
    assert _alert().id == _alert(score=0.9, reasons=["other"]).id
    assert _alert().id != _alert(entities={"user": "admin"}).id
    assert alert_id("brute_force", {"user": "root"}, T0) == _alert().id


def test_score_and_severity_are_checked() -> None:
    with pytest.raises(ValueError, match="score"):
        _alert(score=1.5)
    with pytest.raises(ValueError, match="severity"):
        _alert(severity="urgent")


def test_json_shape_has_the_documented_keys() -> None:
    a = _alert(evidence=[Evidence("auth.log", 3)])
    d = a.to_json()
    assert list(d) == [
        "id",
        "detector",
        "title",
        "severity",
        "score",
        "confidence",
        "tactics",
        "techniques",
        "entities",
        "first_seen",
        "last_seen",
        "event_count",
        "reasons",
        "evidence",
    ]
    assert d["evidence"] == [{"file": "auth.log", "record": 3}]
    assert d["first_seen"] == "2024-03-03T08:00:00Z"


def test_event_columns_follow_ecs_names_and_carry_provenance() -> None:
    for name in (
        "@timestamp",
        "event.code",
        "event.outcome",
        "user.name",
        "source.ip",
        "host.name",
        "winlog.logon.type",
        "log.file.path",
        "log.record",
        "event.original",
    ):
        assert name in EVENT_COLUMN_NAMES
    assert q("user.name") == '"user.name"'
    assert q('a"b') == '"a""b"'
