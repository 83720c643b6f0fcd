"""sigma load / regress / run: thin commands over bluebench.sigma."""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING, Annotated

import typer

from bluebench.cli.app import JsonOpt, app, err, out, show
from bluebench.cli.render import counted, print_alerts, print_failures
from bluebench.errors import ConfigError

if TYPE_CHECKING:
    from bluebench.sigma import RuleSet

sigma_app = typer.Typer(
    help="Sigma rules: load and check them, run SigmaHQ's regression tests.", no_args_is_help=True
)
app.add_typer(sigma_app, name="sigma")

RulesOpt = Annotated[list[str], typer.Option("--rules", "-r", help="Sigma rule files or folders.")]
StatusOpt = Annotated[
    list[str] | None, typer.Option("--rule-status", help="Keep rules with this status (repeatable).")
]
LevelOpt = Annotated[
    list[str] | None, typer.Option("--rule-level", help="Keep rules with this level (repeatable).")
]
TagOpt = Annotated[
    list[str] | None, typer.Option("--rule-tag", help="Keep rules with this tag, e.g. attack.t1059.")
]


def load_ruleset(
    rules: list[str], status: list[str] | None, levels: list[str] | None, tags: list[str] | None
) -> RuleSet:
    """Compile rules; a missing path is a usage error, a bad rule is reported and skipped."""
    from bluebench.sigma.cache import load_rules

    return load_rules(rules, status, levels, tags)


@sigma_app.command("load")
def load_cmd(
    rules: RulesOpt,
    status: StatusOpt = None,
    level: LevelOpt = None,
    tag: TagOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Load rules and say how many loaded, and why the others did not (grouped by reason)."""
    rs = load_ruleset(rules, status, level, tag)
    if as_json:
        sys.stdout.write(
            json.dumps(
                {
                    "loaded": len(rs.rules),
                    "from_cache": rs.from_cache,
                    "correlations": len(rs.correlations),
                    "filtered": rs.filtered,
                    "failed": len(rs.failures),
                    "failures": {
                        k: [{"file": f.file, "rule": f.rule, "reason": f.reason} for f in v]
                        for k, v in rs.failures_by_reason().items()
                    },
                }
            )
            + "\n"
        )
        return
    out.print(
        f"loaded {len(rs.rules)} rules and {len(rs.correlations)} correlations; "
        f"{len(rs.failures)} not loaded; {rs.filtered} left out by filters"
        + ("; compiled by an earlier run (rule cache)" if rs.from_cache else ""),
        soft_wrap=True,
    )
    print_failures(rs)


@sigma_app.command("regress")
def regress_cmd(
    rules: RulesOpt,
    data: Annotated[list[str], typer.Option("--data", "-d", help="Regression folders (with info.yml).")],
    as_json: JsonOpt = False,
) -> None:
    """Run SigmaHQ regression tests: pass/fail per rule with expected and actual match counts."""
    from bluebench.sigma.regress import run_regression

    results = run_regression(rules, data)
    if not results:
        raise ConfigError(f"no info.yml found under {', '.join(data)}")
    for r in results:
        if as_json:
            sys.stdout.write(
                json.dumps(
                    {
                        "rule": r.rule_id,
                        "title": r.title,
                        "folder": r.folder,
                        "expected": r.expected,
                        "actual": r.actual,
                        "passed": r.passed,
                        "error": r.error,
                    }
                )
                + "\n"
            )
            continue
        mark = "[green]PASS[/green]" if r.passed else "[red]FAIL[/red]"
        expected = "any" if r.expected is None else str(r.expected)
        actual = "-" if r.actual is None else str(r.actual)
        note = f"  ({show(r.error)})" if r.error else ""
        out.print(
            f"{mark} {show(r.rule_id)} expected {expected} actual {actual}  {show(r.title)}{note}",
            soft_wrap=True,
        )
    failed = sum(1 for r in results if not r.passed)
    err.print(f"{len(results) - failed} passed, {failed} failed")
    raise typer.Exit(1 if failed else 0)


@sigma_app.command("run")
def run_cmd(
    paths: Annotated[list[str], typer.Argument(help="EVTX or Windows JSON lines files or folders.")],
    rules: RulesOpt,
    status: StatusOpt = None,
    level: LevelOpt = None,
    tag: TagOpt = None,
    as_json: JsonOpt = False,
    limit: Annotated[int, typer.Option(help="Alerts shown (0 = all).")] = 30,
    jobs: Annotated[
        int,
        typer.Option(
            min=0,
            help="Processes (0 = one per core when the input is large and memory allows; "
            "the alerts do not depend on it).",
        ),
    ] = 0,
) -> None:
    """Run rules over files streamed once, without a workspace; print the alerts."""
    from bluebench.schema import severity_rank
    from bluebench.sigma import ReadReport, detect_files

    rs = load_ruleset(rules, status, level, tag)
    print_failures(rs)
    report = ReadReport()
    engine, alerts = detect_files(paths, rs, report, jobs)
    for note in report.notes:
        err.print(f"[yellow]note[/yellow] {show(note)}")
    for f in report.not_windows:
        err.print(f"[dim]not Windows events, skipped:[/dim] {show(f)}")
    for s in report.skipped[:20]:
        err.print(f"[yellow]skipped record[/yellow] {show(str(s))}")
    err.print(
        f"{counted(engine.events_seen, 'event')}, {counted(len(rs.rules), 'rule')}, {counted(len(alerts), 'alert')}"
    )
    alerts.sort(key=lambda a: (-severity_rank(a.severity), -a.score, a.first_seen))
    print_alerts(alerts, as_json, limit=limit or None)
    raise typer.Exit(1 if report.skipped else 0)
