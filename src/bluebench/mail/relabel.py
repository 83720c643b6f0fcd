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
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bluebench.errors import ConfigError
from bluebench.mail.labels import LABELS
from bluebench.mail.train import Labelled
from bluebench.stats import Rate

RELABEL_COLUMNS: tuple[str, ...] = ("file", "index", "message_id", "sha1", "old_label", "new_label", "reason")
# A second, independent review: the label the second reviewer gives each listed message on
# re-reading it (empty: not reviewed twice) and why. Optional, and never applied: the labels
# used are ``new_label``; the agreement between the two reviews is reported so that a
# reader can weigh the list.
SECOND_REVIEW_COLUMNS: tuple[str, ...] = ("second_label", "second_note")
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
    second_label: str = ""
    second_note: str = ""


@dataclass(frozen=True)
class Agreement:
    """How the second review's labels agree with the first's, over the rows reviewed twice.

    Only messages the first reviewer moved are listed, so this measures agreement on where
    a moved message belongs, not on which messages to move.
    """

    reviewed: int
    agreed: int
    kappa: float | None  # Cohen's kappa; None when it is undefined (one label only)
    pairs: tuple[tuple[str, str, int], ...]  # (first label, second label, count)

    @property
    def rate(self) -> Rate:
        """Rows where both reviews gave the same label, of the rows reviewed twice."""
        return Rate(self.agreed, self.reviewed)

    def to_json(self) -> dict[str, Any]:
        return {
            "reviewed": self.reviewed,
            "agreed": self.agreed,
            "kappa": self.kappa,
            "pairs": [{"first": f, "second": s, "count": c} for f, s, c in self.pairs],
        }

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> Agreement:
        kappa = d.get("kappa")
        pairs = tuple((p["first"], p["second"], int(p["count"])) for p in d["pairs"])
        return cls(int(d["reviewed"]), int(d["agreed"]), None if kappa is None else float(kappa), pairs)


def agreement(rows: Sequence[Relabel]) -> Agreement | None:
    """The two reviews compared on every row with a second label; None when no row has one."""
    both = [(r.new_label, r.second_label) for r in rows if r.second_label]
    if not both:
        return None
    first, second = zip(*both, strict=True)
    pairs = Counter(both)
    return Agreement(
        len(both),
        sum(f == s for f, s in both),
        cohen_kappa(first, second),
        tuple((f, s, c) for (f, s), c in sorted(pairs.items())),
    )


def cohen_kappa(first: Sequence[str], second: Sequence[str]) -> float | None:
    """Agreement beyond chance between two raters of the same items; None when chance is certain."""
    n = len(first)
    if n == 0 or n != len(second):
        return None
    observed = sum(a == b for a, b in zip(first, second, strict=True)) / n
    a, b = Counter(first), Counter(second)
    expected = sum(a[k] * b[k] for k in a) / (n * n)
    return None if expected >= 1.0 else (observed - expected) / (1.0 - expected)


@dataclass(frozen=True)
class RelabelReport:
    """What applying the list did: changes by (old, new) label and by source, rows not found."""

    path: str
    rows: int
    applied: int
    changes: tuple[tuple[str, str, int], ...]
    by_source: tuple[tuple[str, str, str, int], ...]
    missing: tuple[str, ...] = ()
    second_review: Agreement | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "rows": self.rows,
            "applied": self.applied,
            "changes": [{"old": o, "new": n, "count": c} for o, n, c in self.changes],
            "by_source": [{"source": s, "old": o, "new": n, "count": c} for s, o, n, c in self.by_source],
            "missing": list(self.missing),
            "second_review": None if self.second_review is None else self.second_review.to_json(),
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
            None if d.get("second_review") is None else Agreement.from_json(d["second_review"]),
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
    get = {k: (row.get(k) or "").strip() for k in (*RELABEL_COLUMNS, *SECOND_REVIEW_COLUMNS)}
    sha1 = get["sha1"].lower()
    if not _SHA1.fullmatch(sha1):
        raise ConfigError(f"{where}: sha1 {sha1[:60]!r} is not 40 hexadecimal digits")
    if sha1 in seen:
        raise ConfigError(f"{where}: the message {sha1} is already relabelled on line {seen[sha1]}")
    seen[sha1] = line
    old, new, second = get["old_label"].lower(), get["new_label"].lower(), get["second_label"].lower()
    for name, lab in (("old_label", old), ("new_label", new), ("second_label", second or new)):
        if lab not in LABELS:
            raise ConfigError(f"{where}: {name} {lab!r} is not one of {', '.join(LABELS)}")
    if old == new:
        raise ConfigError(f"{where}: old and new label are both {old!r}")
    if not get["reason"]:
        raise ConfigError(f"{where}: a relabelled message needs a reason")
    if not get["index"].isdigit() or int(get["index"]) < 1:
        raise ConfigError(f"{where}: index {get['index'][:20]!r} is not a message number (1 or more)")
    return Relabel(
        get["file"],
        int(get["index"]),
        get["message_id"],
        sha1,
        old,
        new,
        get["reason"],
        line,
        second,
        get["second_note"],
    )


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
        agreement(relabels.rows),
    )
    return out, report
