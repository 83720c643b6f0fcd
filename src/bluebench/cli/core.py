"""ingest, detect, scan, alerts, quality and config: the commands of the core pipeline."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from bluebench.cli.app import (
    ConfigOpt,
    DbOpt,
    JsonOpt,
    RuleLevelOpt,
    RulesOpt,
    RuleStatusOpt,
    WorkspaceOpt,
    app,
    err,
)
from bluebench.cli.render import print_alerts, print_detect, print_grouping, print_ingest, print_quality
from bluebench.errors import ConfigError
from bluebench.schema import SEVERITIES

# The pipeline's stages load inside the commands that run them (DuckDB, Arrow, the detectors'
# models): `bluebench --help` and the other commands start without them.
if TYPE_CHECKING:
    from bluebench import pipeline
    from bluebench.engines import Engine
    from bluebench.events.workspace import IngestSummary, Workspace
    from bluebench.sources import ReadOptions

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
YearOpt = Annotated[
    int | None,
    typer.Option("--year", help="Year for syslog dates that carry none (default: from file time)."),
]


def _options(mapping: str | None, year: int | None, config: str | None = None) -> ReadOptions:
    """What readers are told: the mapping, the syslog year and the config's ``[limits]``."""
    from bluebench.sources import ReadOptions, load_mapping
    from bluebench.sources.limits import load_limits

    opts = ReadOptions(year=year, limits=load_limits(config))
    if mapping:
        opts.mapping_format, opts.mapping = load_mapping(Path(mapping))
    return opts


def do_ingest(ws: Workspace, paths: list[str], opts: ReadOptions, quiet: bool) -> IngestSummary:
    """Ingest with a progress bar on stderr, then print what was skipped and why."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from bluebench import pipeline

    files = pipeline.input_files(paths)
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
        summary = pipeline.ingest(ws, files, opts, progress=lambda _r: bar.advance(task))
    print_ingest(summary, quiet)
    return summary


def _detect_options(
    ws: Workspace,
    config: str | None,
    db: str | None,
    rules: list[str] | None = None,
    status: list[str] | None = None,
    levels: list[str] | None = None,
    only: list[str] | None = None,
) -> pipeline.DetectOptions:
    """The command's options and a lead's thresholds from the review store, as one value."""
    from bluebench import pipeline

    return pipeline.DetectOptions(
        config=config,
        only=tuple(only or ()),
        sigma=pipeline.RuleOptions(tuple(rules or ()), tuple(status or ()), tuple(levels or ())),
        thresholds=pipeline.lead_thresholds(ws.folder, db),
    )


def _exit(summary: IngestSummary | None) -> None:
    raise typer.Exit(1 if summary is not None and summary.had_problems else 0)


@app.command()
def ingest(
    paths: Annotated[list[str], typer.Argument(help="Files or folders to read.")],
    workspace: WorkspaceOpt = None,
    mapping: MappingOpt = None,
    year: YearOpt = None,
    as_json: JsonOpt = False,
    config: Annotated[
        str | None,
        typer.Option("--config", "-c", help="Config TOML whose \\[limits] table bounds what is read."),
    ] = None,
) -> None:
    """Read logs into the workspace; the same file twice adds nothing."""
    from bluebench.events.quality import quality_report
    from bluebench.events.workspace import workspace_from_env

    with workspace_from_env(workspace, command="ingest") as ws:
        summary = do_ingest(ws, paths, _options(mapping, year, config), quiet=as_json)
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
    from bluebench import pipeline
    from bluebench.alerts.store import load_alerts
    from bluebench.events.workspace import workspace_from_env

    with workspace_from_env(workspace, command="detect") as ws:
        runner: Engine | None = None
        if engine == "spark":
            from bluebench.engines.parquet import export_parquet
            from bluebench.engines.spark import SparkEngine, start_session

            spark = start_session(master)  # first: a missing PySpark is reported before any work
            if parquet is None:
                parquet = str(ws.folder / "parquet")
                export_parquet(ws.con, parquet, overwrite=True)
            runner = SparkEngine(spark, parquet)
        options = _detect_options(ws, config, db, rules, rule_status, rule_level, only)
        print_detect(pipeline.detect(ws.con, options, runner), quiet=as_json)
        print_alerts(load_alerts(ws.con), as_json, limit=50)
        print_grouping(pipeline.group(ws.con, grouping, assets))


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
    from bluebench import pipeline
    from bluebench.alerts.store import load_alerts
    from bluebench.events.workspace import workspace_from_env

    with workspace_from_env(workspace, command="scan") as ws:
        summary = do_ingest(ws, paths, _options(mapping, year, config), quiet=as_json)
        if not as_json:
            print_quality(ws)
        options = _detect_options(ws, config, db, rules, rule_status, rule_level)
        print_detect(pipeline.detect(ws.con, options), quiet=as_json)
        print_alerts(load_alerts(ws.con), as_json, limit=limit or None)
        print_grouping(pipeline.group(ws.con, grouping, assets))
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
    from bluebench.alerts.store import load_alerts
    from bluebench.events.workspace import workspace_from_env

    with workspace_from_env(workspace, command="alerts", read_only=True) as ws:
        print_alerts(load_alerts(ws.con, detector, severity), as_json, limit=limit or None)


@app.command()
def quality(workspace: WorkspaceOpt = None, as_json: JsonOpt = False) -> None:
    """Report what to know about the stored data before trusting results."""
    from bluebench.events.quality import quality_report
    from bluebench.events.workspace import workspace_from_env

    with workspace_from_env(workspace, command="quality", read_only=True) as ws:
        if as_json:
            sys.stdout.write(json.dumps(quality_report(ws.con).to_json(), default=str) + "\n")
        else:
            print_quality(ws)


@app.command()
def config() -> None:
    """Print the default configuration (detectors and limits), to copy and edit."""
    from bluebench.detectors import default_config_text
    from bluebench.sources.limits import limits_toml

    sys.stdout.write(default_config_text() + "\n" + limits_toml())
