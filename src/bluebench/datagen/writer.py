"""Output: formatted lines appended to the day's Winlogbeat file and to auth.log, labels, manifest.

Record ids continue per host across windows; every labelled row becomes a ``labels.csv`` line
(file, 1-based line, technique, attack, attack id); ``manifest.json`` lists the arguments,
files, attack instances and the hard negatives registered in ``registry.KINDS``.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO

import numpy as np
import pyarrow as pa

from bluebench.datagen.attacks import AttackInstance, Attacks
from bluebench.datagen.columns import Cols, nrows, take
from bluebench.datagen.format import Formatter
from bluebench.datagen.org import Org
from bluebench.datagen.plan import Plan
from bluebench.datagen.registry import KINDS
from bluebench.datagen.templates import STREAMS, TPL_STREAM

FORMAT_ROWS = 100_000  # lines assembled at once


def _write_lines(fh: IO[bytes], arr: pa.Array) -> None:
    """The lines' bytes straight from the Arrow buffer, with no Python string per line."""
    offsets = np.frombuffer(arr.buffers()[1], np.int32, len(arr) + 1, arr.offset * 4)
    data = arr.buffers()[2]
    fh.write(memoryview(data)[int(offsets[0]) : int(offsets[-1])])


@dataclass
class GenerateSummary:
    """What was written: counts per file, attacks, and where the labels are."""

    out_dir: Path
    events: int
    files: dict[str, int]
    labelled_events: int
    attacks: list[AttackInstance]
    labels: Path
    manifest: Path


class Writer:
    """Appends formatted lines to the day's Winlogbeat file and to auth.log; collects labels."""

    def __init__(self, out: Path, org: Org, plan: Plan, attacks: Attacks) -> None:
        self.out, self.org, self.plan = out, org, plan
        self.instances, self.techniques = attacks.instances, attacks.techniques
        self.fmt = Formatter(org)
        self.handles: dict[str, IO[bytes]] = {}
        self.lines: dict[str, int] = {}
        self.labels: list[tuple[str, int, str, str, str]] = []
        self.records = np.zeros(org.n_hosts, np.int64)
        self.total = 0
        (out / "windows").mkdir(exist_ok=True)
        if plan.linux_share > 0:
            (out / "linux").mkdir(exist_ok=True)

    def _file(self, stream: str, day: int) -> str:
        """One Winlogbeat file per UTC day (as a daily-rotated shipper leaves them); one auth.log."""
        if stream == "linux":
            return "linux/auth.log"
        return f"windows/winlogbeat-{self.plan.start + timedelta(days=day):%Y-%m-%d}.ndjson"

    def write(self, rows: Cols, day: int) -> None:
        """Rows of one window, in time order, to their files; the labelled ones noted with their line."""
        if not nrows(rows):
            return
        rows["rec"] = self._record_ids(rows["host"])
        stream = TPL_STREAM[rows["tpl"]]
        for si, s in enumerate(STREAMS):
            mine = take(rows, stream == si)
            if not nrows(mine):
                continue
            name = self._file(s, day)
            if name not in self.handles:
                for old in [k for k in self.handles if k.startswith("windows/") and s == "win"]:
                    self.handles.pop(old).close()
                self.handles[name] = (self.out / name).open("wb")
                self.lines[name] = 0
            fh = self.handles[name]
            for lo in range(0, nrows(mine), FORMAT_ROWS):
                part = take(mine, slice(lo, lo + FORMAT_ROWS))
                _write_lines(fh, self.fmt.lines(part))
                bad = np.flatnonzero(part["atk"] >= 0)
                base = self.lines[name] + lo + 1
                for j in bad.tolist():
                    inst = self.instances[int(part["atk"][j])]
                    attack, technique = self.techniques[int(part["tech"][j])]
                    self.labels.append((name, base + j, technique, attack, inst.attack_id))
            self.lines[name] += nrows(mine)
            self.total += nrows(mine)

    def _record_ids(self, host: np.ndarray) -> np.ndarray:
        """Per-host increasing record numbers (winlog.record_id), continuing across calls."""
        order = np.argsort(host, kind="stable")
        h = host[order]
        first = np.r_[0, np.flatnonzero(np.diff(h)) + 1]
        run = np.arange(len(h)) - np.repeat(first, np.diff(np.r_[first, len(h)]))
        rec = np.empty(len(h), np.int64)
        rec[order] = self.records[h] + run + 1
        self.records += np.bincount(host, minlength=len(self.records))
        return rec

    def finish(self, seed: int, events: int, days: int, linux_share: float) -> GenerateSummary:
        """Close the files, write labels.csv (sorted) and manifest.json."""
        for handle in self.handles.values():
            handle.close()
        labels_path = self.out / "labels.csv"
        with labels_path.open("w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh, lineterminator="\n")
            w.writerow(["file", "record", "technique", "attack", "attack_id"])
            w.writerows(sorted(self.labels))
        manifest = {
            "generator": "bluebench.datagen",
            "seed": seed,
            "events": events,
            "days": days,
            "start": self.plan.start.isoformat(),
            "linux_share": linux_share,
            "people": self.plan.people,
            "files": dict(sorted(self.lines.items())),
            "labelled_events": len(self.labels),
            "attacks": [
                {
                    "attack_id": a.attack_id,
                    "attack": a.attack,
                    "techniques": a.techniques,
                    "start": _iso_text(a.start),
                    "end": _iso_text(a.end),
                    "events": a.events,
                    "entities": a.entities,
                }
                for a in self.instances
            ],
            "hard_negatives": [{"kind": k.name, "what": k.hard_negative} for k in KINDS if k.hard_negative],
        }
        manifest_path = self.out / "manifest.json"
        manifest_path.write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
        return GenerateSummary(
            self.out,
            self.total,
            dict(self.lines),
            len(self.labels),
            self.instances,
            labels_path,
            manifest_path,
        )


def _iso_text(ms: int) -> str:
    """A time in the manifest, as Winlogbeat writes @timestamp."""
    return (
        datetime.fromtimestamp(ms / 1000, UTC).replace(tzinfo=None).isoformat(timespec="milliseconds") + "Z"
    )
