"""Per entity-and-window labels: precision per alert, recall per window, FPR per entity-day."""

from __future__ import annotations

from eval_helpers import AUTH_DETECTORS, Labelled

from bluebench.alerts.store import load_alerts
from bluebench.evaluation.evaluate import evaluate_alerts
from bluebench.evaluation.labels import load_labels


def test_windows(per_file: Labelled) -> None:
    labels = per_file.root / "windows.csv"
    labels.write_text(
        "entity,start,end,technique\n"
        "user=root,2024-03-03T07:59:00Z,2024-03-03T08:10:00Z,T1110.001\n"
        "198.51.100.23,2024-03-04T08:00:00Z,2024-03-04T09:00:00Z,T1110.003\n"
        "user=mallory,2024-03-07T00:00:00Z,2024-03-07T01:00:00Z,T1110\n",
        encoding="utf-8",
    )
    result = evaluate_alerts(
        per_file.ws.con, load_labels(labels), load_alerts(per_file.ws.con), detectors=AUTH_DETECTORS
    )
    assert result.units == {"precision": "alert", "recall": "entity-window", "fpr": "entity-day"}
    r = {x.name: x for x in [*result.detectors, result.overall]}
    bf, spray, enum = r["brute_force"].measure, r["password_spray"].measure, r["user_enumeration"].measure
    # brute_force: its alert matches root's window; its positives are root's and mallory's windows.
    assert (bf.tp, bf.fp, bf.detected, bf.fn, bf.fp_negative) == (1, 0, 1, 1, 0)
    # password_spray: the spray source's window found; 192.0.2.99's failures for accounts that do
    # not exist are user_enumeration's, whose alert matches nothing and names two benign entity-days.
    assert (spray.tp, spray.fp, spray.detected, spray.fn, spray.fp_negative) == (1, 0, 1, 1, 0)
    assert (enum.tp, enum.fp, enum.fp_negative) == (0, 1, 2)
    assert r["overall"].details["missed_windows"] == ["line 4: mallory"]
    days = result.scope["benign_entity_days"]
    assert spray.fp_negative + spray.tn == days > 0
