"""People's decisions on vulnerability findings: fix now, scheduled, accepted risk until a day, false finding.

A decision is keyed by the finding's stable id (the same finding in next week's scan keeps
it), appended, never edited: the latest one is the finding's state and every one is in the
audit trail. An accepted risk carries an expiry and a reason; once the day has passed the
finding is open again ("came back"), and the page says which decision lapsed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from bluebench.errors import BluebenchError
from bluebench.review.models import FindingDecisionRow, UserRow

FINDING_DECISIONS: tuple[str, ...] = ("fix_now", "scheduled", "accepted_risk", "false_finding")
DECISION_WORDS = {
    "fix_now": "fix now",
    "scheduled": "scheduled",
    "accepted_risk": "accepted risk",
    "false_finding": "false finding",
}
NEEDS_REASON = frozenset({"accepted_risk", "false_finding"})
MAX_REASON = 5000

T = TypeVar("T")


class _Store(Protocol):
    """What the decisions need of the review store (its transactions, actor check and audit)."""

    def _write(self, fn: Callable[[Session], T]) -> T: ...

    def _read(self) -> AbstractContextManager[Session]: ...

    def _actor(self, s: Session, actor: str) -> UserRow: ...

    def _audit(
        self,
        s: Session,
        actor: str,
        action: str,
        object_type: str,
        object_id: str,
        before: dict[str, Any] | None,
        after: dict[str, Any] | None,
    ) -> None: ...


@dataclass(frozen=True)
class FindingDecision:
    """The latest decision on a finding; ``expires`` only for an accepted risk."""

    decision: str
    reason: str
    expires: datetime | None
    actor: str
    at: datetime

    def lapsed(self, now: datetime) -> bool:
        """An accepted risk whose expiry has passed: the finding is open again."""
        return self.decision == "accepted_risk" and self.expires is not None and self.expires <= now

    def words(self) -> str:
        return DECISION_WORDS.get(self.decision, self.decision)

    def to_dict(self) -> dict[str, Any]:
        return {
            "decision": self.decision,
            "reason": self.reason,
            "expires": self.expires.isoformat() if self.expires else None,
        }


class DecisionError(BluebenchError):
    """A decision the store refuses (unknown kind, missing reason, an expiry not in the future)."""


def _utc(t: datetime) -> datetime:
    return t.replace(tzinfo=UTC) if t.tzinfo is None else t.astimezone(UTC)


def _row(r: FindingDecisionRow) -> FindingDecision:
    return FindingDecision(
        r.decision, r.reason, _utc(r.expires_at) if r.expires_at else None, r.actor, _utc(r.at)
    )


class FindingDecisions:
    """Mixed into ``ReviewStore``: record and read decisions on findings (read-only reads change nothing)."""

    def decide_finding(
        self: _Store,
        finding_id: str,
        decision: str,
        *,
        actor: str,
        reason: str = "",
        expires: datetime | None = None,
        now: datetime | None = None,
    ) -> FindingDecision:
        """Record a person's decision; an accepted risk needs a reason and an expiry after ``now``."""
        if not isinstance(finding_id, str) or not finding_id.strip() or len(finding_id) > 200:
            raise DecisionError("finding id must be a non-empty string of at most 200 characters")
        if decision not in FINDING_DECISIONS:
            raise DecisionError(f"decision must be one of {', '.join(FINDING_DECISIONS)}, got {decision!r}")
        reason = (reason or "").strip()
        if len(reason) > MAX_REASON:
            raise DecisionError(f"reason must be at most {MAX_REASON} characters")
        if decision in NEEDS_REASON and not reason:
            raise DecisionError(f"{DECISION_WORDS[decision]} needs a reason")
        clock = _utc(now or datetime.now(UTC))
        if decision == "accepted_risk":
            if expires is None:
                raise DecisionError("accepted risk needs an expiry: the day the finding comes back")
            if _utc(expires) <= clock:
                raise DecisionError("an accepted risk's expiry must be in the future")
        else:
            expires = None
        stored_expiry = _utc(expires).replace(tzinfo=None) if expires else None

        def op(s: Session) -> FindingDecision:
            self._actor(s, actor)
            last = s.scalars(
                select(FindingDecisionRow)
                .where(FindingDecisionRow.finding_id == finding_id)
                .order_by(FindingDecisionRow.id.desc())
                .limit(1)
            ).first()
            row = FindingDecisionRow(
                finding_id=finding_id,
                decision=decision,
                reason=reason,
                expires_at=stored_expiry,
                actor=actor,
                at=clock.replace(tzinfo=None),
            )
            s.add(row)
            s.flush()
            made = _row(row)
            before = _row(last).to_dict() if last else None
            self._audit(s, actor, "finding_decision", "finding", finding_id, before, made.to_dict())
            return made

        return self._write(op)

    def finding_decisions(
        self: _Store, finding_ids: Iterable[str] | None = None
    ) -> dict[str, FindingDecision]:
        """The latest decision per finding (of ``finding_ids``, or all)."""
        wanted = None if finding_ids is None else set(finding_ids)
        out: dict[str, FindingDecision] = {}
        with self._read() as s:
            for r in s.scalars(select(FindingDecisionRow).order_by(FindingDecisionRow.id)):
                if wanted is None or r.finding_id in wanted:
                    out[r.finding_id] = _row(r)
        return out
