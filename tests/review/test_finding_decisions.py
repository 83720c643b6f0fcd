"""Decisions on vulnerability findings: recorded with the audit, superseded not edited, accepted risks lapse."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError

from bluebench.review import FINDING_DECISIONS, DecisionError, PermissionDenied, ReviewStore

NOW = datetime(2025, 3, 23, 12, tzinfo=UTC)


def test_decisions_are_kept_latest_first_with_the_audit(people: ReviewStore) -> None:
    people.decide_finding("f1", "scheduled", actor="ann", now=NOW)
    made = people.decide_finding(
        "f1", "accepted_risk", actor="lena", reason="WAF rule 12", expires=NOW + timedelta(days=30), now=NOW
    )
    people.decide_finding("f2", "false_finding", actor="ann", reason="package not shipped", now=NOW)
    got = people.finding_decisions()
    assert set(got) == {"f1", "f2"}
    assert got["f1"] == made and made.decision == "accepted_risk" and made.actor == "lena"
    assert made.expires == NOW + timedelta(days=30)
    assert people.finding_decisions(["f2"])["f2"].words() == "false finding"
    audit = people.audit("f1")
    assert [a.action for a in audit] == ["finding_decision", "finding_decision"]
    assert audit[0].before == {"decision": "scheduled", "reason": "", "expires": None}
    assert audit[0].after is not None and audit[0].after["decision"] == "accepted_risk"


def test_an_accepted_risk_comes_back_when_it_expires(people: ReviewStore) -> None:
    d = people.decide_finding(
        "f1", "accepted_risk", actor="ann", reason="isolated host", expires=NOW + timedelta(days=1), now=NOW
    )
    assert not d.lapsed(NOW)
    assert d.lapsed(NOW + timedelta(days=1))
    fixed = people.decide_finding("f2", "fix_now", actor="ann", now=NOW)
    assert not fixed.lapsed(NOW + timedelta(days=999)) and fixed.expires is None


@pytest.mark.parametrize(
    ("decision", "reason", "expires", "message"),
    [
        ("ignore", "x", None, "decision must be one of"),
        ("accepted_risk", "", NOW + timedelta(days=1), "needs a reason"),
        ("accepted_risk", "why", None, "needs an expiry"),
        ("accepted_risk", "why", NOW, "must be in the future"),
        ("false_finding", "  ", None, "needs a reason"),
        ("fix_now", "x" * 5001, None, "at most 5000"),
    ],
)
def test_bad_decisions_are_refused_and_nothing_is_written(
    people: ReviewStore, decision: str, reason: str, expires: datetime | None, message: str
) -> None:
    with pytest.raises(DecisionError, match=message):
        people.decide_finding("f1", decision, actor="ann", reason=reason, expires=expires, now=NOW)
    assert people.finding_decisions() == {} and people.audit("f1") == []


def test_an_unknown_person_may_not_decide(people: ReviewStore) -> None:
    with pytest.raises(PermissionDenied):
        people.decide_finding("f1", "fix_now", actor="mallory", now=NOW)
    assert people.finding_decisions() == {}


def test_decisions_cannot_be_rewritten_in_the_database(people: ReviewStore) -> None:
    people.decide_finding("f1", FINDING_DECISIONS[0], actor="ann", now=NOW)
    with pytest.raises(DBAPIError), people.engine.begin() as conn:
        conn.execute(sa.text("UPDATE finding_decisions SET decision = 'false_finding'"))
    assert people.finding_decisions()["f1"].decision == FINDING_DECISIONS[0]
