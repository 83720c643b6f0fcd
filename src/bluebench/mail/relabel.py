"""A reviewed list of messages whose source label is wrong, applied visibly on top of the labels.

The phishing sources hold plain advertising (diet pills, casino offers, eBay's own newsletter)
and the 2002 spam holds advance-fee and lottery scams, so the source labels put the same kind
of message on both sides. Each row of the list names one message (file, index, Message-ID and
the SHA-1 of its bytes), the label it had, the label it gets and why. A row whose message is
absent is counted, never guessed; a row whose old label is not the message's label is an
error naming the file and line, so the list cannot drift silently from the labels it corrects.
A relabelled message keeps its source, so the time split is the same before and after.
"""

from __future__ import annotations

import csv
import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bluebench.errors import ConfigError
from bluebench.mail.labels import LABELS
from bluebench.mail.train import Labelled

RELABEL_COLUMNS: tuple[str, ...] = ("file", "index", "message_id", "sha1", "old_label", "new_label", "reason")
_SHA1 = re.compile(r"[0-9a-f]{40}")


@dataclass(frozen=True)
class Relabel:
    """One reviewed message: where it is, the label it had, the label it gets, and why."""

    file: str
    index: int
    message_id: str
    sha1: str
    old_label: str
    new_label: str
    reason: str
    line: int = 0


@dataclass(frozen=True)
class RelabelReport:
    """What applying the list did: changes by (old, new) label and by source, rows not found."""

    path: str
    rows: int
    applied: int
    changes: tuple[tuple[str, str, int], ...]
    by_source: tuple[tuple[str, str, str, int], ...]
    missing: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "rows": self.rows,
            "applied": self.applied,
            "changes": [{"old": o, "new": n, "count": c} for o, n, c in self.changes],
            "by_source": [{"source": s, "old": o, "new": n, "count": c} for s, o, n, c in self.by_source],
            "missing": list(self.missing),
        }

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> RelabelReport:
        return cls(
            d["path"],
            d["rows"],
            d["applied"],
            tuple((c["old"], c["new"], c["count"]) for c in d["changes"]),
            tuple((c["source"], c["old"], c["new"], c["count"]) for c in d["by_source"]),
            tuple(d.get("missing", ())),
        )


@dataclass
class RelabelList:
    """The reviewed rows of one CSV, by message SHA-1."""

    path: str
    rows: list[Relabel] = field(default_factory=list)

    def by_sha1(self) -> dict[str, Relabel]:
        return {r.sha1: r for r in self.rows}


def load_relabels(path: str | Path) -> RelabelList:
    """Read a relabelling CSV; a bad row is a ConfigError naming the file and line."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise ConfigError(f"{p}: cannot read the relabelling list: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{p}: the relabelling list is not UTF-8 text") from exc
    reader = csv.DictReader(text.splitlines())
    missing = [c for c in RELABEL_COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise ConfigError(f"{p}: the relabelling list lacks the columns {', '.join(missing)}")
    out = RelabelList(str(p))
    seen: dict[str, int] = {}
    for line, row in enumerate(reader, 2):
        out.rows.append(_row(p, line, row, seen))
    if not out.rows:
        raise ConfigError(f"{p}: the relabelling list has no rows")
    return out


def _row(p: Path, line: int, row: Mapping[str, str | None], seen: dict[str, int]) -> Relabel:
    """One checked row: known labels that differ, a SHA-1, an index, a reason, no message twice."""
    where = f"{p}, line {line}"
    get = {k: (row.get(k) or "").strip() for k in RELABEL_COLUMNS}
    sha1 = get["sha1"].lower()
    if not _SHA1.fullmatch(sha1):
        raise ConfigError(f"{where}: sha1 {sha1[:60]!r} is not 40 hexadecimal digits")
    if sha1 in seen:
        raise ConfigError(f"{where}: the message {sha1} is already relabelled on line {seen[sha1]}")
    seen[sha1] = line
    old, new = get["old_label"].lower(), get["new_label"].lower()
    for name, lab in (("old_label", old), ("new_label", new)):
        if lab not in LABELS:
            raise ConfigError(f"{where}: {name} {lab!r} is not one of {', '.join(LABELS)}")
    if old == new:
        raise ConfigError(f"{where}: old and new label are both {old!r}")
    if not get["reason"]:
        raise ConfigError(f"{where}: a relabelled message needs a reason")
    if not get["index"].isdigit() or int(get["index"]) < 1:
        raise ConfigError(f"{where}: index {get['index'][:20]!r} is not a message number (1 or more)")
    return Relabel(get["file"], int(get["index"]), get["message_id"], sha1, old, new, get["reason"], line)


def apply_relabels(data: Labelled, relabels: RelabelList) -> tuple[Labelled, RelabelReport]:
    """The same messages with the reviewed labels, and what changed; ``data`` is not modified.

    A message whose label is not the row's ``old_label`` stops with an error naming the row:
    either the labels changed or the row is wrong, and both need a person.
    """
    rows = relabels.by_sha1()
    labels = list(data.labels)
    found: set[str] = set()
    changes: Counter[tuple[str, str]] = Counter()
    by_source: Counter[tuple[str, str, str]] = Counter()
    for i, m in enumerate(data.mails):
        r = rows.get(m.digest)
        if r is None:
            continue
        if labels[i] != r.old_label:
            raise ConfigError(
                f"{relabels.path}, line {r.line}: {r.file} message {r.index} is labelled "
                f"{labels[i]!r}, the list says {r.old_label!r}"
            )
        found.add(m.digest)
        labels[i] = r.new_label
        changes[(r.old_label, r.new_label)] += 1
        by_source[(data.sources[i], r.old_label, r.new_label)] += 1
    out = Labelled(list(data.mails), labels, list(data.sources), list(data.unlabelled))
    report = RelabelReport(
        relabels.path,
        len(rows),
        sum(changes.values()),
        tuple((o, n, c) for (o, n), c in sorted(changes.items())),
        tuple((s, o, n, c) for (s, o, n), c in sorted(by_source.items())),
        tuple(f"{r.file} message {r.index}" for r in relabels.rows if r.sha1 not in found),
    )
    return out, report
