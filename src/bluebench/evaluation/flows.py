"""Network alerts against per-flow labels: Stratosphere's ``label`` column, read from the labelled logs.

The labels are the ``label`` field of Stratosphere's ``*.log.labeled`` Zeek logs (a column, or
the three-space tail IoT-23 writes), the ``label`` key of Zeek JSON lines, or the ``Label`` column
of an Argus ``binetflow`` (CTU's ``flow=From-Botnet-...``/``From-Normal-...``/``Background-...``).
The ingest readers never turn them into event columns, so detectors cannot see them; here the
same readers cut the labelled file again and each record's label is taken from its own line.

* **Malicious** and **Benign** flows are measured; **Background** (Stratosphere: unknown) and
  flows with no or another label are excluded and counted.
* precision counts **alerts** with evidence among labelled flows: TP when the evidence holds a
  malicious flow, FP when it holds benign flows only; an alert whose evidence holds only
  excluded flows is counted apart (``alerts_on_excluded_flows_only``);
* recall counts **attack flows** (labelled Malicious): detected when some alert cites it as evidence;
* the false-positive rate counts **benign flows**: FP_on_negatives = benign flows some alert
  cites as evidence.

A label names no technique, so every detector is measured against every malicious flow: a scan
detector's recall on a capture of command and control is low by construction, and says so.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from bluebench.errors import BluebenchError
from bluebench.evaluation.metrics import Measure
from bluebench.schema import Alert
from bluebench.sources import ReadOptions, Skipped, detect_reader, discover
from bluebench.sources.lines import read_head

#: "attack flow", not "malicious flow": a sentence saying "malicious" names the malware_file detector.
UNITS = {"precision": "alert", "recall": "attack flow", "fpr": "benign flow"}
DEFINITIONS = [
    "labels: the per-flow label of the labelled logs (Stratosphere's label column, Argus' Label); "
    "a flow is one labelled line of any labelled log (conn, dns, http, ssl, ... or an Argus flow), so a "
    "connection that two logs record counts once in each; Malicious and Benign flows are measured, "
    "Background (unknown) and unlabelled flows are excluded and counted in the scope",
    "precision unit: an alert citing labelled flows; TP when it cites a malicious flow, FP when it "
    "cites benign flows only; alerts citing only excluded flows are counted apart and left out",
    "recall unit: an attack flow (labelled Malicious); detected when an alert of the row cites it as evidence "
    "(labels name no technique: every detector is measured against every malicious flow)",
    "FPR unit: a benign flow; FP_on_negatives = benign flows cited as evidence by an alert of the row",
]
CLASSES = ("Malicious", "Benign", "Background")
#: CTU's Argus labels: ``flow=From-Botnet-V42-...``, ``flow=From-Normal-...``, ``flow=Background-...``.
ARGUS_CLASSES = (
    ("botnet", "Malicious"),
    ("malware", "Malicious"),
    ("normal", "Benign"),
    ("background", "Background"),
)
#: The label of a Stratosphere tail (``tunnel_parents   label   detailedlabel``): the part before the last.
TAIL_LABEL = r" {3,}(?P<label>[^\t ]+) {3,}[^\t]*$"
LABEL_FIELDS = ("label", "Label")
FLOW_LABELS_SQL = """SELECT l.label, count(*) FROM flow_labels l JOIN events e
    ON e."log.file.path" = l.path AND e."log.record" = l.record GROUP BY 1"""


class _Filtered(Protocol):
    """An alert after the technique filter (``evaluate._Alert``)."""

    alert: Alert
    techniques: list[str]


Row = Any  # evaluate.Row, built by the caller's factory (evaluate imports this module)


@dataclass(frozen=True)
class FlowFile:
    """A labelled network log: its absolute path and the path as the user gave it."""

    path: Path
    given: str


def has_flow_labels(head: bytes) -> bool:
    """The first bytes (decompressed) are a Zeek log whose header names a label, or an Argus CSV with one."""
    text = head[:65536].decode("utf-8", errors="replace").lstrip("\ufeff")
    first = text.split("\n", 1)[0]
    if first.startswith("#separator"):
        fields = next((ln for ln in text.split("\n") if ln.startswith("#fields")), "")
        return re.search(r"(?:\t| {3,}|,)label(?:\t| {3,}|$|\r)", fields) is not None
    if first.startswith("{"):
        return '"label"' in first
    return "StartTime" in first and "Label" in [c.strip() for c in first.split(",")]


def flow_files(path: Path, given: str) -> list[FlowFile]:
    """The labelled logs at ``path``: the file itself, or every labelled log under a folder."""
    if not path.is_dir():
        return [FlowFile(path.resolve(), given)]
    out = []
    for f in discover([str(path)]):
        try:
            head = read_head(f.path)
        except OSError:
            continue
        if has_flow_labels(head):
            out.append(FlowFile(f.path.resolve(), f.display))
    return out


def _classify(labels: pa.Array, argus: bool) -> pa.Array:
    """Raw label text -> 'Malicious', 'Benign', 'Background' or '' (no label, or another)."""
    low = pc.utf8_lower(pc.utf8_trim_whitespace(pc.fill_null(labels, "")))
    if argus:
        out: pa.Array = pa.array([""] * len(low), pa.string())
        for word, cls in reversed(ARGUS_CLASSES):  # the first listed wins
            out = pc.if_else(pc.match_substring(low, word), cls, out)
        return out
    out = pa.array([""] * len(low), pa.string())
    for cls in CLASSES:
        out = pc.if_else(pc.equal(low, cls.lower()), cls, out)
    return out


def _batch_labels(shape: str, table: pa.Table, params: dict[str, object]) -> pa.Array:
    """The raw label of every line of one batch, by its header (null where the line has none)."""
    raw = table.column("raw")
    fields = [str(f) for f in params.get("fields", ())]  # type: ignore[attr-defined]
    if shape == "zeek-json":
        return pc.struct_field(pc.extract_regex(raw, r'"label"\s*:\s*"(?P<label>[^"]*)"'), [0])
    named = next((f for f in LABEL_FIELDS if f in fields), None)
    if shape == "argus" and named:
        return pc.list_element(pc.split_pattern(raw, ","), fields.index(named))
    if shape == "zeek" and named:
        sep = str(table.column("sep")[0].as_py())
        return pc.list_element(pc.split_pattern(raw, sep), fields.index(named))
    if shape == "zeek":  # the label rides in a three-space tail of the last column
        return pc.struct_field(pc.extract_regex(raw, TAIL_LABEL), [0])
    return pa.nulls(len(raw), pa.string())


def read_flow_labels(file: FlowFile, stored: str, skipped: list[Skipped]) -> Iterator[pa.Table]:
    """(path, record, label) of every line of a labelled log, named as its events are stored."""
    options = ReadOptions()
    reader = detect_reader(file.path, options)
    if reader is None or reader.name not in ("zeek", "zeek-json", "argus"):
        raise BluebenchError(f"{file.given}: not a Zeek log or Argus flow file; no flow labels read")
    for batch in reader.read(file.path, stored, skipped, options):
        labels = _classify(_batch_labels(reader.name, batch.table, batch.params), reader.name == "argus")
        n = batch.table.num_rows
        yield pa.table(
            {
                # One name for every row, without a Python string per row (a capture has millions).
                "path": pa.DictionaryArray.from_arrays(np.zeros(n, dtype=np.int32), [batch.file]),
                "record": batch.table.column("record"),
                "label": labels,
            }
        )


@dataclass
class FlowLabels:
    """Labelled flows of the stored files, counted per class, and the evidence flows' classes."""

    counts: Counter[str] = field(default_factory=Counter)  # stored flows per class ('' = no label)
    evidence: dict[tuple[str, int], str] = field(default_factory=dict)  # cited flow -> its class
    files: set[str] = field(default_factory=set)  # stored event paths the labels cover
    missing: list[str] = field(default_factory=list)  # labelled logs never ingested
    not_stored: int = 0  # labelled lines with no stored event (skipped at ingest, or not read)
    notes: list[str] = field(default_factory=list)

    @property
    def malicious(self) -> int:
        return self.counts["Malicious"]

    @property
    def benign(self) -> int:
        return self.counts["Benign"]


def _load(
    files: Sequence[FlowFile], lookup: Callable[[Path, str], str | None]
) -> tuple[pa.Table, FlowLabels]:
    found = FlowLabels()
    parts: list[pa.Table] = []
    for f in files:
        stored = lookup(f.path, f.given)
        if stored is None:
            found.missing.append(f.given)
            continue
        skipped: list[Skipped] = []
        try:
            parts.extend(read_flow_labels(f, stored, skipped))
        except BluebenchError as exc:  # a log ingest does not read (sip, dhcp): nothing of it is stored
            found.notes.append(f"{f.given}: labels not read ({exc})")
        if skipped:
            found.notes.append(f"{f.given}: {len(skipped)} lines could not be read for their labels")
    schema = pa.schema([("path", pa.string()), ("record", pa.int64()), ("label", pa.string())])
    table = pa.concat_tables([t.cast(schema) for t in parts]) if parts else schema.empty_table()
    found.files = set(table.column("path").unique().to_pylist())
    return table, found


def label_flows(
    con: duckdb.DuckDBPyConnection,
    files: Sequence[FlowFile],
    lookup: Callable[[Path, str], str | None],
    alerts: Sequence[_Filtered],
) -> FlowLabels:
    """Each stored labelled flow's class counted, and the class of every flow an alert cites."""
    table, found = _load(files, lookup)
    cited = sorted({(e.file, e.record) for a in alerts for e in a.alert.evidence if e.file in found.files})
    con.register("flow_labels", table)
    con.register(
        "flow_cited",
        pa.table({"path": [c[0] for c in cited], "record": pa.array([c[1] for c in cited], pa.int64())}),
    )
    try:
        found.counts = Counter({str(k): int(n) for k, n in con.execute(FLOW_LABELS_SQL).fetchall()})
        found.not_stored = table.num_rows - sum(found.counts.values())
        rows = con.execute(
            "SELECT l.path, l.record, l.label FROM flow_labels l JOIN flow_cited c USING (path, record)"
        ).fetchall()
    finally:
        con.unregister("flow_labels")
        con.unregister("flow_cited")
    found.evidence = {(str(p), int(r)): str(c) for p, r, c in rows}
    return found


def event_classes(
    con: duckdb.DuckDBPyConnection, files: Sequence[FlowFile], lookup: Callable[[Path, str], str | None]
) -> dict[str, str]:
    """Stored event id -> its flow's class ('Malicious', 'Benign', 'Background', '' for none)."""
    table, _ = _load(files, lookup)
    con.register("flow_labels", table)
    try:
        rows = con.execute(
            """SELECT e."event.id", l.label FROM flow_labels l JOIN events e
               ON e."log.file.path" = l.path AND e."log.record" = l.record"""
        ).fetchall()
    finally:
        con.unregister("flow_labels")
    return {str(i): str(c) for i, c in rows}


def measure_flows(
    flows: FlowLabels, make_row: Callable[..., Row]
) -> Callable[[str, list[str], list[Any]], Row]:
    """The measure of a group of alerts against the labelled flows (for ``evaluate``)."""

    def measure(name: str, claimed: list[str], group: list[Any]) -> Row:
        tp = fp = outside = excluded = 0
        malicious: set[tuple[str, int]] = set()
        benign: set[tuple[str, int]] = set()
        for a in group:
            cited = [(e.file, e.record) for e in a.alert.evidence if e.file in flows.files]
            classes = {k: flows.evidence.get(k, "") for k in cited}
            bad = {k for k, c in classes.items() if c == "Malicious"}
            good = {k for k, c in classes.items() if c == "Benign"}
            malicious |= bad
            benign |= good
            if not cited:
                outside += 1
            elif bad:
                tp += 1
            elif good:
                fp += 1
            else:
                excluded += 1
        counts = Measure(
            tp,
            fp,
            len(malicious),
            flows.malicious - len(malicious),
            len(benign),
            flows.benign - len(benign),
            UNITS,
        )
        return make_row(
            name,
            claimed,
            tp + fp,
            counts,
            alerts_outside=outside + excluded,
            details={
                "alerts_on_excluded_flows_only": excluded,
                "detectors": sorted({a.alert.detector for a in group}),
            },
        )

    return measure


def flow_scope(files: Sequence[FlowFile], flows: FlowLabels) -> tuple[dict[str, Any], list[str]]:
    """What was measured and what was excluded, with a note for each kind left out."""
    other = sum(n for k, n in flows.counts.items() if k not in CLASSES)
    scope = {
        "label_files": len(files),
        "label_files_not_in_workspace": len(flows.missing),
        "label_files_not_in_workspace_examples": sorted(flows.missing)[:10],
        "attack_flows": flows.malicious,
        "benign_flows": flows.benign,
        "background_flows_excluded": flows.counts["Background"],
        "unlabelled_flows_excluded": other,
        "labelled_lines_not_stored": flows.not_stored,
    }
    notes = list(flows.notes)
    if flows.counts["Background"] or other:
        notes.append(
            f"{flows.counts['Background']} Background and {other} unlabelled flows are excluded "
            "(neither malicious nor benign is known)"
        )
    if flows.missing:
        names = ", ".join(Path(m).name for m in sorted(flows.missing)[:5])
        notes.append(
            f"{len(flows.missing)} labelled logs are not in the workspace and are left out ({names})"
        )
    if flows.not_stored:
        notes.append(f"{flows.not_stored} labelled lines have no stored event (skipped at ingest?)")
    return scope, notes
