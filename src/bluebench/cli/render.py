"""What the core commands print: alert cards, ingest and detection summaries, data quality.

Rendering only: these functions take what the pipeline returned and write it to the
terminal (stdout for results, stderr for progress and notes, so ``--json`` stays clean).
Every value that came from input is escaped, so log content is shown, never read as markup.
"""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from rich.table import Table

from bluebench.cli.app import err, out, show

# Every command imports this module, so what it imports loads on every start (`--help` too):
# the stages below are named for types only, and a function that calls one imports it itself.
if TYPE_CHECKING:
    from bluebench.events.workspace import IngestSummary, Workspace
    from bluebench.incidents import GroupingReport
    from bluebench.pipeline import DetectReport
    from bluebench.schema import Alert
    from bluebench.sigma import RuleSet
    from bluebench.sources import Skipped
    from bluebench.stats import Rate

SEVERITY_STYLE = {
    "critical": "bold red",
    "high": "red",
    "medium": "yellow",
    "low": "cyan",
    "informational": "dim",
}
#: Below this many columns tables take their narrow form (fewer, stacked columns).
WIDE = 110


def counted(n: int, word: str) -> str:
    """'1 alert', '2,000 alerts': a count the user reads, with its noun agreeing."""
    return f"{n:,} {word}{'' if n == 1 else 's'}"


def wide() -> bool:
    """Whether the terminal has room for every column side by side."""
    return out.width >= WIDE


def _decimals(r: Rate) -> int:
    """Enough decimals of a percent that a small rate (an FPR over 200,000 events) is not '0%'."""
    ci = r.interval
    top = ci[1] if ci is not None else (r.value or 0.0)
    if top <= 0 or top >= 0.1:
        return 0
    return min(3, 1 - math.floor(math.log10(top * 100)))


def pct(r: Rate) -> str:
    """'67%', '0.006%' or 'n/a': a rate as people read it; its counts are in the table beside it."""
    if r.value is None:
        return "n/a"
    return "0%" if r.k == 0 else f"{100 * r.value:.{_decimals(r)}f}%"


def interval(r: Rate) -> str:
    """The 95% interval in percent, '21-94', short enough to sit under its rate."""
    ci, d = r.interval, _decimals(r)
    return "" if ci is None else f"{100 * ci[0]:.{d}f}-{100 * ci[1]:.{d}f}"


def rate_cell(r: Rate) -> str:
    """A rate with its interval on the line below, so both fit an 80-column table."""
    ci = interval(r)
    return pct(r) + (f"\n[dim]{ci}[/dim]" if ci else "")


def table(title: str, *columns: str, left: Sequence[str] = ()) -> Table:
    """A borderless table with a rule under the header, the shape every CLI table shares."""
    from rich import box

    t = Table(
        title=title,
        title_justify="left",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        show_edge=False,
        collapse_padding=True,
    )
    for c in columns:
        t.add_column(c, justify="left" if c in left else "right", overflow="fold")
    return t


def print_alerts(alerts: list[Alert], as_json: bool, limit: int | None = None) -> None:
    """Alerts as one JSON object per line, or ranked cards: header, entities, reasons, evidence.

    Cards rather than a wide table, because reasons are sentences and terminals are narrow.
    """
    if as_json:
        for a in alerts:
            sys.stdout.write(json.dumps(a.to_json(), default=str) + "\n")
        return
    if not alerts:
        out.print("no alerts")
        return
    out.print(f"[bold]{counted(len(alerts), 'alert')}[/bold], most severe and highest score first")
    shown = alerts[:limit] if limit else alerts
    for i, a in enumerate(shown, 1):
        out.print()
        out.print(_card(i, a))
    if limit and len(alerts) > limit:
        out.print(f"\n... {len(alerts) - limit} more (use --limit 0 or --json)")


def _card(i: int, a: Alert) -> Table:
    """One alert: wrapped lines stay under their own column, so a narrow terminal still reads."""
    style = SEVERITY_STYLE[a.severity]
    card = Table.grid(padding=(0, 1))
    card.add_column(justify="right", width=3, no_wrap=True)
    card.add_column(ratio=1, overflow="fold")  # a long path folds, never cut to "…"
    card.add_row(
        f"[bold]{i}[/bold]",
        f"[{style}]{a.severity.upper()}[/] score {a.score:.2f}  [bold]{show(a.title)}[/bold] "
        f"({show(a.detector)}, {show(', '.join(a.techniques))})",
    )
    ent = "  ".join(f"{k}={show(v)}" for k, v in sorted(a.entities.items()))
    card.add_row("", f"{a.first_seen:%Y-%m-%d %H:%M:%S} to {a.last_seen:%H:%M:%S} UTC  {ent}")
    for r in a.reasons:
        card.add_row("", bullet(show(r)))
    if a.evidence:
        first = a.evidence[0]
        more = f" and {a.event_count - 1} more" if a.event_count > 1 else ""
        card.add_row("", f"[dim]evidence: {show(first.file)} record {first.record}{more}[/dim]")
    return card


def bullet(text: str) -> Table:
    """'- text' with the text's wrapped lines indented under its first word."""
    row = Table.grid(padding=(0, 1))
    row.add_column(width=1, no_wrap=True)
    row.add_column(ratio=1, overflow="fold")
    row.add_row("-", text)
    return row


def print_ingest(summary: IngestSummary, quiet: bool) -> None:
    """Each file not read and each skipped or repaired record (up to 20), then the totals."""
    for f in summary.files:
        if f.status in ("failed", "unrecognised"):
            err.print(f"[red]skipped file[/red] {show(f.file)}: {show(f.error or '')}")
        elif f.status == "duplicate":
            err.print(f"[dim]already ingested[/dim] {show(f.file)}: {show(f.error or '')}")
    # Every entry counted in "records skipped" is shown (up to 20 runs of consecutive records
    # with one reason, as a truncated file loses them), then the repaired ones.
    problems = record_runs([s for f in summary.files for s in f.skipped if not s.kept])
    for text, _ in problems[:20]:
        err.print(f"[yellow]skipped record[/yellow] {show(text)}")
    if len(problems) > 20:
        more = sum(n for _, n in problems[20:])
        err.print(f"[yellow]... and {more} more skipped records[/yellow]")
    repaired = [s for f in summary.files for s in f.skipped if s.kept]
    for s in repaired[:20]:
        err.print(f"[dim]repaired record[/dim] {show(str(s))}")
    if len(repaired) > 20:
        err.print(f"[dim]... and {len(repaired) - 20} more repaired records[/dim]")
    if not quiet:
        ingested = sum(1 for f in summary.files if f.status == "ingested")
        err.print(
            f"ingested {summary.events:,} events from {ingested} files; "
            f"{summary.skipped_records} records skipped, {summary.repaired_records} repaired, "
            f"{sum(1 for f in summary.files if f.status == 'duplicate')} files already present, "
            f"{sum(1 for f in summary.files if f.status in ('failed', 'unrecognised'))} files not read"
        )


def record_runs(skipped: list[Skipped]) -> list[tuple[str, int]]:
    """(text, records) per run of consecutive records of one file skipped for one reason:
    "sql.evtx, records 28-72: ..." rather than 45 lines that differ only in the number."""
    runs: list[tuple[Skipped, int, int]] = []  # first entry, last record, count
    for s in skipped:
        if runs:
            first, last, n = runs[-1]
            if (
                s.record is not None
                and s.record == last + 1
                and (s.file, s.reason) == (first.file, first.reason)
            ):
                runs[-1] = (first, s.record, n + 1)
                continue
        runs.append((s, s.record if s.record is not None else -2, 1))
    return [
        (str(first) if n == 1 else f"{first.file}, records {first.record}-{last}: {first.reason}", n)
        for first, last, n in runs
    ]


def print_failures(rs: RuleSet, limit: int = 5) -> None:
    """Sigma rules not loaded, grouped by reason on stderr, with a few files of each group."""
    for reason, group in rs.failures_by_reason().items():
        err.print(f"[yellow]{len(group)} not loaded[/yellow]: {show(reason)}")
        for f in group[:limit]:
            err.print(f"    {show(str(f))}")
        if len(group) > limit:
            err.print(f"    ... and {len(group) - limit} more")


def print_detect(report: DetectReport, quiet: bool) -> None:
    """On stderr: the thresholds a lead set, what detectors said of themselves, what Sigma ran."""
    for det, value in report.thresholds.items():
        err.print(f"[dim]{det}: min_score {value:g} as set by a lead in the review store[/dim]")
    for run in report.runs:
        for note in run.notes:  # e.g. phishing_mail without a model
            err.print(f"[dim]{show(note)}[/dim]")
    sigma = report.sigma
    if sigma is None:
        return
    print_failures(sigma.ruleset)
    if not quiet:
        label = "sigma" if sigma.engine == "duckdb" else f"sigma on {sigma.engine}"
        kept = next((r.alerts for r in report.runs if r.id == "sigma"), 0)
        err.print(
            f"{label}: {len(sigma.ruleset.rules)} rules over {sigma.events_seen:,} events, {kept} alerts; "
            f"{len(sigma.ruleset.failures)} rules not loaded"
        )


def print_grouping(report: GroupingReport) -> None:
    """How much noise grouping spared, on stderr."""
    err.print(f"[bold]{report.text()}[/bold] (`bluebench incidents` lists them)")


def print_quality(ws: Workspace) -> None:
    """Data quality findings on stderr, so --json output stays clean."""
    from bluebench.events.quality import quality_report

    rep = quality_report(ws.con)
    span = (
        f"{rep.first:%Y-%m-%d %H:%M} to {rep.last:%Y-%m-%d %H:%M} UTC"
        if rep.first and rep.last
        else "no timestamps"
    )
    err.print(f"[bold]data quality[/bold]: {rep.events:,} events, {span}")
    for line in rep.findings():
        err.print(f"  - {show(line)}")
