"""Label files read as they are published, recognised by their header.

Three layouts are understood:

* **per file** (``path`` and ``techniques`` columns, e.g. ``evtx_labels.csv`` and the OTRF
  ``labels.csv``): every event of the file belongs to an attack using those techniques;
* **per event** (``file, record, technique, attack, attack_id``, from our generator): the
  listed records are malicious, every other record of the covered files is benign;
* **per entity and window** (``entity, start, end, technique``): an entity (``alice`` or
  ``user=alice``) was under attack between two ISO times;
* **per network pair** (``source, destination[, port], technique[, attack]``): traffic from a
  source to a destination (and port) is the attack; an empty destination or port means any
  (a horizontal scan names only the scanner and the port); an optional ``label`` column
  marks a row benign or background instead;
* **per flow**: the labelled network logs themselves (Stratosphere's ``*.log.labeled``, an Argus
  ``binetflow`` with a ``Label`` column), or a folder of them, recognised by content; each
  flow's own label is read by :mod:`bluebench.evaluation.flows`.

Paths are relative to the CSV's folder. Technique ids are normalised: upper case, and a
placeholder sub-technique such as ``T1110.xxx`` stands for its parent ``T1110``.
"""

from __future__ import annotations

import csv
import hashlib
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from bluebench.errors import ConfigError
from bluebench.evaluation.flows import FlowFile, flow_files, has_flow_labels
from bluebench.sources.lines import read_head

TECHNIQUE = re.compile(r"^T\d{4}(\.\d{3})?$")
PLACEHOLDER_SUB = re.compile(r"^(T\d{4})\.[xX]{3}$")


@dataclass(frozen=True)
class FileLabel:
    """One labelled file: its absolute path and the techniques of the attack it recorded."""

    path: Path
    given: str  # the path as written in the CSV
    techniques: frozenset[str]
    row: int  # line in the CSV


@dataclass(frozen=True)
class EventLabel:
    """One malicious record: file and 1-based record number, technique and attack instance."""

    path: Path
    given: str
    record: int
    technique: str
    attack: str
    attack_id: str
    row: int


@dataclass(frozen=True)
class WindowLabel:
    """An entity under attack during [start, end] (naive UTC), ``kind`` e.g. 'user' or ''."""

    kind: str
    entity: str  # lower case
    start: datetime
    end: datetime
    technique: str
    row: int


@dataclass(frozen=True)
class PairLabel:
    """Traffic from ``source`` to ``destination`` (and ``port``) was an attack; '' or None = any.

    ``label`` (an optional column) is 'malicious' (the default), 'benign' (a pair known to be
    benign: never a positive) or 'unknown' (Stratosphere's Background: neither, left out).
    """

    source: str
    destination: str
    port: int | None
    technique: str
    attack: str
    row: int
    label: str = "malicious"


@dataclass
class LabelSet:
    """Everything read from one labels file, plus what could not be used and why."""

    source: Path
    fingerprint: str
    kind: str  # "file" | "event" | "window" | "pair" | "flow"
    files: list[FileLabel] = field(default_factory=list)
    events: list[EventLabel] = field(default_factory=list)
    windows: list[WindowLabel] = field(default_factory=list)
    pairs: list[PairLabel] = field(default_factory=list)
    flows: list[FlowFile] = field(default_factory=list)
    #: Per-file rows that name no technique: the file is neither a positive nor a negative.
    unlabelled: list[FileLabel] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def techniques(self) -> set[str]:
        """Every technique some label names."""
        out: set[str] = set()
        for f in self.files:
            out |= f.techniques
        out |= {e.technique for e in self.events}
        out |= {w.technique for w in self.windows}
        out |= {p.technique for p in self.pairs if p.technique}
        return out


def normalize_technique(text: str) -> str:
    """'t1110.xxx ' -> 'T1110'; ids that are not ATT&CK technique ids raise ValueError."""
    t = text.strip().upper()
    m = PLACEHOLDER_SUB.match(t)
    if m:
        t = m.group(1)
    if not TECHNIQUE.match(t):
        raise ValueError(f"not an ATT&CK technique id: {text!r}")
    return t


def parse_techniques(text: str) -> frozenset[str]:
    """A ';' or ',' separated list of technique ids; empty text gives an empty set."""
    parts = [p for p in re.split(r"[;,]", text or "") if p.strip()]
    return frozenset(normalize_technique(p) for p in parts)


def file_fingerprint(path: Path) -> str:
    """Content hash of the labels file, stored with each evaluation."""
    return hashlib.blake2b(path.read_bytes(), digest_size=20).hexdigest()


def load_labels(path: str | Path) -> LabelSet:
    """Read a labels CSV of any layout, or labelled network logs; a malformed row raises naming its line."""
    src = Path(path)
    if src.is_dir() or (src.is_file() and has_flow_labels(read_head(src))):
        return _flow_labels(src, str(path))
    try:
        text = src.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{src}: cannot read labels: {exc}") from exc
    rows = list(csv.reader(text.splitlines()))
    if not rows:
        raise ConfigError(f"{src}: labels file is empty")
    header = [h.strip().lower() for h in rows[0]]
    cols = set(header)
    base = src.resolve().parent
    labels = LabelSet(src, file_fingerprint(src), "")
    body = []
    for i, r in enumerate(rows[1:]):
        if not any(c.strip() for c in r):
            continue
        if len(r) != len(header):
            raise ConfigError(
                f"{src}, line {i + 2}: {len(r)} columns where the header has {len(header)} "
                "(a path with a comma must be quoted)"
            )
        body.append((i + 2, dict(zip(header, r, strict=True))))
    if {"path", "techniques"} <= cols:
        labels.kind = "file"
        _read_file_rows(src, base, body, labels)
    elif {"file", "record", "technique"} <= cols:
        labels.kind = "event"
        _read_event_rows(src, base, body, labels)
    elif {"entity", "start", "end", "technique"} <= cols:
        labels.kind = "window"
        _read_window_rows(src, body, labels)
    elif {"source", "technique"} <= cols and cols & {"destination", "port"}:
        labels.kind = "pair"
        _read_pair_rows(src, body, labels)
    else:
        raise ConfigError(
            f"{src}: unknown labels layout, header {rows[0]}; expected per-file "
            "(path, techniques), per-event (file, record, technique, attack, attack_id), "
            "per-window (entity, start, end, technique) or per-pair (source, destination, port, "
            "technique) columns"
        )
    return labels


def _cell(src: Path, line: int, row: dict[str, str], name: str) -> str:
    value = row.get(name)
    if value is None:
        raise ConfigError(f"{src}, line {line}: missing column {name!r}")
    return value.strip()


def _techniques(src: Path, line: int, text: str) -> frozenset[str]:
    try:
        return parse_techniques(text)
    except ValueError as exc:
        raise ConfigError(f"{src}, line {line}: {exc}") from exc


def _read_file_rows(src: Path, base: Path, body: list[tuple[int, dict[str, str]]], labels: LabelSet) -> None:
    seen: dict[Path, int] = {}
    for line, row in body:
        given = _cell(src, line, row, "path")
        if not given:
            raise ConfigError(f"{src}, line {line}: empty path")
        label = FileLabel(
            (base / given).resolve(), given, _techniques(src, line, row.get("techniques", "")), line
        )
        if not label.techniques:
            labels.unlabelled.append(label)
            continue
        if label.path in seen:
            # The same file twice: its techniques are the union of both rows.
            i = seen[label.path]
            old = labels.files[i]
            labels.files[i] = FileLabel(old.path, old.given, old.techniques | label.techniques, old.row)
            labels.notes.append(f"{src}, line {line}: {given} listed again; techniques merged")
            continue
        seen[label.path] = len(labels.files)
        labels.files.append(label)
    if labels.unlabelled:
        labels.notes.append(
            f"{len(labels.unlabelled)} labelled files name no technique and are left out "
            "(neither attack nor benign is known for them)"
        )


def _read_event_rows(src: Path, base: Path, body: list[tuple[int, dict[str, str]]], labels: LabelSet) -> None:
    resolved: dict[str, Path] = {}  # rows repeat a few file names many times
    for line, row in body:
        given = _cell(src, line, row, "file")
        try:
            record = int(_cell(src, line, row, "record"))
        except ValueError as exc:
            raise ConfigError(f"{src}, line {line}: record must be a line number: {exc}") from exc
        techs = _techniques(src, line, _cell(src, line, row, "technique"))
        if len(techs) != 1:
            raise ConfigError(f"{src}, line {line}: one technique per event row, got {sorted(techs)}")
        attack = (row.get("attack") or "").strip()
        attack_id = (row.get("attack_id") or "").strip() or attack or f"{given}:{record}"
        if given not in resolved:
            resolved[given] = (base / given).resolve()
        labels.events.append(
            EventLabel(resolved[given], given, record, next(iter(techs)), attack, attack_id, line)
        )


def parse_time(text: str) -> datetime:
    """An ISO time as naive UTC (the workspace's convention); no zone means UTC."""
    t = datetime.fromisoformat(text.strip())
    if t.tzinfo is not None:
        t = t.astimezone(UTC).replace(tzinfo=None)
    return t


def _read_window_rows(src: Path, body: list[tuple[int, dict[str, str]]], labels: LabelSet) -> None:
    for line, row in body:
        entity = _cell(src, line, row, "entity")
        kind, _, value = entity.partition("=") if "=" in entity else ("", "", entity)
        try:
            start = parse_time(_cell(src, line, row, "start"))
            end = parse_time(_cell(src, line, row, "end"))
        except ValueError as exc:
            raise ConfigError(f"{src}, line {line}: start and end must be ISO times: {exc}") from exc
        if end < start:
            raise ConfigError(f"{src}, line {line}: end {end} is before start {start}")
        techs = _techniques(src, line, _cell(src, line, row, "technique"))
        if len(techs) != 1 or not value.strip():
            raise ConfigError(f"{src}, line {line}: need one entity and one technique")
        labels.windows.append(
            WindowLabel(kind.strip().lower(), value.strip().lower(), start, end, next(iter(techs)), line)
        )


#: A pair row's ``label`` -> its class; Stratosphere's words and CTU's are both read.
PAIR_CLASSES = {
    "malicious": "malicious", "attack": "malicious", "botnet": "malicious", "": "malicious",
    "benign": "benign", "normal": "benign",
    "background": "unknown", "unknown": "unknown",
}  # fmt: skip


def _read_pair_rows(src: Path, body: list[tuple[int, dict[str, str]]], labels: LabelSet) -> None:
    for line, row in body:
        source = _cell(src, line, row, "source").lower()
        port_text = (row.get("port") or "").strip()
        try:
            port = int(port_text) if port_text else None
        except ValueError as exc:
            raise ConfigError(f"{src}, line {line}: port must be a number: {port_text[:20]!r}") from exc
        given = (row.get("label") or "").strip().lower()
        if given not in PAIR_CLASSES:
            raise ConfigError(
                f"{src}, line {line}: label {given[:20]!r} is not malicious, benign or background"
            )
        label = PAIR_CLASSES[given]
        techs = _techniques(src, line, _cell(src, line, row, "technique"))
        if not source or (label == "malicious" and len(techs) != 1) or len(techs) > 1:
            raise ConfigError(f"{src}, line {line}: need a source and one technique")
        destination = (row.get("destination") or "").strip().lower()
        attack = (row.get("attack") or "").strip() or f"line {line}"
        technique = next(iter(techs)) if techs else ""
        labels.pairs.append(PairLabel(source, destination, port, technique, attack, line, label))


def _flow_labels(src: Path, given: str) -> LabelSet:
    """Labelled network logs: the file, or each labelled log under the folder; their lines are read later."""
    files = flow_files(src, given)
    if not files:
        raise ConfigError(
            f"{src}: no labelled network log here (a Zeek log or Argus CSV with a label column)"
        )
    digest = hashlib.blake2b(digest_size=20)
    for f in files:
        digest.update(f.given.encode() + b"\0" + file_fingerprint(f.path).encode())
    return LabelSet(src, digest.hexdigest(), "flow", flows=files)
