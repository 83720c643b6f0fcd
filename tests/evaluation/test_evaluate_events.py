"""Per-event labels: precision per alert, recall per attack instance, FPR per benign event.

The log (see conftest): 1-5 benign, 6-15 bf-1, 16-21 spray-1, 22-27 an enumeration the labels
do not list (so benign for them), 28-30 bf-2 (three failures: too few for any detector).
"""

from __future__ import annotations

import shutil
from pathlib import Path

from eval_helpers import AUTH_DETECTORS, Labelled, counts

from bluebench.alerts.store import load_alerts
from bluebench.evaluation.evaluate import Evaluation, evaluate_alerts
from bluebench.evaluation.labels import load_labels
from bluebench.events.workspace import Workspace
from bluebench.sources import ReadOptions, discover

BENIGN = 30 - 19  # lines not listed in the labels


def run(fx: Labelled, labels: Path | None = None) -> Evaluation:
    return evaluate_alerts(
        fx.ws.con, load_labels(labels or fx.labels), load_alerts(fx.ws.con), detectors=AUTH_DETECTORS
    )


def test_units(per_event: Labelled) -> None:
    result = run(per_event)
    assert result.units == {"precision": "alert", "recall": "attack instance", "fpr": "benign event"}
    assert result.scope["attack_instances"] == 3
    assert result.scope["events_in_scope"] == 30
    assert result.scope["benign_events"] == BENIGN
    assert result.scope["labelled_records_not_found"] == 0


def test_per_detector(per_event: Labelled) -> None:
    r = {x.name: x for x in [*run(per_event).detectors, run(per_event).overall]}
    # brute_force: its one alert covers bf-1; bf-2 (T1110.001) is missed; no benign event alerted.
    m = r["brute_force"].measure
    assert (m.tp, m.fp, m.detected, m.fn, m.fp_negative, m.tn) == (1, 0, 1, 1, 0, BENIGN)
    # password_spray: spray-1 found; the unlisted enumeration (accounts that do not exist) is
    # user_enumeration's, so no benign event is in its evidence.
    m = r["password_spray"].measure
    assert (m.tp, m.fp, m.detected, m.fn, m.fp_negative, m.tn) == (1, 0, 1, 0, 0, BENIGN)
    # user_enumeration claims T1110 too: all three instances are its positives, none found.
    m = r["user_enumeration"].measure
    assert (m.tp, m.fp, m.detected, m.fn, m.fp_negative) == (0, 1, 0, 3, 6)
    m = r["credential_stuffing"].measure
    assert (r["credential_stuffing"].alerts, m.detected, m.fn) == (0, 0, 0)  # no T1110.004 instance
    m = r["overall"].measure
    assert (m.tp, m.fp, m.detected, m.fn, m.fp_negative, m.tn) == (2, 1, 2, 1, 6, BENIGN - 6)
    assert r["brute_force"].details["missed_instances"] == ["bf-2 (T1110.001)"]


def test_per_technique(per_event: Labelled) -> None:
    t = {x.name: x for x in run(per_event).techniques}
    assert set(t) == {"T1110.001", "T1110.003", "T1087"}
    assert t["T1087"].details["in_labels"] is False  # only an alert names it
    assert (t["T1110.001"].measure.detected, t["T1110.001"].measure.fn) == (1, 1)
    assert (t["T1110.003"].measure.detected, t["T1110.003"].measure.fn) == (1, 0)
    assert counts(t["T1087"].measure)[:2] == (0, 1)


def test_label_naming_a_stored_copy(per_event: Labelled) -> None:
    """A labels file naming a byte copy finds the original's events through the alias row."""
    gen = per_event.root / "gen"
    shutil.copy(gen / "auth.log", gen / "auth-copy.log")
    summary = per_event.ws.ingest(discover(["gen/auth-copy.log"]), ReadOptions(year=2024))
    assert summary.files[0].status == "duplicate"
    text = (gen / "labels.csv").read_text(encoding="utf-8").replace("auth.log,", "auth-copy.log,")
    (gen / "labels-copy.csv").write_text(text, encoding="utf-8")
    r = run(per_event, gen / "labels-copy.csv").overall.measure
    assert (r.tp, r.detected, r.fn) == (2, 2, 1)


def test_records_missing_are_reported(per_event: Labelled) -> None:
    text = (per_event.labels).read_text(encoding="utf-8") + "auth.log,999,T1110.001,brute_force,bf-3\n"
    (per_event.root / "gen" / "more.csv").write_text(text, encoding="utf-8")
    result = run(per_event, per_event.root / "gen" / "more.csv")
    assert result.scope["labelled_records_not_found"] == 1
    assert any("not among the stored events" in n for n in result.notes)


def test_alerts_outside_the_labelled_files_are_left_out(per_event: Labelled, tmp_path: Path) -> None:
    """An alert on a file the labels do not cover is neither TP nor FP; it is counted apart."""
    other = tmp_path / "elsewhere"
    other.mkdir()
    shutil.copy(per_event.root / "gen" / "auth.log", other / "x.log")
    # The same attacks a month later: detectors group by account and source across files,
    # so the copy must not overlap the labelled log in time to give alerts of its own.
    (other / "x.log").write_text(
        (other / "x.log").read_text(encoding="utf-8").replace("Mar ", "Apr "),
        encoding="utf-8",
    )
    ws = per_event.ws
    ws.ingest(discover([str(other / "x.log")]), ReadOptions(year=2024))
    from eval_helpers import AUTH_DETECTORS as _  # noqa: F401  (same detectors as the fixture)
    from eval_helpers import detect  # not 'conftest': that name is whichever conftest loaded last

    detect(ws)
    result = run(per_event)
    assert result.overall.alerts_outside > 0
    assert result.scope["events_in_scope"] == 30


def test_empty_workspace(tmp_path: Path) -> None:
    ws = Workspace(tmp_path / "ws")
    labels = tmp_path / "labels.csv"
    labels.write_text("file,record,technique,attack,attack_id\nx.log,1,T1110,bf,1\n", encoding="utf-8")
    result = evaluate_alerts(ws.con, load_labels(labels), [], detectors=AUTH_DETECTORS)
    assert result.overall.measure.recall.value is None  # the instance's file is not stored
    assert result.scope["label_files_not_in_workspace"] == ["x.log"]
    ws.close()
