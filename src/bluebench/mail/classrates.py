"""What each rate of a three-class mail decision counts: one definition for the evaluation and the facts.

A confusion table counts test messages by true class and decided class (``phishing``,
``spam``, ``legitimate``); each rate is the messages of one true class decided as some of
them, of all that class's messages. Kept apart from the evaluation (which imports the models)
so that ``verify`` and the drill recompute a stored table's rates without loading them.
"""

from __future__ import annotations

from collections.abc import Mapping

from bluebench.stats import Rate

#: Rate name -> (true class, the decided classes it counts).
CLASS_RATES: dict[str, tuple[str, tuple[str, ...]]] = {
    "recall": ("phishing", ("phishing",)),  # phishing sent to the analyst
    "legit_fpr": ("legitimate", ("phishing", "spam")),  # legitimate mail flagged as either
    "legit_to_phishing": ("legitimate", ("phishing",)),
    "spam_caught": ("spam", ("spam",)),
    "spam_to_phishing": ("spam", ("phishing",)),  # reported on its own line: neither miss nor false positive
    "phishing_to_spam": ("phishing", ("spam",)),  # a miss that lands in the junk folder
}


def class_rate(counts: Mapping[str, Mapping[str, int]], name: str) -> Rate:
    """Rate ``name`` (a key of :data:`CLASS_RATES`) of a confusion table's counts."""
    true, decided = CLASS_RATES[name]
    row = counts[true]
    return Rate(sum(int(row.get(d, 0)) for d in decided), sum(int(v) for v in row.values()))
