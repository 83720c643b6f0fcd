"""Network alerts against per-pair labels (``source, destination[, port], technique``).

An alert matches a label when its source is the label's source, it names the label's
destination (as ``destination`` or as the ``host`` a scan probed) unless the label leaves it
empty, its port is the label's unless either leaves it empty, and a technique matches.

* precision counts **alerts** with a network source: TP when it matches a label, else FP;
* recall counts **labelled pairs** (label rows): detected when a matching alert exists;
* the false-positive rate counts **benign pairs**: (source, destination) of stored
  connections that no attack row covers; FP_on_negatives = those an unmatched alert names.

An optional ``label`` column marks a row ``benign`` (never a positive: an alert on it is false)
or ``background``/``unknown`` (neither: its pairs are left out of the benign ones and counted).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol

import duckdb

from bluebench.evaluation.labels import LabelSet, PairLabel
from bluebench.evaluation.metrics import Measure, any_match, technique_matches
from bluebench.schema import Alert

UNITS = {"precision": "alert", "recall": "labelled pair", "fpr": "benign pair"}
DEFINITIONS = [
    "precision unit: an alert that names a source; TP when its source, destination (or the host "
    "a scan probed) and port agree with a label row (an empty destination or port agrees with "
    "any) and a technique matches, else FP",
    "recall unit: a labelled pair (one label row); detected when a matching alert exists",
    "FPR unit: a (source, destination) pair of stored connections that no attack or background row covers; "
    "FP_on_negatives = such pairs named by an alert that matches no label",
]
PAIRS_SQL = """SELECT DISTINCT lower("source.ip"), lower("destination.ip") FROM events
WHERE "event.action" = 'connection' AND "source.ip" IS NOT NULL AND "destination.ip" IS NOT NULL"""


class _Filtered(Protocol):
    """An alert after the technique filter (``evaluate._Alert``)."""

    alert: Alert
    techniques: list[str]


Row = Any  # evaluate.Row, built by the caller's factory (evaluate imports this module)
RowFactory = Callable[..., Row]


def _matches(label: PairLabel, a: _Filtered) -> bool:
    ents = {k: str(v).lower() for k, v in a.alert.entities.items()}
    if ents.get("source") != label.source or not any_match(a.techniques, [label.technique]):
        return False
    if label.destination and label.destination not in (ents.get("destination"), ents.get("host")):
        return False
    port = ents.get("port")
    return label.port is None or not port or port == str(label.port)


def _covered(label: PairLabel, pair: tuple[str, str]) -> bool:
    return pair[0] == label.source and (not label.destination or pair[1] == label.destination)


def evaluate_pairs(
    con: duckdb.DuckDBPyConnection,
    labels: LabelSet,
    alerts: Sequence[_Filtered],
    flt: list[str],
    make_row: RowFactory,
) -> tuple[Callable[[str, list[str], list[Any]], Row], dict[str, Any], list[str]]:
    """The measure for a group of alerts, the scope and the label techniques (for ``evaluate``)."""
    attacks = [p for p in labels.pairs if p.label == "malicious"]
    pairs = [p for p in attacks if not flt or any(technique_matches(p.technique, f) for f in flt)]
    stored = {(str(s), str(d)) for s, d in con.execute(PAIRS_SQL).fetchall()}
    # Benign: stored pairs no attack or unknown (Background) row covers; a 'benign' row is one of them.
    not_benign = [p for p in labels.pairs if p.label != "benign"]
    benign = {u for u in stored if not any(_covered(p, u) for p in not_benign)}
    unknown = sum(1 for u in stored if any(_covered(p, u) for p in labels.pairs if p.label == "unknown"))

    def measure(name: str, claimed: list[str], group: list[Any]) -> Row:
        tp = fp = outside = 0
        found: set[int] = set()
        benign_hit: set[tuple[str, str]] = set()
        for a in group:
            src = str(a.alert.entities.get("source", "")).lower()
            if not src:
                outside += 1
                continue
            hits = {i for i, p in enumerate(pairs) if _matches(p, a)}
            found |= hits
            if hits:
                tp += 1
                continue
            fp += 1
            dst = str(a.alert.entities.get("destination") or a.alert.entities.get("host") or "").lower()
            benign_hit |= {u for u in benign if u[0] == src and (not dst or u[1] == dst)}
        positives = [i for i, p in enumerate(pairs) if any_match([p.technique], claimed)]
        detected = sum(1 for i in positives if i in found)
        counts = Measure(
            tp, fp, detected, len(positives) - detected, len(benign_hit), len(benign) - len(benign_hit), UNITS
        )
        missed = [f"line {pairs[i].row}: {pairs[i].attack}" for i in positives if i not in found]
        return make_row(
            name,
            claimed,
            tp + fp,
            counts,
            alerts_outside=outside,
            details={"missed_pairs": missed[:50], "detectors": sorted({a.alert.detector for a in group})},
        )

    scope = {
        "label_rows": len(labels.pairs),
        "pairs_evaluated": len(pairs),
        "benign_pairs": len(benign),
        "benign_label_rows": sum(1 for p in labels.pairs if p.label == "benign"),
        "unknown_pairs_excluded": unknown,
    }
    return measure, scope, sorted({p.technique for p in pairs})
