"""Mail facts: the ``mail evaluate --out`` JSON (issue 3) and the ``mail classes --out`` JSON (three classes).

Sources (resolved by ``reports.facts.FactResolver`` under the ``mail`` prefix):

==================================================  ==========================================
``mail/PATH``                                       any number of the evaluate JSON; list items by
                                                    their ``key`` or index (``mail/rows/all/test/recall``)
``mail/classes/L/G/R``                              three classes: labelling ``L`` (``after`` the
                                                    reviewed relabelling, ``before`` it), group ``G``
                                                    (``test``, ``modern``, ``era_matched``), rate ``R``
                                                    (``bluebench.mail.classrates``: recall, legit_fpr,
                                                    spam_caught, spam_to_phishing, ...) recomputed from
                                                    the stored counts
``mail/classes/L/by_source|by_language/G/R``        the same per source or language (``G`` its group)
``mail/classes/relabel/rows|applied``               the reviewed relabelling list: rows, rows applied
``mail/classes/relabel/second_review/kappa``        agreement of the second review
==================================================  ==========================================
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from bluebench.errors import BluebenchError
from bluebench.mail.classrates import CLASS_RATES, class_rate

#: The groups of a labelling's test part that the collected facts name (the per-source and
#: per-language tables resolve too, by their group name).
CLASS_GROUPS = ("test", "modern", "era_matched")
#: The rates collected per group: what issue 22's targets and its separate spam line read.
COLLECTED_RATES = ("recall", "legit_fpr", "spam_caught", "spam_to_phishing")


def as_paths(given: Path | Sequence[Path] | None) -> list[Path]:
    """The mail JSON files of an option that takes one path or several (``--mail-evaluation``)."""
    return [given] if isinstance(given, Path) else list(given or [])


def load(paths: Iterable[Path]) -> dict[str, Any] | None:
    """The mail JSON files given, one dict: an evaluation's keys at the top, a three-class
    result under ``classes``; a clear error names a file that is neither."""
    merged: dict[str, Any] = {}
    for path in paths:
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise BluebenchError(f"{path}: not a readable mail evaluation JSON ({exc})") from exc
        if isinstance(data, dict) and "rows" in data:
            merged.update(data)
        elif isinstance(data, dict) and {"before", "after"} <= data.keys():
            merged["classes"] = data
        else:
            raise BluebenchError(
                f"{path}: not a mail evaluation (no 'rows', nor 'before' and 'after'); write one with "
                "`bluebench mail evaluate --out` or `bluebench mail classes --out`"
            )
    return merged or None


def node(mail: dict[str, Any], p: list[str]) -> Any:
    """What ``mail/P`` names: a stored number, or a ``bluebench.stats.Rate`` of a three-class table."""
    at: Any = mail
    for seg in p[:-1]:
        at = _step(at, seg)
    if isinstance(at, dict) and "counts" in at and p[-1] in CLASS_RATES:
        return class_rate(at["counts"], p[-1])
    return _step(at, p[-1])


def _step(at: Any, seg: str) -> Any:
    """One path segment down: a list item by its ``key`` or ``group``, else by index; a dict's value."""
    if isinstance(at, list):
        keyed = [x for x in at if isinstance(x, dict) and seg in (x.get("key"), x.get("group"))]
        return keyed[0] if keyed else at[int(seg)]
    return at[seg]


def sources(mail: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """(key, source) of the headline numbers of the mail JSON given."""
    if "rows" in mail:
        yield from _evaluation_sources(mail)
    classes = mail.get("classes")
    if isinstance(classes, dict):
        yield from _class_sources(classes)


def _evaluation_sources(mail: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """Data sizes, the main model and its baselines, k-fold, retraining (issue 3's evaluation)."""
    yield "mail/data/messages", "mail/data/messages"
    for cls in sorted(mail.get("data", {}).get("classes", {})):
        yield f"mail/data/classes/{cls}", f"mail/data/classes/{cls}"
    for part in ("train", "test"):
        yield f"mail/data/split/{part}", f"mail/data/split/{part}"
    yield "mail/target_fpr", "mail/target_fpr"
    for row in mail.get("rows", []):
        key = str(row.get("key", ""))
        if not key or "/" in key:
            continue
        for metric in ("precision", "recall", "f1", "fpr", "pr_auc", "threshold"):
            yield f"mail/rows/{key}/test/{metric}", f"mail/rows/{key}/test/{metric}"
    for metric in ("precision", "recall", "f1", "fpr", "pr_auc"):
        yield f"mail/kfold/metrics/{metric}", f"mail/kfold/metrics/{metric}"
    for run in mail.get("retraining", []):
        key = str(run.get("key", ""))
        if not key or "/" in key:
            continue
        for metric in ("recall", "fpr", "modern_ham_fpr", "spam_flagged"):
            yield f"mail/retraining/{key}/{metric}", f"mail/retraining/{key}/{metric}"


def _class_sources(classes: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """Per labelling, each group's rates and thresholds; the relabelling list's size and agreement."""
    for labelling in ("after", "before"):
        if not isinstance(classes.get(labelling), dict):
            continue
        for what in ("threshold", "spam_threshold"):
            yield f"mail/classes/{labelling}/{what}", f"mail/classes/{labelling}/{what}"
        for group in CLASS_GROUPS:
            for rate in COLLECTED_RATES:
                src = f"mail/classes/{labelling}/{group}/{rate}"
                yield src, src
    for what in ("rows", "applied", "second_review/kappa"):
        yield f"mail/classes/relabel/{what}", f"mail/classes/relabel/{what}"
