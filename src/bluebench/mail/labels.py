"""Labels for mail: a CSV of ``path,label[,source]``; paths are relative to the CSV.

A path names an .eml file, an mbox (all its messages) or a folder (all mail under it).
Labels are ``ham``, ``spam`` or ``phishing``: spam is kept apart so that it can never count
as a phishing catch.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

from bluebench.errors import ConfigError
from bluebench.mail.reader import Mail

LABELS: tuple[str, ...] = ("ham", "spam", "phishing")


@dataclass(frozen=True)
class Label:
    """One labelled path: its class and the source it came from (for per-source reports)."""

    label: str
    source: str


@dataclass
class Labels:
    """Resolved path -> label; folders label everything under them."""

    by_path: dict[str, Label] = field(default_factory=dict)
    csv: str = ""

    def lookup(self, mail: Mail) -> Label | None:
        """The label of a message: its own file, else the nearest labelled folder above it."""
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
    if "path" not in fields or "label" not in fields:
        raise ConfigError(f"{p}: labels need the columns path,label (found: {', '.join(fields) or 'none'})")
    reader.fieldnames = fields
    base = p.resolve().parent
    out = Labels(csv=str(p))
    for line, row in enumerate(reader, 2):
        rel = (row.get("path") or "").strip()
        label = (row.get("label") or "").strip().lower()
        if not rel and not label:
            continue
        if label not in LABELS:
            raise ConfigError(f"{p}, line {line}: label {label!r} is not one of {', '.join(LABELS)}")
        if not rel:
            raise ConfigError(f"{p}, line {line}: empty path")
        source = (row.get("source") or "").strip() or label
        out.by_path[str((base / rel).resolve())] = Label(label, source)
    if not out.by_path:
        raise ConfigError(f"{p}: no labels")
    return out
