"""The time split keeps every test message newer than every training message of its source."""

from __future__ import annotations

from datetime import datetime

from bluebench.mail.evaluation.split import time_split
from bluebench.mail.train import Labelled
from bluebench.sources.mailparse import Mail


def _mail(i: int, day: int) -> Mail:
    return Mail(file=f"m{i}.eml", index=1, headers=[], date=datetime(2024, 1, day))


def test_time_split_trains_on_the_oldest_of_each_source_and_keeps_ties_together() -> None:
    days = {"a": [1, 2, 3, 4, 5, 6, 7, 8, 9, 10], "b": [20, 21, 21, 21, 22]}
    data = Labelled()
    i = 0
    for source, ds in days.items():
        for d in ds:
            data.mails.append(_mail(i, d))
            data.labels.append("ham" if source == "a" else "phishing")
            data.sources.append(source)
            i += 1
    train, info = time_split(data, share=0.7)
    a = train[:10]
    assert a.tolist() == [True] * 7 + [False] * 3
    b = train[10:]
    assert b.tolist() == [True, True, True, True, False]  # the three messages of day 21 stay together
    by = {s.source: s for s in info}
    assert by["a"].test_dates == ("2024-01-08", "2024-01-10")
    assert (by["b"].train, by["b"].test, by["b"].label) == (4, 1, "phishing")
    for src, idx in (("a", range(10)), ("b", range(10, 15))):
        newest_train = max(data.mails[j].date for j in idx if train[j])  # type: ignore[type-var]
        oldest_test = min(data.mails[j].date for j in idx if not train[j])  # type: ignore[type-var]
        assert newest_train < oldest_test, src
