"""ingest, detect, scan, alerts, quality and config: the commands of the core pipeline."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from bluebench.alerts.store import load_alerts, save_alerts
from bluebench.cli.app import ConfigOpt, JsonOpt, WorkspaceOpt, app, err, out
from bluebench.detectors import build_detectors, default_config_text, load_config, run_detectors
from bluebench.engines import Engine
from bluebench.errors import ConfigError
from bluebench.events.quality import quality_report
from bluebench.events.workspace import IngestSummary, Workspace, workspace_from_env
from bluebench.incidents import GroupingReport, group_alerts, load_assets, load_grouping_params
from bluebench.schema import SEVERITIES, Alert
from bluebench.sources import ReadOptions, discover, load_mapping

if TYPE_CHECKING:
    from bluebench.sigma.rules import RuleSet

SEVERITY_STYLE = {
    "critical": "bold red",
    "high": "red",
    "medium": "yellow",
    "low": "cyan",
    "informational": "dim",
}

MappingOpt = Annotated[
    str | None, typer.Option("--mapping", help="TOML mapping for CSV/JSON lines of another layout.")
]
GroupingOpt = Annotated[
    str | None,
    typer.Option("--grouping", help="Incident grouping TOML (see `bluebench incidents --default-config`)."),
]
AssetsOpt = Annotated[
    str | None, typer.Option("--assets", help="Asset list CSV/TOML: entity criticality for incident risk.")
]
RulesOpt = Annotated[
    list[str] | None, typer.Option("--rules", help="Also run these Sigma rule files or folders.")
]
RuleStatusOpt = Annotated[list[str] | None, typer.Option("--rule-status", help="Sigma: keep this status.")]
RuleLevelOpt = Annotated[list[str] | None, typer.Option("--rule-level", help="Sigma: keep this level.")]
DbOpt = Annotated[
    str | None,
    typer.Option(
        "--db", envvar="BLUEBENCH_DB", help="Review database URL (default: review.db in the workspace)."
    ),
]
YearOpt = Annotated[
    int | None,
    typer.Option("--year", help="Year for syslog dates that carry none (default: from file time)."),
]


def _options(mapping: str | None, year: int | None) -> ReadOptions:
    opts = ReadOptions(year=year)
    if mapping:
        opts.mapping_format, opts.mapping = load_mapping(Path(mapping))
    return opts


def do_ingest(ws: Workspace, paths: list[str], opts: ReadOptions, quiet: bool) -> IngestSummary:
    """Ingest with a progress bar on stderr, then print what was skipped and why."""
    files = list(discover(paths))
    if not files:
        raise ConfigError(f"no files found under {', '.join(paths)}")
    with Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        disable=quiet or not err.is_terminal,
        transient=True,
    ) as bar:
        task = bar.add_task("ingesting", total=len(files))
        summary = ws.ingest(files, opts, progress=lambda _r: bar.advance(task))
    _print_ingest(summary, quiet)
    return summary


def _print_ingest(summary: IngestSummary, quiet: bool) -> None:
    # File names and reasons quote log content: escaped, so it is shown, never read as markup.
    for f in summary.files:
        if f.status in ("failed", "unrecognised"):
            err.print(f"[red]skipped file[/red] {escape(f.file)}: {escape(f.error or '')}")
        elif f.status == "duplicate":
            err.print(f"[dim]already ingested[/dim] {escape(f.file)}: {escape(f.error or '')}")
    # Every entry counted in "records skipped" is shown (up to 20), then the repaired ones.
    problems = [s for f in summary.files for s in f.skipped if not s.kept]
    for s in problems[:20]:
        err.print(f"[yellow]skipped record[/yellow] {escape(str(s))}")
    if len(problems) > 20:
        err.print(f"[yellow]... and {len(problems) - 20} more skipped records[/yellow]")
    repaired = [s for f in summary.files for s in f.skipped if s.kept]
    for s in repaired[:20]:
        err.print(f"[dim]repaired record[/dim] {escape(str(s))}")
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


def do_detect(
    ws: Workspace,
    config: str | None,
    only: list[str] | None = None,
    thresholds: dict[str, float] | None = None,
    engine: Engine | None = None,
) -> list[Alert]:
    """Run the configured detectors (on ``engine``, else DuckDB) and replace their stored alerts.

    ``thresholds`` (a lead's ``min_score`` per detector, from the review store) override
    the config file's, and each one applied is said on stderr.
    """
    cfg = load_config(config)
    for det, value in sorted((thresholds or {}).items()):
        if det in cfg:
            cfg[det]["min_score"] = value
            err.print(f"[dim]{det}: min_score {value:g} as set by a lead in the review store[/dim]")
    detectors = build_detectors(cfg, only)
    alerts = run_detectors(engine or ws.con, detectors)
    save_alerts(ws.con, alerts, [d.id for d in detectors])
    for d in detectors:  # a detector may say why it did nothing (e.g. phishing_mail without a model)
        for note in getattr(d, "notes", ()):
            err.print(f"[dim]{escape(note)}[/dim]")
    return alerts


def do_sigma(
    ws: Workspace, rules: list[str], status: list[str] | None, levels: list[str] | None, quiet: bool
) -> list[Alert]:
    """Run Sigma rules over the stored events beside the built-in detectors; store their alerts."""
    from bluebench.cli.sigma import load_ruleset, print_failures
    from bluebench.sigma import detect_workspace

    rs = load_ruleset(rules, status, levels, None)
    print_failures(rs)
    engine, alerts = detect_workspace(ws.con, rs)
    return _store_sigma(ws, rs, engine.events_seen, alerts, "sigma", quiet)


def _store_sigma(
    ws: Workspace, rs: RuleSet, events: int, alerts: list[Alert], label: str, quiet: bool
) -> list[Alert]:
    """Store Sigma alerts (either engine) and say what ran."""
    from bluebench.sigma import DETECTOR_ID

    save_alerts(ws.con, alerts, [DETECTOR_ID])
    if not quiet:
        err.print(
            f"{label}: {len(rs.rules)} rules over {events:,} events, {len(alerts)} alerts; "
            f"{len(rs.failures)} rules not loaded"
        )
    return alerts


def do_sigma_spark(
    ws: Workspace,
    spark: Any,
    rules: list[str],
    status: list[str] | None,
    levels: list[str] | None,
    quiet: bool,
) -> list[Alert]:
    """Sigma rules on Spark over the ``events`` view a SparkEngine registered; store their alerts."""
    from bluebench.cli.sigma import load_ruleset, print_failures
    from bluebench.sigma import engine_alerts
    from bluebench.sigma.spark import check_ruleset, run_rules

    rs = check_ruleset(load_ruleset(rules, status, levels, None))
    print_failures(rs)
    engine = run_rules(spark, rs)
    return _store_sigma(ws, rs, engine.events_seen, engine_alerts(engine), "sigma on spark", quiet)


def lead_thresholds(ws: Workspace, db: str | None) -> dict[str, float]:
    """The thresholds leads set in the review store (none when no store exists yet)."""
    from bluebench.cli.triage import lead_thresholds as read
    from bluebench.review import ReviewStore

    if db is None and not os.environ.get("BLUEBENCH_DB") and not (ws.folder / "review.db").exists():
        return {}
    with ReviewStore.for_workspace(ws.folder, db) as store:
        return read(store)


def do_group(ws: Workspace, grouping: str | None, assets: str | None) -> GroupingReport:
    """Group the stored alerts into incidents and say how much noise that spared (on stderr)."""
    report = group_alerts(ws.con, load_grouping_params(grouping), load_assets(assets))
    err.print(f"[bold]{report.text()}[/bold] (`bluebench incidents` lists them)")
    return report


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
    out.print(f"[bold]{len(alerts)} alerts[/bold], most severe and highest score first")
    shown = alerts[:limit] if limit else alerts
    for i, a in enumerate(shown, 1):
        style = SEVERITY_STYLE[a.severity]
        out.print(
            f"\n[bold]{i:>3}[/bold] [{style}]{a.severity.upper():<8}[/] score {a.score:.2f}  "
            f"[bold]{escape(a.title)}[/bold] ({a.detector}, {', '.join(a.techniques)})"
        )
        ent = "  ".join(f"{k}={escape(v)}" for k, v in sorted(a.entities.items()))
        out.print(f"      {a.first_seen:%Y-%m-%d %H:%M:%S} to {a.last_seen:%H:%M:%S} UTC  {ent}")
        for r in a.reasons:
            out.print(f"      - {escape(r)}")
        if a.evidence:
            first = a.evidence[0]
            more = f" and {a.event_count - 1} more" if a.event_count > 1 else ""
            out.print(f"      [dim]evidence: {escape(first.file)} record {first.record}{more}[/dim]")
    if limit and len(alerts) > limit:
        out.print(f"\n... {len(alerts) - limit} more (use --limit 0 or --json)")


def print_quality(ws: Workspace) -> None:
    """Data quality findings on stderr, so --json output stays clean."""
    rep = quality_report(ws.con)
    span = (
        f"{rep.first:%Y-%m-%d %H:%M} to {rep.last:%Y-%m-%d %H:%M} UTC"
        if rep.first and rep.last
        else "no timestamps"
    )
    err.print(f"[bold]data quality[/bold]: {rep.events:,} events, {span}")
    for line in rep.findings():
        err.print(f"  - {escape(line)}")


def _exit(summary: IngestSummary | None) -> None:
    raise typer.Exit(1 if summary is not None and summary.had_problems else 0)


@app.command()
def ingest(
    paths: Annotated[list[str], typer.Argument(help="Files or folders to read.")],
    workspace: WorkspaceOpt = None,
    mapping: MappingOpt = None,
    year: YearOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Read logs into the workspace; the same file twice adds nothing."""
    with workspace_from_env(workspace) as ws:
        summary = do_ingest(ws, paths, _options(mapping, year), quiet=as_json)
        if as_json:
            sys.stdout.write(
                json.dumps(
                    {
                        "events": summary.events,
                        "skipped_records": summary.skipped_records,
                        "repaired_records": summary.repaired_records,
                        "files": [
                            {
                                "file": f.file,
                                "reader": f.reader,
                                "status": f.status,
                                "events": f.events,
                                "skipped": [str(s) for s in f.skipped],
                                "error": f.error,
                            }
                            for f in summary.files
                        ],
                        "quality": quality_report(ws.con).to_json(),
                    },
                    default=str,
                )
                + "\n"
            )
        else:
            print_quality(ws)
    _exit(summary)


@app.command()
def detect(
    workspace: WorkspaceOpt = None,
    config: ConfigOpt = None,
    only: Annotated[list[str] | None, typer.Option("--only", help="Run only these detector ids.")] = None,
    as_json: JsonOpt = False,
    engine: Annotated[
        str, typer.Option("--engine", help="duckdb (the workspace) or spark (Parquet, any cluster).")
    ] = "duckdb",
    parquet: Annotated[
        str | None,
        typer.Option("--parquet", help="Spark: events exported by export-parquet (default: export now)."),
    ] = None,
    master: Annotated[
        str, typer.Option("--master", help="Spark: master URL, e.g. local[4], spark://host:7077, yarn.")
    ] = "local[2]",
    rules: RulesOpt = None,
    rule_status: RuleStatusOpt = None,
    rule_level: RuleLevelOpt = None,
    grouping: GroupingOpt = None,
    assets: AssetsOpt = None,
    db: DbOpt = None,
) -> None:
    """Run the detectors over every stored event, store their alerts and group them into incidents."""
    if engine not in ("duckdb", "spark"):
        raise ConfigError(f"unknown engine {engine!r}; use duckdb or spark")
    with workspace_from_env(workspace) as ws:
        runner: Engine | None = None
        if engine == "spark":
            from bluebench.engines.parquet import export_parquet
            from bluebench.engines.spark import SparkEngine, start_session

            spark = start_session(master)  # first: a missing PySpark is reported before any work
            if parquet is None:
                parquet = str(ws.folder / "parquet")
                export_parquet(ws.con, parquet, overwrite=True)
            runner = SparkEngine(spark, parquet)
            if rules:  # on the same engine, over the same Parquet
                do_sigma_spark(ws, spark, rules, rule_status, rule_level, quiet=as_json)
        elif rules:
            do_sigma(ws, rules, rule_status, rule_level, quiet=as_json)
        do_detect(ws, config, only, lead_thresholds(ws, db), runner)
        print_alerts(load_alerts(ws.con), as_json, limit=50)
        do_group(ws, grouping, assets)


@app.command()
def scan(
    paths: Annotated[list[str], typer.Argument(help="Files or folders to read.")],
    workspace: WorkspaceOpt = None,
    config: ConfigOpt = None,
    mapping: MappingOpt = None,
    year: YearOpt = None,
    as_json: JsonOpt = False,
    limit: Annotated[int, typer.Option(help="Rows in the table (0 = all).")] = 30,
    rules: RulesOpt = None,
    rule_status: RuleStatusOpt = None,
    rule_level: RuleLevelOpt = None,
    grouping: GroupingOpt = None,
    assets: AssetsOpt = None,
    db: DbOpt = None,
) -> None:
    """Ingest, detect and group in one go; print the alerts ranked by severity and score."""
    with workspace_from_env(workspace) as ws:
        summary = do_ingest(ws, paths, _options(mapping, year), quiet=as_json)
        if not as_json:
            print_quality(ws)
        do_detect(ws, config)
        if rules:
            do_sigma(ws, rules, rule_status, rule_level, quiet=as_json)
        do_detect(ws, config, thresholds=lead_thresholds(ws, db))
        print_alerts(load_alerts(ws.con), as_json, limit=limit or None)
        do_group(ws, grouping, assets)
    _exit(summary)


@app.command()
def alerts(
    workspace: WorkspaceOpt = None,
    detector: Annotated[str | None, typer.Option(help="Only this detector's alerts.")] = None,
    severity: Annotated[str | None, typer.Option(help=f"Minimum severity: {', '.join(SEVERITIES)}.")] = None,
    as_json: JsonOpt = False,
    limit: Annotated[int, typer.Option(help="Rows in the table (0 = all).")] = 30,
) -> None:
    """Show stored alerts, most severe first."""
    if severity and severity not in SEVERITIES:
        raise ConfigError(f"unknown severity {severity!r}; use one of {', '.join(SEVERITIES)}")
    with workspace_from_env(workspace) as ws:
        print_alerts(load_alerts(ws.con, detector, severity), as_json, limit=limit or None)


@app.command()
def quality(workspace: WorkspaceOpt = None, as_json: JsonOpt = False) -> None:
    """Report what to know about the stored data before trusting results."""
    with workspace_from_env(workspace) as ws:
        if as_json:
            sys.stdout.write(json.dumps(quality_report(ws.con).to_json(), default=str) + "\n")
        else:
            print_quality(ws)


@app.command()
def config() -> None:
    """Print the default detector configuration, to copy and edit."""
    sys.stdout.write(default_config_text())
