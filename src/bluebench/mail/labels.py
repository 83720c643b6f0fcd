"""Labels for mail: a CSV of ``path,label[,source]``; paths are relative to the CSV.

A path names an .eml file, an mbox (all its messages) or a folder (all mail under it). A row
may name one message by its ``sha1`` (the SHA-1 of its bytes, ``Mail.digest``) instead: such
a label is the most specific, so it wins over its file's and folders', and it survives moves
and renames. Reviewers' verdicts come back that way (``verdict_rows``). Labels are ``ham``,
``spam`` or ``phishing``: spam is kept apart so that it can never count as a phishing catch.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bluebench.diskcache import write_csv_atomic
from bluebench.errors import ConfigError
from bluebench.sources.mailparse import Mail

LABELS: tuple[str, ...] = ("ham", "spam", "phishing")
_SHA1 = re.compile(r"[0-9a-f]{40}")


@dataclass(frozen=True)
class Label:
    """One labelled path: its class and the source it came from (for per-source reports)."""

    label: str
    source: str


@dataclass
class Labels:
    """Resolved path -> label (folders label everything under them), and message digest -> label."""

    by_path: dict[str, Label] = field(default_factory=dict)
    csv: str = ""
    by_digest: dict[str, Label] = field(default_factory=dict)

    def lookup(self, mail: Mail) -> Label | None:
        """The label of a message: its digest's, else its own file's, else the nearest folder's above it."""
        hit = self.by_digest.get(mail.digest) if mail.digest else None
        return hit if hit is not None else self.lookup_path(mail)

    def lookup_path(self, mail: Mail) -> Label | None:
        """The label its file or folders give a message, whatever its digest says."""
        hit = self.by_path.get(mail.path)
        if hit is not None:
            return hit
        p = Path(mail.path)
        for parent in p.parents:
            hit = self.by_path.get(str(parent))
            if hit is not None:
                return hit
        return None


def load_labels(path: str | Path) -> Labels:
    """Read a labels CSV; a bad row is a ConfigError naming the file and line."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise ConfigError(f"{p}: cannot read labels: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{p}: labels are not UTF-8 text") from exc
    reader = csv.DictReader(text.splitlines())
    fields = [f.strip().lower() for f in reader.fieldnames or []]
    if "label" not in fields or ("path" not in fields and "sha1" not in fields):
        raise ConfigError(
            f"{p}: labels need the columns path,label or sha1,label (found: {', '.join(fields) or 'none'})"
        )
    reader.fieldnames = fields
    base = p.resolve().parent
    out = Labels(csv=str(p))
    for line, row in enumerate(reader, 2):
        rel = (row.get("path") or "").strip()
        digest = (row.get("sha1") or "").strip().lower()
        label = (row.get("label") or "").strip().lower()
        if not rel and not digest and not label:
            continue
        if label not in LABELS:
            raise ConfigError(f"{p}, line {line}: label {label!r} is not one of {', '.join(LABELS)}")
        source = (row.get("source") or "").strip() or label
        if digest:
            if not _SHA1.fullmatch(digest):
                raise ConfigError(f"{p}, line {line}: sha1 {digest[:60]!r} is not 40 hexadecimal digits")
            out.by_digest[digest] = Label(label, source)
        elif rel:
            out.by_path[str((base / rel).resolve())] = Label(label, source)
        else:
            raise ConfigError(f"{p}, line {line}: empty path and no sha1")
    if not out.by_path and not out.by_digest:
        raise ConfigError(f"{p}: no labels")
    return out


def load_label_files(paths: Sequence[str | Path]) -> Labels:
    """Several labels CSVs as one; where two label the same path or message, the later wins."""
    if not paths:
        raise ConfigError("no labels file given")
    out = Labels(csv=", ".join(str(p) for p in paths))
    for p in paths:
        one = load_labels(p)
        out.by_path.update(one.by_path)
        out.by_digest.update(one.by_digest)
    return out


# Reviewers' verdicts (True right, False false positive, None needs more information) as labels.
VERDICT_SOURCE = "review verdict"
VERDICT_COLUMNS: tuple[str, ...] = ("sha1", "label", "source", "alert", "file", "index")


def verdict_rows(
    reviewed: Iterable[tuple[str, str, str, int, bool | None]], dismissed_as: str = "ham"
) -> tuple[list[dict[str, str]], int]:
    """Labels CSV rows for (alert id, message digest, file, index, verdict); and how many had none.

    A confirmed alert labels its message ``phishing``; a dismissed one ``dismissed_as`` (a
    false positive of a phishing model is legitimate mail unless the reviewers say it is
    spam); "needs more information" labels nothing. The file and index are for a reader.
    """
    if dismissed_as not in ("ham", "spam"):
        raise ConfigError(f"a dismissed phishing alert is ham or spam, not {dismissed_as!r}")
    rows: list[dict[str, str]] = []
    undecided = 0
    for alert, digest, file, index, verdict in reviewed:
        if verdict is None:
            undecided += 1
            continue
        label = "phishing" if verdict else dismissed_as
        rows.append(
            {
                "sha1": digest,
                "label": label,
                "source": VERDICT_SOURCE,
                "alert": alert,
                "file": file,
                "index": str(index),
            }
        )
    return rows, undecided


def write_labels(path: str | Path, rows: Sequence[dict[str, str]]) -> None:
    """Write labels rows as CSV (``VERDICT_COLUMNS``), atomically: a reader never sees half a file."""
    write_csv_atomic(Path(path), VERDICT_COLUMNS, rows)
