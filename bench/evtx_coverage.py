"""Coverage of the labelled EVTX-to-MITRE-Attack files by alert techniques (development check).

Usage (from the repository root)::

    bluebench scan ../shared/data/windows/evtx-to-mitre-attack -w /tmp/wsA --json > /tmp/alerts.jsonl
    python bench/evtx_coverage.py -w /tmp/wsA

A labelled file counts as covered when an alert whose technique matches the label (the same
technique, a sub-technique of it, or its parent) has an evidence event in that file. The
stored alerts and their event ids are read from the workspace; an event id names every
events row with that id, so a record that two files share counts for both; a file stored
once for duplicate content counts for each of its aliases.
"""

from __future__ import annotations

import argparse
import csv
import os
from collections import defaultdict
from pathlib import Path

import duckdb

TARGETS = ("T1110", "T1558", "T1550", "T1021.002", "T1136", "T1098", "T1070.001")


def norm_label(technique: str) -> str:
    """'T1110.xxx' means the parent technique T1110."""
    t = technique.strip()
    return t[: -len(".xxx")] if t.endswith(".xxx") else t


def matches(alert_t: str, label_t: str) -> bool:
    """Same technique, a sub-technique of the label, or the label's parent."""
    return alert_t == label_t or alert_t.startswith(label_t + ".") or label_t.startswith(alert_t + ".")


def main() -> None:
    """Print the per-technique table and every miss with what the file held."""
    ap = argparse.ArgumentParser()
    ap.add_argument("-w", "--workspace", required=True)
    ap.add_argument("--labels", default="../shared/data/windows/evtx_labels.csv", help="evtx_labels.csv")
    args = ap.parse_args()
    base = Path(args.labels).resolve().parent

    def key(path: str) -> str:
        return os.path.relpath(Path(path).resolve(), base)

    con = duckdb.connect(str(Path(args.workspace) / "bluebench.duckdb"), read_only=True)
    original = {
        key(p): key(d) for p, d in con.execute("SELECT path, duplicate_of FROM files").fetchall() if d
    }
    codes: dict[str, str] = {
        key(p): c
        for p, c in con.execute(
            """SELECT "log.file.path", string_agg(DISTINCT "event.code", ',' ORDER BY "event.code")
               FROM events GROUP BY 1"""
        ).fetchall()
    }
    techniques: dict[str, set[str]] = defaultdict(set)
    detectors: dict[str, set[str]] = defaultdict(set)
    evidence = con.execute(
        """SELECT DISTINCT e."log.file.path", a.detector, unnest(a.techniques)
           FROM alerts a JOIN alert_events ae ON ae.alert_id = a.id
           JOIN events e ON e."event.id" = ae.event_id"""
    ).fetchall()
    for path, detector, technique in evidence:
        techniques[key(path)].add(technique)
        detectors[key(path)].add(detector)

    with open(args.labels, encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    table: dict[str, list[int]] = {t: [0, 0] for t in TARGETS}
    misses = []
    for r in rows:
        labels = [norm_label(t) for t in r["techniques"].replace(";", ",").split(",") if t.strip()]
        wanted = [t for t in TARGETS if any(matches(lab, t) for lab in labels)]
        if not wanted:
            continue
        path = r["path"]
        stored = original.get(path, path)
        got = techniques.get(stored, set())
        hit = any(matches(a, lab) for a in got for lab in labels)
        for t in wanted:
            table[t][0] += 1
            table[t][1] += hit
        if not hit:
            misses.append(
                (path, labels, sorted(got), sorted(detectors.get(stored, set())), codes.get(stored))
            )

    total = [sum(v[0] for v in table.values()), sum(v[1] for v in table.values())]
    print(f"{'technique':<12} {'files':>6} {'alerted':>8} {'%':>6}")
    for t, (n, k) in [*table.items(), ("all", total)]:
        print(f"{t:<12} {n:>6} {k:>8} {100 * k / n if n else 0:>6.1f}")
    print(f"\nmisses ({len(misses)}):")
    for path, labels, got, dets, evc in misses:
        print(
            f"- {path}\n    label {','.join(labels)}; alert techniques {got or '-'}; detectors {dets or '-'};"
        )
        print(f"    event codes in file: {evc or 'none stored'}")


if __name__ == "__main__":
    main()
