"""Charts of stored evaluation results as PNG bytes, for the web metrics page and the report.

Pure functions: data in, PNG bytes out. matplotlib runs on its Agg canvas through the
object API (no pyplot state), so charts can be drawn from web worker threads and never
open a window or reach the network. PNG metadata carries no software version or date, so
the same data gives the same bytes on the same matplotlib.

Each chart has a ``*_png`` function taking plain data, and the module has readers that
turn what the project stores into that data:

* :func:`curve_from_evaluation` - the ``curve`` of a stored detector evaluation
  (``bluebench evaluate``, the ``evaluations`` table): precision, recall and alerts a day
  at raised score thresholds;
* :func:`confusion_from_evaluation` / :func:`confusion_from_mail` - the counts of a
  detector evaluation (in its units) or of the mail model's test part;
* :func:`drift_from_mail` - the month-by-month drift table of ``bluebench mail evaluate``;
* :func:`points_from_mail` - each mail model row's operating point (precision, recall).

Empty input draws a chart that says "no data" rather than failing, so a page or report
with nothing measured yet still renders and says so.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

__all__ = [
    "Confusion",
    "CurvePoint",
    "MonthPoint",
    "alerts_per_day_vs_recall_png",
    "confusion_from_evaluation",
    "confusion_from_mail",
    "confusion_matrix_png",
    "curve_from_evaluation",
    "drift_by_month_png",
    "drift_from_mail",
    "points_from_mail",
    "pr_curve_png",
    "verdicts_over_time_png",
]

PSI_RETRAIN = 0.25  # the mail evaluation's retrain rule: PSI above this is a shift worth acting on
_SIZE = (6.4, 4.0)
_DPI = 100


@dataclass(frozen=True)
class CurvePoint:
    """One operating point: a threshold and what it gives (None where undefined)."""

    threshold: float
    precision: float | None
    recall: float | None
    alerts_per_day: float | None = None
    alerts: int | None = None


@dataclass(frozen=True)
class Confusion:
    """A confusion matrix: ``counts[i][j]`` units of true class ``rows[i]`` decided ``cols[j]``."""

    rows: tuple[str, ...]
    cols: tuple[str, ...]
    counts: tuple[tuple[int, ...], ...]
    unit: str = ""


@dataclass(frozen=True)
class MonthPoint:
    """One month of drift: messages, recall, FPR and the largest PSI (None where undefined)."""

    month: str
    n: int
    recall: float | None
    fpr: float | None
    max_psi: float | None
    retrain: bool = False


# ------------------------------------------------------------------ drawing helpers


def _figure(size: tuple[float, float] = _SIZE) -> Figure:
    fig = Figure(figsize=size, dpi=_DPI, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _png(fig: Figure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", metadata={"Software": None})
    return buf.getvalue()


def _no_data(title: str, why: str) -> bytes:
    fig = _figure()
    ax = fig.add_subplot()
    ax.set_axis_off()
    ax.set_title(title)
    ax.text(0.5, 0.5, f"no data: {why}", ha="center", va="center", wrap=True)
    return _png(fig)


def _f(v: float | None) -> float:
    """A value already checked to be defined, typed as float for matplotlib."""
    return 0.0 if v is None else float(v)


def _defined(points: Sequence[CurvePoint], attr: str) -> list[CurvePoint]:
    return [p for p in points if p.recall is not None and getattr(p, attr) is not None]


# ------------------------------------------------------------------ charts


def pr_curve_png(
    curves: Mapping[str, Sequence[CurvePoint]],
    points: Mapping[str, CurvePoint] | None = None,
    title: str = "Precision against recall",
) -> bytes:
    """Precision (y) against recall (x): one line per curve, one marker per single point.

    Higher and further right is better; each curve runs from its lowest threshold (most
    recall) to its highest, so it shows what raising a threshold costs.
    """
    drawable = {k: _defined(v, "precision") for k, v in curves.items()}
    drawable = {k: v for k, v in drawable.items() if v}
    singles = {k: p for k, p in (points or {}).items() if p.precision is not None and p.recall is not None}
    if not drawable and not singles:
        return _no_data(title, "no stored evaluation with precision and recall")
    fig = _figure()
    ax = fig.add_subplot()
    for name, pts in drawable.items():
        pts = sorted(pts, key=lambda p: p.threshold)
        ax.plot(
            [_f(p.recall) for p in pts], [_f(p.precision) for p in pts], marker="o", markersize=3, label=name
        )
    for name, p in singles.items():
        ax.plot(
            [_f(p.recall)],
            [_f(p.precision)],
            marker="s",
            linestyle="none",
            label=f"{name} (t={p.threshold:.3g})",
        )
    ax.set_xlabel("recall")
    ax.set_ylabel("precision")
    ax.set_xlim(-0.02, 1.02)
    ax.set_ylim(-0.02, 1.02)
    ax.grid(True, alpha=0.3)
    ax.set_title(title)
    ax.legend(fontsize="small", loc="lower left")
    return _png(fig)


def alerts_per_day_vs_recall_png(
    curves: Mapping[str, Sequence[CurvePoint]],
    budget: float | None = None,
    title: str = "Alerts a day against recall",
) -> bytes:
    """Recall (y) against the alerts a day a threshold lets through (x, log scale when wide).

    The question it answers: how much recall does an analyst team's daily capacity buy.
    ``budget`` draws that capacity as a vertical line.
    """
    drawable = {
        k: [p for p in _defined(v, "alerts_per_day") if (p.alerts_per_day or 0) > 0]
        for k, v in curves.items()
    }
    drawable = {k: v for k, v in drawable.items() if v}
    if not drawable:
        return _no_data(title, "no stored evaluation with alerts a day and recall")
    fig = _figure()
    ax = fig.add_subplot()
    values: list[float] = []
    for name, pts in drawable.items():
        pts = sorted(pts, key=lambda p: p.threshold)
        xs = [float(p.alerts_per_day or 0.0) for p in pts]
        values += xs
        ax.plot(xs, [_f(p.recall) for p in pts], marker="o", markersize=3, label=name)
    if max(values) / min(values) > 50:
        ax.set_xscale("log")
    if budget is not None and budget > 0:
        ax.axvline(budget, color="grey", linestyle="--", label=f"budget {budget:g}/day")
    ax.set_xlabel("alerts a day (all alerts at or above the threshold)")
    ax.set_ylabel("recall")
    ax.set_ylim(-0.02, 1.02)
    ax.grid(True, alpha=0.3)
    ax.set_title(title)
    ax.legend(fontsize="small", loc="lower right")
    return _png(fig)


def confusion_matrix_png(confusion: Confusion | None, title: str = "Confusion matrix") -> bytes:
    """Counts in a grid, true class by row and decision by column, each cell labelled."""
    if confusion is None or not confusion.counts:
        return _no_data(title, "no stored counts")
    fig = _figure((5.6, 4.0))
    ax = fig.add_subplot()
    data = [list(r) for r in confusion.counts]
    top = max((v for r in data for v in r), default=0) or 1
    ax.imshow(data, cmap="Blues", vmin=0, vmax=top)
    for i, row in enumerate(data):
        for j, v in enumerate(row):
            ax.text(j, i, f"{v:,}", ha="center", va="center", color="white" if v > top / 2 else "black")
    ax.set_xticks(range(len(confusion.cols)), list(confusion.cols))
    ax.set_yticks(range(len(confusion.rows)), list(confusion.rows))
    ax.set_xlabel("decided")
    ax.set_ylabel("true class")
    ax.set_title(title + (f"\nunit: {confusion.unit}" if confusion.unit else ""), fontsize="small")
    return _png(fig)


def drift_by_month_png(months: Sequence[MonthPoint], title: str = "Drift by month") -> bytes:
    """Recall and FPR by month (top), the largest PSI by month against the retrain line (bottom)."""
    if not months:
        return _no_data(title, "no month-by-month drift table")
    fig = _figure((7.2, 5.0))
    top, bottom = fig.subplots(2, 1, sharex=True)
    xs = list(range(len(months)))
    rec = [(i, m.recall) for i, m in enumerate(months) if m.recall is not None]
    fpr = [(i, m.fpr) for i, m in enumerate(months) if m.fpr is not None]
    if rec:
        top.plot([i for i, _ in rec], [v for _, v in rec], marker="o", markersize=3, label="recall")
    if fpr:
        top.plot([i for i, _ in fpr], [v for _, v in fpr], marker="o", markersize=3, label="FPR")
    top.set_ylim(-0.02, 1.02)
    top.set_ylabel("rate")
    top.grid(True, alpha=0.3)
    top.legend(fontsize="small")
    top.set_title(title)
    psi = [m.max_psi if m.max_psi is not None else 0.0 for m in months]
    colors = ["tab:red" if m.retrain else "tab:blue" for m in months]
    bottom.bar(xs, psi, color=colors)
    bottom.axhline(PSI_RETRAIN, color="grey", linestyle="--", label=f"PSI {PSI_RETRAIN}")
    bottom.set_ylabel("largest PSI")
    bottom.legend(fontsize="small")
    step = max(1, len(months) // 12)
    bottom.set_xticks(xs[::step], [m.month for m in months][::step], rotation=45, ha="right")
    return _png(fig)


def verdicts_over_time_png(
    periods: Sequence[str], series: Mapping[str, Sequence[int]], title: str = "Verdicts over time"
) -> bytes:
    """Stacked bars of counts per period (for example false and true positives per week)."""
    if not periods or not any(sum(v) for v in series.values()):
        return _no_data(title, "no reviewer verdicts yet")
    fig = _figure((6.4, 3.2))
    ax = fig.add_subplot()
    xs = list(range(len(periods)))
    bottom = [0] * len(periods)
    for name, values in series.items():
        ax.bar(xs, list(values), bottom=list(bottom), label=name)
        bottom = [b + v for b, v in zip(bottom, values, strict=True)]
    step = max(1, len(periods) // 12)
    ax.set_xticks(xs[::step], list(periods)[::step], rotation=45, ha="right")
    ax.set_ylabel("alerts")
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_title(title, fontsize="medium")
    ax.legend(fontsize="small")
    return _png(fig)


# ------------------------------------------------------------------ readers of stored results


def _value(rate: Any) -> float | None:
    if isinstance(rate, Mapping):
        v = rate.get("value")
        return None if v is None else float(v)
    return None


def curve_from_evaluation(result: Mapping[str, Any]) -> list[CurvePoint]:
    """The stored ``curve`` of a detector evaluation (empty for results stored before it existed)."""
    return [
        CurvePoint(
            threshold=float(p["min_score"]),
            precision=_value(p.get("precision")),
            recall=_value(p.get("recall")),
            alerts_per_day=float(p["alerts_per_day"]) if p.get("alerts_per_day") is not None else None,
            alerts=int(p["alerts"]) if p.get("alerts") is not None else None,
        )
        for p in result.get("curve") or []
    ]


def confusion_from_evaluation(result: Mapping[str, Any], row: str = "overall") -> Confusion | None:
    """Overall (or one detector's) counts of a detector evaluation, in its per-file/alert units.

    Only per-file labels give one unit for all four cells; otherwise the positive row counts
    attack units and the negative row benign units, which the unit text says.
    """
    found: Mapping[str, Any] | None = None
    if row == "overall":
        found = result.get("overall")
    else:
        found = next((d for d in result.get("detectors", []) if d.get("name") == row), None)
    if not found or "counts" not in found:
        return None
    c = found["counts"]
    units = found.get("units", {})
    if len(set(units.values())) == 1:
        unit = next(iter(units.values()))
    else:
        unit = f"attack row: {units.get('recall', '?')}, benign row: {units.get('fpr', '?')}"
    return Confusion(
        rows=("attack", "benign"),
        cols=("alerted", "not alerted"),
        counts=((int(c["detected"]), int(c["FN"])), (int(c["FP_on_negatives"]), int(c["TN"]))),
        unit=unit,
    )


def _mail_main(mail: Mapping[str, Any]) -> Mapping[str, Any] | None:
    rows = mail.get("rows") or []
    return next((r for r in rows if r.get("key") == "all"), rows[0] if rows else None)


def confusion_from_mail(mail: Mapping[str, Any]) -> Confusion | None:
    """The shipped mail model's test-part counts: phishing, ham and spam against flagged or not."""
    main = _mail_main(mail)
    if not main or "counts" not in main.get("test", {}):
        return None
    c = main["test"]["counts"]
    spam = int(c.get("spam", 0))
    fp_spam = int(c.get("FP_spam", 0))
    return Confusion(
        rows=("phishing", "ham", "spam"),
        cols=("flagged", "not flagged"),
        counts=(
            (int(c["TP"]), int(c["FN"])),
            (int(c["FP_ham"]), int(c["TN_ham"])),
            (fp_spam, spam - fp_spam),
        ),
        unit="message",
    )


def points_from_mail(mail: Mapping[str, Any]) -> dict[str, CurvePoint]:
    """Each mail model row's operating point on the test part, at the threshold it was given."""
    out: dict[str, CurvePoint] = {}
    for r in mail.get("rows") or []:
        test = r.get("test") or {}
        if "threshold" not in test:
            continue
        out[f"mail {r.get('key', '?')}"] = CurvePoint(
            float(test["threshold"]), _value(test.get("precision")), _value(test.get("recall"))
        )
    return out


def drift_from_mail(mail: Mapping[str, Any]) -> list[MonthPoint]:
    """The month rows of the mail evaluation's drift table."""
    rows = (mail.get("drift") or {}).get("months") or []
    return [
        MonthPoint(
            month=str(r["month"]),
            n=int(sum((r.get("counts") or {}).values())),
            recall=_value(r.get("recall")),
            fpr=_value(r.get("fpr")),
            max_psi=_value(r.get("max_psi")),
            retrain=bool(r.get("retrain")),
        )
        for r in rows
    ]
