"""Labelled DNS query names from CSV: ``label,qname[,...]`` with or without a header row.

The layout of the public DNS-tunnel sets (netrack/learn): label 0 is plain DNS, any other
number a tunnel (its dnscapy capture writes 2). A row that cannot be read is named with its
file and line and left out; a file with no usable row is an error.
"""

from __future__ import annotations

import csv
import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from bluebench.network.model import ModelError
from bluebench.network.names import clean, split_name


@dataclass
class Names:
    """Query names with labels (1 tunnel, 0 plain), and the rows that could not be used."""

    names: list[str] = field(default_factory=list)
    labels: list[int] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)

    def __add__(self, other: Names) -> Names:
        return Names(self.names + other.names, self.labels + other.labels, self.skipped + other.skipped)

    def distinct(self) -> Names:
        """Each name once (the first label it had): the units every rate counts."""
        seen: dict[str, int] = {}
        for n, y in zip(self.names, self.labels, strict=True):
            seen.setdefault(n, y)
        return Names(list(seen), list(seen.values()), list(self.skipped))

    def where(self, keep: list[bool]) -> Names:
        return Names(
            [n for n, k in zip(self.names, keep, strict=True) if k],
            [y for y, k in zip(self.labels, keep, strict=True) if k],
            list(self.skipped),
        )


def read_names(path: str | Path) -> Names:
    """Read ``label,qname`` rows; a header row (``label,qname``) is recognised and skipped."""
    p = Path(path)
    out = Names()
    try:
        with p.open(encoding="utf-8", newline="") as fh:
            for line, row in enumerate(csv.reader(fh), 1):
                if line == 1 and row[:2] == ["label", "qname"]:
                    continue
                if len(row) < 2 or not row[1].strip():
                    out.skipped.append(f"{p}, line {line}: need a label and a query name")
                    continue
                try:
                    label = int(row[0])
                except ValueError:
                    out.skipped.append(f"{p}, line {line}: label {row[0][:20]!r} is not a number")
                    continue
                out.names.append(clean(row[1]))
                out.labels.append(0 if label == 0 else 1)
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise ModelError(f"{p}: cannot read labelled names: {exc}") from exc
    if not out.names:
        raise ModelError(f"{p}: no labelled query name")
    return out


def in_test_part(name: str, share: float, salt: str = "bluebench") -> bool:
    """Whether a name's registered domain falls in the held-out part (a stable hash, not chance).

    Splitting by registered domain keeps every name of one domain on one side, so a test
    never scores a domain the model learned.
    """
    key = (salt + "|" + split_name(name).registered.lower()).encode()
    bucket = int.from_bytes(hashlib.blake2b(key, digest_size=8).digest(), "big") / 2**64
    return bucket < share
