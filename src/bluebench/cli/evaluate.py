"""evaluate and tune: measure stored alerts against labels, and pick thresholds for a budget."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from bluebench.alerts.store import load_alerts
from bluebench.cli.app import ConfigOpt, JsonOpt, WorkspaceOpt, app, err, out
from bluebench.cli.triage import DbOpt, open_store, verdict_counts
from bluebench.errors import ConfigError
from bluebench.evaluation.evaluate import Evaluation, Row, evaluate_alerts, parse_filter, save_evaluation
from bluebench.evaluation.labels import load_labels
from bluebench.evaluation.metrics import Rate, VerdictPrecision, verdict_precision
from bluebench.evaluation.tune import TuneResult, tune, tune_from_verdicts
from bluebench.events.workspace import workspace_from_env

LabelsOpt = Annotated[
    str,
    typer.Option(
        "--labels",
        help="Labels CSV: per file (path, techniques), per event (file, record, technique, "
        "attack, attack_id) or per entity window (entity, start, end, technique).",
    ),
]
TechniquesOpt = Annotated[
    str | None,
    typer.Option(
        "--techniques",
        help="Only these ATT&CK techniques, comma separated, e.g. T1110,T1558 (parents and "
        "sub-techniques match).",
    ),
]


def _filter(text: str | None) -> list[str]:
    try:
        return parse_filter(text)
    except ValueError as exc:
        raise ConfigError(f"--techniques: {exc}") from exc


def _rate(r: Rate) -> str:
    ci = r.interval
    if r.value is None or ci is None:
        return "n/a"
    return f"{r.value:.2f} [{ci[0]:.2f}-{ci[1]:.2f}]"


def _f1(v: float | None) -> str:
    return "n/a" if v is None else f"{v:.2f}"


def _detector_table(result: Evaluation) -> Table:
    u = result.units
    t = Table(
        title=f"Per detector (precision per {u['precision']}, recall per {u['recall']}, "
        f"FPR per {u['fpr']}; 95% Wilson intervals)",
        title_justify="left",
    )
    for name in ("Detector", "Techniques", "Alerts", "TP", "FP", "FN", "TN"):
        t.add_column(name, justify="left" if name in ("Detector", "Techniques") else "right")
    for name in ("Precision", "Recall", "F1", "FPR"):
        t.add_column(name, justify="right")

    def add(r: Row, style: str | None = None) -> None:
        m = r.measure
        t.add_row(
            escape(r.name),
            ", ".join(r.techniques) or "-",
            str(r.alerts),
            str(m.tp),
            str(m.fp),
            str(m.fn),
            str(m.tn),
            _rate(m.precision),
            _rate(m.recall),
            _f1(m.f1),
            _rate(m.fpr),
            style=style,
        )

    for r in result.detectors:
        add(r)
    t.add_section()
    add(result.overall, "bold")
    return t


def _technique_table(result: Evaluation) -> Table:
    u = result.units
    t = Table(title="Per technique", title_justify="left")
    if result.kind == "file":
        cols = [
            "Technique",
            "Labelled files",
            "Alerted files",
            "TP",
            "FN",
            "Recall",
            "FP",
            "FPR",
            "Precision",
        ]
    else:
        cols = [
            "Technique",
            f"{u['recall'].capitalize()}s",
            "Detected",
            "FN",
            "Recall",
            "Alerts",
            "TP",
            "FP",
            "Precision",
            f"{u['fpr'].capitalize()}s alerted",
            "FPR",
        ]
    for c in cols:
        t.add_column(c, justify="left" if c == "Technique" else "right")
    t.add_column("Detectors")
    for r in result.techniques:
        m = r.measure
        name = r.name if r.details.get("in_labels", True) else f"{r.name} (not in labels)"
        dets = ", ".join(r.details.get("detectors", [])) or "-"
        if result.kind == "file":
            cells = [
                name,
                str(r.details["labelled_files"]),
                str(r.details["alerted_files"]),
                str(m.tp),
                str(m.fn),
                _rate(m.recall),
                str(m.fp_negative),
                _rate(m.fpr),
                _rate(m.precision),
            ]
        else:
            cells = [
                name,
                str(m.detected + m.fn),
                str(m.detected),
                str(m.fn),
                _rate(m.recall),
                str(r.alerts),
                str(m.tp),
                str(m.fp),
                _rate(m.precision),
                str(m.fp_negative),
                _rate(m.fpr),
            ]
        t.add_row(*[escape(c) for c in cells], escape(dets))
    return t


def print_evaluation(result: Evaluation) -> None:
    """Tables per detector, overall and per technique, then what each count means."""
    out.print(
        f"[bold]evaluation[/bold] of stored alerts against {escape(result.labels_path)} "
        f"({result.kind} labels)"
        + (f", techniques {', '.join(result.technique_filter)}" if result.technique_filter else "")
    )
    scope = ", ".join(
        f"{k.replace('_', ' ')}: {v}" for k, v in result.scope.items() if not isinstance(v, list)
    )
    out.print(f"[dim]{escape(scope)}[/dim]")
    out.print(_detector_table(result))
    out.print(_technique_table(result))
    out.print("[bold]what the counts mean[/bold]")
    for line in result.definitions:
        out.print(f"  - {escape(line)}")
    for note in result.notes:
        out.print(f"[yellow]note:[/yellow] {escape(note)}")


def print_verdict_precision(rows: list[VerdictPrecision]) -> None:
    """Each detector's precision from reviewers' verdicts, flagged when under the lead's floor."""
    if not rows:
        out.print("[dim]precision from verdicts: no reviewed alerts yet (`bluebench review`)[/dim]")
        return
    floor = rows[0].floor
    t = Table(
        title="Precision from reviewers' verdicts (per reviewed alert; TP and benign TP count as right; "
        + ("no precision floor set" if floor is None else f"floor {floor:.2f} set by a lead")
        + ")",
        title_justify="left",
    )
    for c in ("Detector", "Right", "Reviewed", "Precision", "Flag"):
        t.add_column(c, justify="left" if c in ("Detector", "Flag") else "right")
    for r in rows:
        flag = ""
        if r.clearly_below_floor:
            flag = "[red]below floor (even its 95% interval)[/red]"
        elif r.below_floor:
            flag = "[yellow]below floor[/yellow]"
        t.add_row(escape(r.detector), str(r.precision.k), str(r.precision.n), _rate(r.precision), flag)
    out.print(t)


@app.command()
def evaluate(
    labels: LabelsOpt,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
    techniques: TechniquesOpt = None,
    db: DbOpt = None,
) -> None:
    """Measure stored alerts against labels: precision, recall, F1, FPR with counts and intervals.

    Each detector's precision from reviewers' verdicts is added, flagged below the lead's floor.
    """
    flt = _filter(techniques)
    label_set = load_labels(labels)
    with open_store(workspace, db) as store:
        counts, floor = verdict_counts(store), store.precision_floor()
    with workspace_from_env(workspace) as ws:
        result = evaluate_alerts(ws.con, label_set, load_alerts(ws.con), flt)
        result.from_verdicts = verdict_precision(counts, floor)
        save_evaluation(ws.con, result)
    if as_json:
        sys.stdout.write(json.dumps(result.to_json(), default=str) + "\n")
    else:
        print_evaluation(result)
        print_verdict_precision(result.from_verdicts)


def print_tune(result: TuneResult) -> None:
    """Threshold per detector with alerts a day and recall/precision at 0 and at it."""
    u = result.units
    out.print(
        f"[bold]budget[/bold] {result.budget:g} alerts a day per detector over "
        f"{result.span.days:.2f} days (span of stored events: {escape(result.span.text())})"
    )
    t = Table(
        title=f"Thresholds (recall per {u['recall']}, precision per {u['precision']})",
        title_justify="left",
    )
    for c in (
        "Detector",
        "min_score",
        "Alerts at 0",
        "Per day at 0",
        "Alerts kept",
        "Per day kept",
        "Recall at 0",
        "Recall kept",
        "Precision at 0",
        "Precision kept",
    ):
        t.add_column(c, justify="left" if c == "Detector" else "right")
    days = result.span.days
    for r in result.rows:
        t.add_row(
            r.detector,
            f"{r.threshold:g}",
            str(r.candidates),
            f"{r.candidates / days:.3g}",
            str(r.kept),
            f"{r.kept / days:.3g}",
            _rate(r.at_zero.measure.recall),
            _rate(r.at_threshold.measure.recall),
            _rate(r.at_zero.measure.precision),
            _rate(r.at_threshold.measure.precision),
        )
    out.print(t)
    for r in result.rows:
        if r.note:
            out.print(f"[yellow]note:[/yellow] {r.detector}: {escape(r.note)}")


@app.command(name="tune")
def tune_cmd(
    budget: Annotated[float, typer.Option("--budget", help="Alerts a day allowed per detector.")],
    labels: Annotated[
        str | None,
        typer.Option("--labels", help="Labels CSV (as for evaluate); or use --from-verdicts."),
    ] = None,
    from_verdicts: Annotated[
        bool,
        typer.Option("--from-verdicts", help="Measure on reviewers' verdicts from the review store instead."),
    ] = False,
    db: DbOpt = None,
    workspace: WorkspaceOpt = None,
    config: ConfigOpt = None,
    out_path: Annotated[
        str | None, typer.Option("--out", help="Write the thresholds as a detector config TOML.")
    ] = None,
    techniques: TechniquesOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Pick each detector's min_score for an alert budget; show recall and precision it costs."""
    if (labels is None) == (not from_verdicts):
        raise ConfigError("give either --labels FILE or --from-verdicts")
    flt = _filter(techniques)
    if from_verdicts:
        if flt:
            raise ConfigError("--techniques applies to --labels only")
        with open_store(workspace, db) as store:
            verdict_labels = store.alert_labels()
        with workspace_from_env(workspace) as ws:
            result = tune_from_verdicts(ws.con, verdict_labels, budget, config)
    else:
        assert labels is not None
        label_set = load_labels(labels)
        with workspace_from_env(workspace) as ws:
            result = tune(ws.con, label_set, budget, config, flt)
    if out_path:
        Path(out_path).write_text(result.config_toml(), encoding="utf-8")
    if as_json:
        sys.stdout.write(json.dumps(result.to_json(), default=str) + "\n")
    else:
        print_tune(result)
        if out_path:
            err.print(f"thresholds written to {escape(out_path)} (use with --config)")
        else:
            out.print(result.config_toml(), markup=False, highlight=False)
