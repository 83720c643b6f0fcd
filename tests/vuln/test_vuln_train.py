"""Training uses earlier days only, with outcomes known by the cut-off, and chooses its penalty on earlier days."""

from __future__ import annotations

import itertools
from datetime import date

import numpy as np
import pytest

from bluebench.errors import BluebenchError
from bluebench.vuln.knowledge import KnowledgeBase
from bluebench.vuln.train import MIN_LABEL_DAYS, day_set, train, training_days
from vuln_world import AT, DAYS, World


def base(world: World) -> KnowledgeBase:
    return KnowledgeBase(
        kev=world.kev, epss_history=world.epss_history, cves=world.records, exploits=world.exploits
    )


def test_training_days_leave_room_for_outcomes_and_keep_apart() -> None:
    weekly = [date(2024, 1, 7 + 7 * i) if i < 3 else date(2024, 2, 4 + 7 * (i - 3)) for i in range(6)]
    chosen = training_days([*weekly, date(2024, 6, 1)], date(2024, 7, 1))
    assert all((date(2024, 7, 1) - d).days >= MIN_LABEL_DAYS for d in chosen)
    assert all((b - a).days >= 60 for a, b in itertools.pairwise(chosen))
    assert date(2024, 6, 1) not in chosen


def test_labels_are_additions_after_the_day_and_by_the_cut_off(world: World) -> None:
    kb = base(world)
    d = day_set(kb, DAYS[0], AT, 365)
    y, days = d.labels(AT)
    added_between = {c.cve for c in world.cves if c.added and DAYS[0] < c.added <= AT}
    assert days == (AT - DAYS[0]).days
    assert int(y.sum()) == len(added_between & {c.cve for c in world.cves if c.published <= DAYS[0]})
    assert np.all(d.added[y == 1] <= days)


def test_train_chooses_by_forward_validation_and_records_it(world: World) -> None:
    t = train(base(world), AT)
    assert t.method == "forward"
    assert [d["day"] for d in t.days] == [DAYS[0].isoformat(), DAYS[1].isoformat()]
    chosen = next(s for s in t.selection if s["l2"] == t.model.l2)
    assert chosen["mean_gain"] == max(s["mean_gain"] for s in t.selection if s["mean_gain"] is not None)
    assert t.model.coef_[2] > 0  # vendor_kev: the world's risky vendors are found


def test_one_training_day_uses_folds(world: World) -> None:
    t = train(base(world), date(2024, 5, 1))
    assert t.method == "folds" and len(t.days) == 1


def test_no_training_day_is_an_error(world: World) -> None:
    with pytest.raises(BluebenchError, match="nothing to learn from"):
        train(base(world), DAYS[0])
