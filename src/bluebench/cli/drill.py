"""bluebench drill: practise defending a run - questions, a scorecard for answers, questions to ask.

Exit codes: ``drill check`` exits 0 when the answer has no blocking finding and 1 when it has
one (an overclaim, a metric never computed, accuracy offered as a figure, an absolute claim,
no validation, no human review, far too long, a list of tools); 2 is a usage or workspace
error, as everywhere in the CLI. ``questions`` and ``ask`` exit 0.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from bluebench.cli.app import JsonOpt, WorkspaceOpt, app, printable
from bluebench.drill import (
    DEFAULT_VOLUME,
    ROLES,
    check_answer,
    drill_questions,
    questions_markdown,
    questions_to_ask,
    scorecard_markdown,
    team_questions_markdown,
)
from bluebench.errors import ConfigError

if TYPE_CHECKING:  # the facts read the workspace (DuckDB): loaded by the commands that need them
    from bluebench.reports.facts import FactSet

drill_app = typer.Typer(
    name="drill",
    help="Interview practice from a run: questions at its weak points, a scorecard for answers.",
    no_args_is_help=True,
)
app.add_typer(drill_app, name="drill")

MailEvalOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--mail-evaluation",
        help="JSON written by `bluebench mail evaluate --out` or `mail classes --out`, for mail facts "
        "(give it twice for both).",
    ),
]


def _facts(workspace: str | None, mail_evaluation: list[str] | None) -> FactSet:
    from bluebench.events.workspace import DEFAULT_WORKSPACE
    from bluebench.reports.facts import collect_facts

    folder = Path(workspace or os.environ.get("BLUEBENCH_WORKSPACE", DEFAULT_WORKSPACE))
    return collect_facts(folder, mail_evaluation=[Path(m) for m in mail_evaluation or []] or None)


def _read_answer(path: str) -> str:
    if path == "-":
        return sys.stdin.read()
    try:
        return Path(path).read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the answer ({exc.strerror or exc})") from exc


@drill_app.command("questions")
def questions_cmd(
    workspace: WorkspaceOpt = None,
    mail_evaluation: MailEvalOpt = None,
    alerts_per_day: Annotated[
        float | None,
        typer.Option(
            "--alerts-per-day", help="Alerts a day the analysts can take (compared with the FPR load)."
        ),
    ] = None,
    volume_per_day: Annotated[
        int,
        typer.Option(
            "--volume-per-day", min=1, help="Mails or events a day to turn the FPR into a daily load."
        ),
    ] = DEFAULT_VOLUME,
    as_json: JsonOpt = False,
) -> None:
    """The follow-ups an interviewer would ask of this run, with the facts a good answer uses."""
    qs = drill_questions(
        _facts(workspace, mail_evaluation), volume_per_day=volume_per_day, alerts_per_day=alerts_per_day
    )
    if as_json:
        sys.stdout.write(json.dumps([q.to_json() for q in qs], default=str) + "\n")
    else:
        sys.stdout.write(printable(questions_markdown(qs), lines=True))


@drill_app.command("check")
def check_cmd(
    answer_file: Annotated[
        str, typer.Argument(help="Your written answer (Markdown or text; '-' reads stdin).")
    ],
    workspace: WorkspaceOpt = None,
    mail_evaluation: MailEvalOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Score an answer against the run: claims vs measurements, structure, coverage, length.

    Exit code 0 when nothing blocks, 1 when a finding blocks. Nothing is sent anywhere.
    """
    text = _read_answer(answer_file)
    card = check_answer(text, _facts(workspace, mail_evaluation))
    if as_json:
        sys.stdout.write(json.dumps(card.to_json()) + "\n")
    else:
        name = "stdin" if answer_file == "-" else Path(answer_file).name
        sys.stdout.write(printable(scorecard_markdown(card, name), lines=True))
    if not card.passed:
        raise typer.Exit(1)


@drill_app.command("ask")
def ask_cmd(
    role: Annotated[str, typer.Option("--role", help=f"One of: {', '.join(ROLES)}.")],
    as_json: JsonOpt = False,
) -> None:
    """Questions for the candidate to ask the team, tailored to the role."""
    qs = questions_to_ask(role)
    if as_json:
        sys.stdout.write(json.dumps({"role": role, "questions": [q.to_json() for q in qs]}) + "\n")
    else:
        sys.stdout.write(team_questions_markdown(role, qs))
