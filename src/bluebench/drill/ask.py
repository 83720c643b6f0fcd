"""Questions a candidate asks the team, tailored to the role: the topics every security team
using automation must have answers for, phrased for the person who would live with them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bluebench.errors import ConfigError

__all__ = ["ROLES", "TOPICS", "TeamQuestion", "questions_to_ask"]

ROLES = ("soc-analyst", "detection-engineer", "security-ml-engineer", "team-lead")
TOPICS = (
    "data-sources",
    "detection-ownership",
    "ai-detection-validation",
    "automation-handoff",
    "false-positive-tracking",
    "genai-boundaries",
)


@dataclass(frozen=True)
class TeamQuestion:
    """A question to ask, the topic it covers, and what a good answer would contain."""

    topic: str
    text: str
    listen_for: str

    def to_json(self) -> dict[str, Any]:
        return {"topic": self.topic, "question": self.text, "listen_for": self.listen_for}


# topic -> role -> (question, what a good answer contains)
_BANK: dict[str, dict[str, tuple[str, str]]] = {
    "data-sources": {
        "soc-analyst": (
            "Which log sources reach the queue I would work - endpoint, identity, mail, network - and "
            "which ones are known to be missing or late?",
            "named sources, their delay, and an honest list of gaps",
        ),
        "detection-engineer": (
            "How are log sources onboarded and normalised, and who tells detection engineering when a "
            "field, a parser or a logging policy changes?",
            "a schema (ECS, OCSF) and a change process, not 'we notice when alerts stop'",
        ),
        "security-ml-engineer": (
            "Where do labels come from - analyst verdicts, red-team exercises, vendor feeds - and how "
            "far back is labelled data kept?",
            "verdicts stored with the alert, a retention period, and known label noise",
        ),
        "team-lead": (
            "Which data sources does the team depend on that it does not own, and who is accountable "
            "when one stops arriving?",
            "named owners and an alert on missing data",
        ),
    },
    "detection-ownership": {
        "soc-analyst": (
            "When a detection is noisy or wrong, who owns it, and how do I get it fixed?",
            "a named owner per detection and a ticket path that closes",
        ),
        "detection-engineer": (
            "Does every detection have an owner, tests and a review date, and what happens to detections "
            "whose owner leaves?",
            "detections as code with tests, owners and retirement",
        ),
        "security-ml-engineer": (
            "Who owns a model in production - its thresholds, retraining and rollback - the ML team or "
            "the detection team?",
            "one accountable owner and a rollback path",
        ),
        "team-lead": (
            "How is detection coverage reported upward - against ATT&CK, against incidents - and who "
            "decides what gets built next?",
            "coverage measured against real incidents, not only a heat map",
        ),
    },
    "ai-detection-validation": {
        "soc-analyst": (
            "When a detection or a triage suggestion comes from an AI tool, what has been checked before "
            "it reaches my queue?",
            "tests on labelled data and a review by an engineer before release",
        ),
        "detection-engineer": (
            "How are AI-generated detection rules validated before production - backtests on historical "
            "data, false-positive budgets, peer review?",
            "the same gates as human-written rules, plus a backtest with measured precision",
        ),
        "security-ml-engineer": (
            "What evaluation gates a model release - a time-based hold-out, per-class precision and "
            "recall with intervals, a comparison with the current model?",
            "a time split, intervals, and a baseline the new model must beat",
        ),
        "team-lead": (
            "Who signs off an AI-generated detection or model before it affects analysts, and what "
            "evidence do they see?",
            "a named approver and a measured result, not a demo",
        ),
    },
    "automation-handoff": {
        "soc-analyst": (
            "Which alerts are closed or enriched automatically, and how do I see what automation did "
            "before the alert reached me?",
            "an audit trail per alert and a way to reopen automated closures",
        ),
        "detection-engineer": (
            "Where is the line between automated response and analyst decision, and who changes it?",
            "written policy naming actions that need a person",
        ),
        "security-ml-engineer": (
            "How do analyst verdicts flow back into training data and thresholds, and how fast?",
            "verdicts captured as labels with a cadence for retraining",
        ),
        "team-lead": (
            "What happens when automation and an analyst disagree, and how is that disagreement "
            "measured over time?",
            "disagreements logged and reviewed, not overwritten",
        ),
    },
    "false-positive-tracking": {
        "soc-analyst": (
            "How are false positives recorded - a verdict per alert? - and how long does a known false "
            "positive keep coming back?",
            "a verdict field, suppression with an expiry, and a feedback loop",
        ),
        "detection-engineer": (
            "Who owns threshold tuning, and is precision per detection measured from analyst verdicts?",
            "precision per detection from verdicts, and a named owner for thresholds",
        ),
        "security-ml-engineer": (
            "Is the alert budget - how many alerts a day analysts can handle - written down, and are "
            "thresholds set against it?",
            "a budget in alerts a day and thresholds chosen to meet it",
        ),
        "team-lead": (
            "Which number tells you the queue is healthy - false-positive rate, time to triage, alerts "
            "per analyst - and what is it today?",
            "a tracked metric with a current value and a target",
        ),
    },
    "genai-boundaries": {
        "soc-analyst": (
            "What am I allowed to paste into a generative AI tool, and what must never leave our systems?",
            "a written data policy, an approved tool, and logging",
        ),
        "detection-engineer": (
            "Can generative AI write or change detections, and what review does its output get?",
            "AI output reviewed and tested like any other change",
        ),
        "security-ml-engineer": (
            "Where is generative AI allowed in operations - summaries, triage, response - and how are "
            "its outputs checked against the evidence?",
            "outputs verified against source events, and no autonomous response",
        ),
        "team-lead": (
            "What are the boundaries for generative AI in operations, who set them, and how would you "
            "know if they were crossed?",
            "a written policy, an owner, and monitoring of use",
        ),
    },
}

# One or two questions only a person in that role would think to ask.
_EXTRA: dict[str, list[TeamQuestion]] = {
    "soc-analyst": [
        TeamQuestion(
            "workload",
            "How many alerts does an analyst handle on a typical shift, and how much of it is repeat noise?",
            "a number, and an effort to reduce repeats",
        )
    ],
    "detection-engineer": [
        TeamQuestion(
            "testing",
            "Do detections run in CI against recorded attack data and benign baselines before they merge?",
            "test data per detection and a failing build on regressions",
        )
    ],
    "security-ml-engineer": [
        TeamQuestion(
            "drift",
            "How is drift in inputs and scores monitored, and what has triggered a retrain before?",
            "a monitored statistic (PSI, score distribution) and a past example",
        )
    ],
    "team-lead": [
        TeamQuestion(
            "measurement",
            "Which claims about the team's AI tooling would you be comfortable defending to an auditor, "
            "and which are still hopes?",
            "a candid split between measured and expected",
        )
    ],
}


def questions_to_ask(role: str) -> list[TeamQuestion]:
    """The six shared topics phrased for the role, then the role's own; fixed order."""
    if role not in ROLES:
        raise ConfigError(f"unknown role {role!r}; choose one of {', '.join(ROLES)}")
    out = [TeamQuestion(t, *_BANK[t][role]) for t in TOPICS]
    return out + _EXTRA[role]
