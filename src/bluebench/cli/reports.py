"""timeline, verify and report: documents built from stored results, and the check that they hold."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from bluebench.cli.app import WorkspaceOpt, app, err, out, printable, show
from bluebench.errors import ConfigError

if TYPE_CHECKING:  # reports read the workspace (DuckDB): loaded by the commands that write them
    from bluebench.reports.verify import VerifyResult

MailEvalOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--mail-evaluation",
        help="JSON written by `bluebench mail evaluate --out` or `mail classes --out`, to include and "
        "check (give it twice for both).",
    ),
]


def _ws(workspace: str | None) -> Path:
    import os

    from bluebench.events.workspace import DEFAULT_WORKSPACE

    return Path(workspace or os.environ.get("BLUEBENCH_WORKSPACE", DEFAULT_WORKSPACE))


@app.command()
def timeline(
    incident: Annotated[str, typer.Argument(help="Incident id (inc-...), or an alert id.")],
    workspace: WorkspaceOpt = None,
    fmt: Annotated[str, typer.Option("--format", help="md, html or json.")] = "md",
    out_path: Annotated[
        str | None, typer.Option("--out", help="Write to this file instead of stdout.")
    ] = None,
    summariser_url: Annotated[
        str | None,
        typer.Option(
            "--summariser-url",
            help="OpenAI-compatible endpoint that may rewrite the text (off unless given, or "
            "BLUEBENCH_SUMMARISER_URL); its text is verified and refused where it fails.",
        ),
    ] = None,
    summariser_model: Annotated[str | None, typer.Option("--summariser-model", help="Model name.")] = None,
) -> None:
    """A chronological account of an incident in short sentences, each citing its events."""
    from bluebench.reports.facts import open_workspace
    from bluebench.reports.summarise import OpenAICompatible, SummaryRefused, summarise
    from bluebench.reports.timeline import build_timeline, markdown_to_html
    from bluebench.reports.verify import Verifier

    if fmt not in ("md", "html", "json"):
        raise ConfigError(f"--format must be md, html or json, got {fmt!r}")
    ws = _ws(workspace)
    con = open_workspace(ws, read_only=True)
    code = 0
    try:
        tl = build_timeline(con, incident)
        text = (
            tl.to_markdown()
            if fmt == "md"
            else tl.to_html()
            if fmt == "html"
            else json.dumps(tl.to_json(), indent=2)
        )
        summariser = OpenAICompatible.from_env(summariser_url, summariser_model)
        if summariser is not None and fmt != "json":
            verifier = Verifier(con, ws)
            try:
                doc = summarise(tl, summariser, verifier)
                text = doc if fmt == "md" else markdown_to_html(doc, f"Timeline {tl.id}")
            except SummaryRefused as exc:
                err.print(f"[yellow]{show(str(exc))}[/yellow]")
                for f in exc.result.failures[:20]:
                    err.print(f"  [red]x[/red] {show(f.reason)}: {show(f.sentence)}")
                err.print("the deterministic timeline is written instead")
                code = 1
            finally:
                verifier.resolver.close()
    finally:
        con.close()
    if out_path:
        Path(out_path).parent.mkdir(parents=True, exist_ok=True)
        Path(out_path).write_text(text, encoding="utf-8")
        err.print(f"timeline written to {show(out_path)}")
    else:
        sys.stdout.write(printable(text, lines=True))  # it names users and hosts from the logs
    raise typer.Exit(code)


def print_verify(path: str, result: VerifyResult) -> None:
    """Each failing sentence and why, then the totals."""
    for f in result.failures:
        out.print(f"[red]FAIL[/red] {show(path)} line {f.line}: {show(f.reason)}", soft_wrap=True)
        out.print(f"     {show(f.sentence)}", highlight=False, soft_wrap=True)
    status = "[green]verified[/green]" if result.ok else f"[red]{len(result.failures)} failures[/red]"
    out.print(
        f"{status}: {result.sentences} sentences, {result.facts} numbers recomputed from facts, "
        f"{result.citations} citations resolved",
        soft_wrap=True,
    )


@app.command()
def verify(
    file: Annotated[str, typer.Argument(help="A timeline or report: .md, .html or .json.")],
    workspace: WorkspaceOpt = None,
    mail_evaluation: MailEvalOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Recompute every number, time, name and technique of a document from the workspace; exit 1 on any failure."""
    from bluebench.reports.facts import load_mail_evaluation, open_workspace
    from bluebench.reports.verify import Verifier

    path = Path(file)
    if not path.is_file():
        raise ConfigError(f"{file}: no such file")
    ws = _ws(workspace)
    mail = load_mail_evaluation([Path(m) for m in mail_evaluation]) if mail_evaluation else None
    con = open_workspace(ws, read_only=True)
    try:
        verifier = Verifier(con, ws, mail)
        try:
            result = verifier.verify_file(path)
        finally:
            verifier.resolver.close()
    finally:
        con.close()
    if as_json:
        sys.stdout.write(json.dumps(result.to_json()) + "\n")
    else:
        print_verify(file, result)
    raise typer.Exit(0 if result.ok else 1)


@app.command()
def report(
    out_path: Annotated[str, typer.Option("--out", help="report.html (self-contained) or report.md.")],
    workspace: WorkspaceOpt = None,
    detector: Annotated[
        str | None, typer.Option("--detector", help="Tell the story of one detector.")
    ] = None,
    minutes_per_alert: Annotated[
        float, typer.Option("--minutes-per-alert", help="Minutes an analyst spends per alert or incident.")
    ] = 5.0,
    mail_evaluation: MailEvalOpt = None,
    no_charts: Annotated[bool, typer.Option("--no-charts", help="Leave the charts out.")] = False,
) -> None:
    """A case-study report (situation, action, result, limits, lesson); every number cites its stored result."""
    from bluebench.reports.report import ReportOptions, write_report

    if minutes_per_alert <= 0:
        raise ConfigError("--minutes-per-alert must be above 0")
    opts = ReportOptions(
        detector=detector,
        minutes_per_alert=minutes_per_alert,
        mail_evaluation=[Path(m) for m in mail_evaluation] if mail_evaluation else None,
        charts=not no_charts,
    )
    written = write_report(_ws(workspace), Path(out_path), opts)
    err.print(
        f"report written to {show(str(written))}; check it with `bluebench verify {show(str(written))}`"
    )
