"""How well the DNS name model generalises, on the public tunnel data (netrack/learn layout).

* **cross-tool**: trained on one tunnel tool's names and part of the plain names (split by
  registered domain), tested on the *other* tool's names and the plain names held out:
  recall on the unseen tool, false-positive rate on unseen plain domains. Both directions.
* **author's split**: trained on ``train.csv``, tested on ``test.csv`` as the data's author
  did, beside the figures of their ``metrics.txt``.

Units are distinct query names. Every rate carries its counts and its 95% Wilson interval.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from bluebench.network.data import Names, in_test_part, read_names
from bluebench.network.model import DnsNameModel, ModelError
from bluebench.stats import Rate

TOOLS = ("dns2tcp", "dnscapy")
PLAIN_TEST_SHARE = 0.3


@dataclass(frozen=True)
class Confusion:
    """Counts of one test: tunnel names caught and missed, plain names flagged and passed."""

    tp: int
    fn: int
    fp: int
    tn: int

    @property
    def recall(self) -> Rate:
        return Rate(self.tp, self.tp + self.fn)

    @property
    def fpr(self) -> Rate:
        return Rate(self.fp, self.fp + self.tn)

    @property
    def precision(self) -> Rate:
        return Rate(self.tp, self.tp + self.fp)

    @property
    def accuracy(self) -> Rate:
        return Rate(self.tp + self.tn, self.tp + self.fn + self.fp + self.tn)

    def to_json(self) -> dict[str, Any]:
        return {
            "counts": {"tp": self.tp, "fn": self.fn, "fp": self.fp, "tn": self.tn},
            "recall": self.recall.to_json(),
            "fpr": self.fpr.to_json(),
            "precision": self.precision.to_json(),
            "accuracy": self.accuracy.to_json(),
        }


def confusion(model: DnsNameModel, test: Names) -> Confusion:
    """Score ``test`` with ``model`` at its threshold."""
    y = np.asarray(test.labels)
    pred = model.predict(test.names) if test.names else np.zeros(0, dtype=np.int64)
    return Confusion(
        int(((pred == 1) & (y == 1)).sum()),
        int(((pred == 0) & (y == 1)).sum()),
        int(((pred == 1) & (y == 0)).sum()),
        int(((pred == 0) & (y == 0)).sum()),
    )


@dataclass
class DnsEvaluation:
    """Every test run, by name (``cross_tool/dns2tcp_to_dnscapy``, ``author``), with what was trained on."""

    tests: dict[str, Confusion] = field(default_factory=dict)
    trained: dict[str, dict[str, int]] = field(default_factory=dict)
    author_metrics: dict[str, float] = field(default_factory=dict)
    data: str = ""
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "data": self.data,
            "unit": "distinct query name",
            "tests": {k: v.to_json() for k, v in self.tests.items()},
            "trained": self.trained,
            "author_metrics": self.author_metrics,
            "notes": self.notes,
        }


def _plain_parts(plain: Names) -> tuple[Names, Names]:
    test = [in_test_part(n, PLAIN_TEST_SHARE) for n in plain.names]
    return plain.where([not t for t in test]), plain.where(test)


def cross_tool(folder: Path, result: DnsEvaluation) -> None:
    """Train on one tool (and 70% of plain domains), test on the other tool and the other 30%."""
    dns = folder / "dns"
    plain_train, plain_test = _plain_parts(read_names(dns / "plain" / "names.csv").distinct())
    tools = {t: read_names(dns / t / "names.csv").distinct() for t in TOOLS}
    for train_tool, test_tool in ((TOOLS[0], TOOLS[1]), (TOOLS[1], TOOLS[0])):
        train = (tools[train_tool] + plain_train).distinct()
        test = (tools[test_tool] + plain_test).distinct()
        model = DnsNameModel().fit(train.names, train.labels)
        key = f"cross_tool/{train_tool}_to_{test_tool}"
        result.tests[key] = confusion(model, test)
        result.trained[key] = {"tunnel": sum(train.labels), "plain": len(train.labels) - sum(train.labels)}


def author_split(folder: Path, result: DnsEvaluation) -> None:
    """Train on the author's ``train.csv``, test on their ``test.csv``; read their ``metrics.txt``."""
    dns = folder / "dns"
    train = read_names(dns / "train.csv")
    test = read_names(dns / "test.csv")
    model = DnsNameModel().fit(train.names, train.labels)
    # As published: rows, not distinct names (the author's metrics count rows).
    result.tests["author"] = confusion(model, test)
    result.trained["author"] = {"tunnel": sum(train.labels), "plain": len(train.labels) - sum(train.labels)}
    metrics = folder / "metrics.txt"
    if metrics.is_file():
        for line in metrics.read_text(encoding="utf-8").splitlines():
            m = re.match(r"^\s*(\w+)\s*=\s*([0-9.]+)\s*$", line)
            if m:
                result.author_metrics[m.group(1)] = float(m.group(2))
    result.notes.append(
        "the author's split counts rows (a name may repeat), as their metrics.txt does; the "
        "cross-tool tests count distinct names"
    )


def evaluate(folder: str | Path) -> DnsEvaluation:
    """Both protocols on a netrack/learn-style folder (``dns/<tool>/names.csv``, ``dns/*.csv``)."""
    root = Path(folder)
    if not (root / "dns").is_dir():
        raise ModelError(
            f"{root}: expected a 'dns' folder with plain/, dns2tcp/, dnscapy/ and the split CSVs"
        )
    result = DnsEvaluation(data=str(root))
    cross_tool(root, result)
    author_split(root, result)
    return result


def train_default(folder: str | Path) -> DnsNameModel:
    """The model bluebench ships: every tool's names and every plain name of the folder."""
    dns = Path(folder) / "dns"
    names = Names()
    for part in ("plain", *TOOLS):
        names = names + read_names(dns / part / "names.csv")
    names = names.distinct()
    meta = {
        "trained_on": "netrack/learn @b19ea98 (Apache-2.0): dns/plain, dns/dns2tcp and dns/dnscapy names.csv",
        "unit": "distinct query name",
    }
    return DnsNameModel().fit(names.names, names.labels, meta)
