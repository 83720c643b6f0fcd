"""The shifted validation: each legitimate stream but the largest left out of development in turn."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from bluebench.mail.evaluation.streams import held_out_streams, largest_legitimate, shift_rows
from bluebench.mail.train import Labelled
from bluebench.sources.mailparse import Mail

SOURCES = ("big", "small", "tiny", "pot", "mixed")
LABEL_OF = {"big": "ham", "small": "ham", "tiny": "ham", "pot": "phishing"}


def _data(sources: list[str]) -> Labelled:
    """Labelled mail whose "mixed" source always holds spam (its first message) and, from two on, ham."""
    mails = [Mail(file=f"{i}.eml", index=1, headers=[]) for i in range(len(sources))]
    mixed = iter(["spam", "ham"] * len(sources))
    labels = [LABEL_OF.get(s) or next(mixed) for s in sources]
    return Labelled(mails, labels, list(sources))


@given(st.lists(st.sampled_from(SOURCES), min_size=1, max_size=60), st.data())
def test_each_stream_is_decided_by_a_model_that_never_saw_it(sources: list[str], draw: st.DataObject) -> None:
    data = _data(sources)
    train = np.array(draw.draw(st.lists(st.booleans(), min_size=len(sources), max_size=len(sources))))
    streams = held_out_streams(data, train)
    src, labels = np.asarray(data.sources), np.asarray(data.labels)
    largest = largest_legitimate(data, train)
    for s in streams:
        assert s.source != largest and s.source != "mixed"  # a source with other labels is never a stream
        assert (labels[src == s.source] == "ham").all()
        assert not (s.development & (src == s.source)).any()  # development never holds the stream
        assert (
            not (s.held & ~train).any() and not (s.development & ~train).any()
        )  # the test part is never read
        assert (s.held == (train & (src == s.source))).all()
        assert np.bincount(data.y[s.development], minlength=2).min() >= 2
    validation = train & (np.arange(len(sources)) % 3 == 0)
    keep = shift_rows(validation, streams)
    assert not (keep & ~validation).any()
    for s in streams:  # each message is counted once: by its stream's model or by the folds
        assert not (keep & s.held).any()


def test_the_largest_legitimate_source_stays_in_development() -> None:
    sources = ["big"] * 6 + ["small"] * 3 + ["tiny"] * 2 + ["pot"] * 4 + ["mixed"] * 4
    data = _data(sources)
    train = np.ones(len(sources), dtype=bool)
    assert largest_legitimate(data, train) == "big"
    assert [s.source for s in held_out_streams(data, train)] == ["small", "tiny"]
    train[: 6 + 3] = False  # no training mail of big or small: tiny is now the largest and stays
    assert largest_legitimate(data, train) == "tiny"
    assert held_out_streams(data, train) == []
    assert largest_legitimate(_data(["pot", "mixed"]), np.array([True, False])) is None
