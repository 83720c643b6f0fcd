"""evaluate and tune: measure stored alerts against labels, and pick thresholds for a budget."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

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
    out,
    show,
)
from bluebench.cli.render import pct, rate_cell, table, wide
from bluebench.cli.triage import open_store, verdict_counts
from bluebench.errors import ConfigError

# Evaluation reads the workspace and runs the detectors: loaded by the commands, not at start.
if TYPE_CHECKING:
    from bluebench.evaluation.evaluate import Evaluation, Row
    from bluebench.evaluation.metrics import Measure, Rate, VerdictPrecision
    from bluebench.evaluation.tune import TuneResult

LabelsOpt = Annotated[
    str,
    typer.Option(
        "--labels",
        help="Labels CSV: per file (path, techniques), per event (file, record, technique, "
        "attack, attack_id), per entity window (entity, start, end, technique) or per network pair "
        "(source, destination, port, technique[, label]); or labelled network logs (a Stratosphere "
        "*.log.labeled, an Argus binetflow with a Label column, or a folder of them): per flow.",
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


DetectorsOpt = Annotated[
    str | None,
    typer.Option(
        "--detectors",
        help="Only these detectors' rows, comma separated (default: every registered detector, "
        "plus any other with alerts).",
    ),
]
RootOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--root",
        help="Folder the labels' relative paths may be under, tried after the labels file's own "
        "folder and the working folder (repeatable).",
    ),
]


def _roots(root: list[str] | None) -> list[Path]:
    for r in root or []:
        if not Path(r).is_dir():
            raise ConfigError(f"--root {r}: no such folder")
    return [Path(r).resolve() for r in root or []]


def _nothing_matched(tried: list[str], labels: str) -> None:
    """No label named a stored file: say where each was looked for, and stop with exit 2."""
    if not tried:
        return
    err.print(f"[red]error:[/red] no file labelled in {show(labels)} is in the workspace; tried:")
    for path in tried:
        err.print(f"  {show(path)}", soft_wrap=True)  # a path to copy, never broken across lines
    err.print(
        "Labels are read relative to the labels file's folder, then the working folder, then "
        "--root DIR. A workspace made before ingest kept where each file was read matches its "
        "files only from the folder ingest ran in."
    )
    raise typer.Exit(2)


def _detector_ids(text: str | None) -> list[str] | None:
    """'beaconing, port_scan' -> the registered ids named; an unknown one is an error naming it."""
    if not text:
        return None
    from bluebench.detectors import DETECTORS

    ids = [d.strip() for d in text.split(",") if d.strip()]
    unknown = [d for d in ids if d not in DETECTORS]
    if unknown:
        raise ConfigError(f"--detectors: no detector {', '.join(unknown)} (`bluebench config` lists them)")
    return ids


def _filter(text: str | None) -> list[str]:
    from bluebench.evaluation.evaluate import parse_filter

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


def _counts_header() -> tuple[str, ...]:
    """TP, FP, FN, TN side by side when the terminal has room, else stacked in one column."""
    return ("TP", "FP", "FN", "TN") if wide() else ("TP/FP\nFN/TN",)


def _counts(m: Measure) -> tuple[str, ...]:
    if wide():
        return (str(m.tp), str(m.fp), str(m.fn), str(m.tn))
    return (f"{m.tp}/{m.fp}\n{m.fn}/{m.tn}",)


def _detector_table(result: Evaluation) -> Table:
    u = result.units
    techniques = ("Techniques",) if wide() else ()
    t = table(
        f"Per detector: precision per {u['precision']}, recall per {u['recall']}, "
        f"FPR per {u['fpr']}; under each rate its 95% Wilson interval, in %",
        "Detector",
        *techniques,
        "Alerts",
        *_counts_header(),
        "Precision",
        "Recall",
        "F1",
        "FPR",
        left=("Detector", "Techniques"),
    )
    for col in t.columns:  # ids and counts are copied, never folded; only prose wraps
        col.no_wrap = col.header != "Techniques"

    def add(r: Row, style: str | None = None, techs: str = "") -> None:
        m = r.measure
        t.add_row(
            show(r.name),
            *((techs or ", ".join(r.techniques) or "-",) if techniques else ()),
            str(r.alerts),
            *_counts(m),
            rate_cell(m.precision),
            rate_cell(m.recall),
            _f1(m.f1),
            rate_cell(m.fpr),
            style=style,
        )

    for r in result.detectors:
        add(r)
    t.add_section()
    n = len(result.overall.techniques)
    add(result.overall, "bold", f"{n} techniques (below)")
    return t


def _technique_columns(result: Evaluation) -> tuple[str, ...]:
    u = result.units
    cols: tuple[str, ...]
    if result.kind == "file":
        cols = ("Technique", "Files", "Alerted", "TP", "FN", "Recall", "FP", "FPR", "Precision")
    else:
        cols = ("Technique", f"{u['recall'].capitalize()}s", "Detected", "FN", "Recall", "Alerts", "TP")
        cols += ("FP", "Precision", f"{u['fpr'].capitalize()}s alerted", "FPR")
    if not wide():  # what the rates' own counts already say gives way to the rates
        cols = tuple(c for c in cols if c not in ("FN", "TP") and not c.endswith(" alerted"))
    return (*cols, "Detectors") if wide() else cols


def _technique_cells(result: Evaluation, r: Row) -> dict[str, str]:
    m = r.measure
    cells = {
        "Technique": r.name if r.details.get("in_labels", True) else f"{r.name}*",
        "Files": str(r.details.get("labelled_files", "")),
        "Alerted": str(r.details.get("alerted_files", "")),
        "TP": str(m.tp),
        "FN": str(m.fn),
        "Recall": rate_cell(m.recall),
        "FP": str(m.fp_negative if result.kind == "file" else m.fp),
        "FPR": rate_cell(m.fpr),
        "Precision": rate_cell(m.precision),
        "Detected": str(m.detected),
        "Alerts": str(r.alerts),
        f"{result.units['recall'].capitalize()}s": str(m.detected + m.fn),
        f"{result.units['fpr'].capitalize()}s alerted": str(m.fp_negative),
        "Detectors": ", ".join(r.details.get("detectors", [])) or "-",
    }
    return {k: (v if k in ("Recall", "FPR", "Precision") else show(v)) for k, v in cells.items()}


def _technique_table(result: Evaluation) -> Table:
    cols = _technique_columns(result)
    t = table(
        "Per technique (* = only alerts carry it, no label does)", *cols, left=("Technique", "Detectors")
    )
    t.columns[0].no_wrap = True
    for r in result.techniques:
        cells = _technique_cells(result, r)
        t.add_row(*[cells[c] for c in cols])
    return t


def _detectors_below(result: Evaluation) -> None:
    """Each technique's detectors, once, when the table had no room for them."""
    if wide():
        return
    for r in result.techniques:
        dets = ", ".join(r.details.get("detectors", [])) or "none"
        out.print(f"  {show(r.name)}: {show(dets)}")


def print_evaluation(result: Evaluation) -> None:
    """Tables per detector, overall and per technique, then what each count means."""
    out.print(
        f"[bold]evaluation[/bold] of stored alerts against {show(result.labels_path)} "
        f"({result.kind} labels)"
        + (f", techniques {', '.join(result.technique_filter)}" if result.technique_filter else "")
    )
    scope = ", ".join(
        f"{k.replace('_', ' ')}: {v}" for k, v in result.scope.items() if not isinstance(v, list)
    )
    out.print(f"[dim]{show(scope)}[/dim]")
    out.print(_detector_table(result))
    out.print(_technique_table(result))
    if not wide():
        out.print("[bold]detectors per technique[/bold]")
        _detectors_below(result)
    out.print("[bold]what the counts mean[/bold]")
    for line in result.definitions:
        out.print(f"  - {show(line)}")
    for note in result.notes:
        out.print(f"[yellow]note:[/yellow] {show(note)}")


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
        t.add_row(show(r.detector), str(r.precision.k), str(r.precision.n), _rate(r.precision), flag)
    out.print(t)


@app.command()
def evaluate(
    labels: LabelsOpt,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
    techniques: TechniquesOpt = None,
    db: DbOpt = None,
    root: RootOpt = None,
    detectors: DetectorsOpt = None,
) -> None:
    """Measure stored alerts against labels: precision, recall, F1, FPR with counts and intervals.

    Each detector's precision from reviewers' verdicts is added, flagged below the lead's floor.
    Exit 2 when no labelled file is in the workspace, naming the paths tried.
    """
    from bluebench.alerts.store import load_alerts
    from bluebench.evaluation.evaluate import evaluate_alerts, save_evaluation
    from bluebench.evaluation.labels import load_labels
    from bluebench.evaluation.metrics import verdict_precision
    from bluebench.events.workspace import workspace_from_env

    flt = _filter(techniques)
    label_set = load_labels(labels)
    roots = _roots(root)
    with open_store(workspace, db) as store:
        counts, floor = verdict_counts(store), store.precision_floor()
    with workspace_from_env(workspace, command="evaluate") as ws:
        result = evaluate_alerts(
            ws.con, label_set, load_alerts(ws.con), flt, detectors=_detector_ids(detectors), roots=roots
        )
        _nothing_matched(result.scope.get("paths_tried", []), labels)
        result.from_verdicts = verdict_precision(counts, floor)
        save_evaluation(ws.con, result)
    if as_json:
        sys.stdout.write(json.dumps(result.to_json(), default=str) + "\n")
    else:
        print_evaluation(result)
        print_verdict_precision(result.from_verdicts)


def _tune_table(result: TuneResult) -> Table:
    """Per detector the threshold and its cost; narrow terminals stack 'at 0' under 'kept'."""
    u = result.units
    title = f"Thresholds (recall per {u['recall']}, precision per {u['precision']})"
    days = result.span.days
    if wide():
        t = table(title, "Detector", "min_score", "Alerts at 0", "Per day at 0", "Alerts kept",
                  "Per day kept", "Recall at 0", "Recall kept", "Precision at 0", "Precision kept",
                  left=("Detector",))  # fmt: skip
    else:
        title += "; kept, and under it at 0"
        t = table(
            title, "Detector", "min_score", "Alerts", "Per day", "Recall", "Precision", left=("Detector",)
        )
    t.columns[0].no_wrap = True
    for r in result.rows:
        z, k = r.at_zero.measure, r.at_threshold.measure
        if wide():
            t.add_row(r.detector, f"{r.threshold:g}", str(r.candidates), f"{r.candidates / days:.3g}",
                      str(r.kept), f"{r.kept / days:.3g}", _rate(z.recall), _rate(k.recall),
                      _rate(z.precision), _rate(k.precision))  # fmt: skip
            continue
        t.add_row(
            r.detector,
            f"{r.threshold:g}",
            f"{r.kept}\n[dim]{r.candidates}[/dim]",
            f"{r.kept / days:.3g}\n[dim]{r.candidates / days:.3g}[/dim]",
            f"{pct(k.recall)}\n[dim]{pct(z.recall)}[/dim]",
            f"{pct(k.precision)}\n[dim]{pct(z.precision)}[/dim]",
        )
    return t


def print_tune(result: TuneResult) -> None:
    """Threshold per detector with alerts a day and recall/precision at 0 and at it."""
    out.print(
        f"[bold]budget[/bold] {result.budget:g} alerts a day per detector over "
        f"{result.span.days:.2f} days (span of stored events: {show(result.span.text())})"
    )
    t = _tune_table(result)
    out.print(t)
    for r in result.rows:
        if r.note:
            out.print(f"[yellow]note:[/yellow] {r.detector}: {show(r.note)}")


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
    rules: RulesOpt = None,
    rule_status: RuleStatusOpt = None,
    rule_level: RuleLevelOpt = None,
    root: RootOpt = None,
) -> None:
    """Pick each detector's min_score for an alert budget; show recall and precision it costs.

    With ``--rules`` Sigma is tuned like any detector, and the written config names the rules.
    """
    from bluebench.evaluation.labels import load_labels
    from bluebench.evaluation.tune import tune, tune_from_verdicts
    from bluebench.events.workspace import workspace_from_env
    from bluebench.pipeline import RuleOptions

    if (labels is None) == (not from_verdicts):
        raise ConfigError("give either --labels FILE or --from-verdicts")
    flt = _filter(techniques)
    overrides = RuleOptions(tuple(rules or ()), tuple(rule_status or ()), tuple(rule_level or ())).overrides()
    if from_verdicts:
        if flt:
            raise ConfigError("--techniques applies to --labels only")
        with open_store(workspace, db) as store:
            verdict_labels = store.alert_labels()
        with workspace_from_env(workspace, command="tune") as ws:
            result = tune_from_verdicts(ws.con, verdict_labels, budget, config, overrides)
    else:
        assert labels is not None
        label_set = load_labels(labels)
        with workspace_from_env(workspace, command="tune") as ws:
            result = tune(ws.con, label_set, budget, config, flt, overrides=overrides, roots=_roots(root))
        _nothing_matched(result.paths_tried, labels)
    if out_path:
        Path(out_path).write_text(result.config_toml(), encoding="utf-8")
    if as_json:
        sys.stdout.write(json.dumps(result.to_json(), default=str) + "\n")
    else:
        print_tune(result)
        if out_path:
            err.print(f"thresholds written to {show(out_path)} (use with --config)")
        else:
            out.print(result.config_toml(), markup=False, highlight=False)
