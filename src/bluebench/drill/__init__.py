"""The interview drill: questions aimed at a run's weak points, a scorecard for written
answers checked against the run's facts, and questions to ask the team.

Everything runs offline from the run's facts (``bluebench.reports.facts``); answers are
read as data and never sent anywhere. The drill sits above ``reports`` in the layers: it
reads the facts reports collect, and nothing in ``reports`` imports it.
"""

from __future__ import annotations

from bluebench.drill.ask import ROLES, TeamQuestion, questions_to_ask
from bluebench.drill.check import Finding, Scorecard, check_answer
from bluebench.drill.claims import Claim
from bluebench.drill.measured import FactLike, Measured, read_facts
from bluebench.drill.questions import DEFAULT_VOLUME, Question, drill_questions
from bluebench.drill.render import questions_markdown, scorecard_markdown, team_questions_markdown

__all__ = [
    "DEFAULT_VOLUME",
    "ROLES",
    "Claim",
    "FactLike",
    "Finding",
    "Measured",
    "Question",
    "Scorecard",
    "TeamQuestion",
    "check_answer",
    "drill_questions",
    "questions_markdown",
    "questions_to_ask",
    "read_facts",
    "scorecard_markdown",
    "team_questions_markdown",
]
