"""The review stage: people's verdicts on incidents, kept with an append-only audit.

Data flows in one way: incidents (and their alerts' ids) come in as values, and what
reviewers decide leaves as data (``alert_labels``, ``detector_verdicts``,
``detector_settings``) that the CLI hands to tuning, evaluation and detection. The
precision interval reuses ``bluebench.evaluation.metrics`` (a pure module) as the
contract asks; nothing else from later stages is imported.
"""

from bluebench.review.findings import DECISION_WORDS, FINDING_DECISIONS, DecisionError, FindingDecision
from bluebench.review.logins import LoginPolicy, LoginWait
from bluebench.review.store import (
    REASON_REQUIRED,
    VERDICT_LABELS,
    AuditRecord,
    Comment,
    DetectorSettings,
    IncidentState,
    PermissionDenied,
    PrecisionEstimate,
    ReviewStore,
    StoreError,
    User,
    ValidationError,
    VerdictCounts,
)
from bluebench.schema import ROLES, VERDICTS

__all__ = [
    "DECISION_WORDS",
    "FINDING_DECISIONS",
    "REASON_REQUIRED",
    "ROLES",
    "VERDICTS",
    "VERDICT_LABELS",
    "AuditRecord",
    "Comment",
    "DecisionError",
    "DetectorSettings",
    "FindingDecision",
    "IncidentState",
    "LoginPolicy",
    "LoginWait",
    "PermissionDenied",
    "PrecisionEstimate",
    "ReviewStore",
    "StoreError",
    "User",
    "ValidationError",
    "VerdictCounts",
]
