"""Validation that reproduces the test part's shift: legitimate streams the model never saw.

The forward-chaining folds (``selection.validation_folds``) validate on the newest slice of
each source's training mail, after development has seen that stream's older mail: nearly
every candidate passes them, and they cannot say which one survives legitimate mail of a
kind it has not met (German newsletters, list mail of another project). Here each
legitimate source but the largest is left out of development in turn: every other message
of the training part develops (fits, and sets the thresholds from its out-of-fold scores),
and all of that source's training mail is decided. The largest source is not left out,
because without it too little legitimate mail would remain to set a threshold at 0.1%;
its newest mail is judged on the forward-chaining folds instead. The test part is never read.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from bluebench.mail.train import Labelled


@dataclass(frozen=True)
class Stream:
    """One legitimate source left out: the training mail that develops, and its own that is decided."""

    source: str
    development: np.ndarray
    held: np.ndarray


def legitimate_sources(data: Labelled) -> set[str]:
    """Sources whose labelled mail is all ``ham``."""
    other = {s for s, lab in zip(data.sources, data.labels, strict=True) if lab != "ham"}
    return set(data.sources) - other


def largest_legitimate(data: Labelled, train: np.ndarray) -> str | None:
    """The legitimate source with the most training mail (ties to the name first in order)."""
    legit = legitimate_sources(data)
    counts = Counter(s for s, t in zip(data.sources, train.tolist(), strict=True) if t and s in legit)
    if not counts:
        return None
    return min(counts, key=lambda s: (-counts[s], s))


def held_out_streams(data: Labelled, train: np.ndarray) -> list[Stream]:
    """Each legitimate source but the largest, left out of the training part in turn (sorted by name).

    A source is legitimate when all its labelled mail is ``ham``; one whose development
    mail would lack two of each class (phishing and other) is passed over.
    """
    sources = np.asarray(data.sources, dtype=object)
    largest = largest_legitimate(data, train)
    out: list[Stream] = []
    for source in sorted(legitimate_sources(data) & {str(s) for s in sources[train]}):
        mine = sources == source
        if source == largest:
            continue
        held = train & mine
        dev = train & ~mine
        if np.bincount(data.y[dev], minlength=2).min() < 2:
            continue
        out.append(Stream(source, dev, held))
    return out


def shift_rows(validation: np.ndarray, streams: Sequence[Stream]) -> np.ndarray:
    """Validation rows whose decision the shifted validation keeps from the forward-chaining folds.

    Every validation message but the legitimate mail of a left-out source: that mail is
    decided by its stream's model instead, so each message is counted once.
    """
    keep = validation.copy()
    for s in streams:
        keep &= ~s.held
    return keep
