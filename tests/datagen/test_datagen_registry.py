"""The contract every registered benign kind and attack scenario keeps, run over the whole registry.

A new kind or scenario is checked here without a new test: a kind's expander returns ``steps``
tables of one row per session in the kind's stream (the calibration counts on it); a scenario
labels only the (attack, technique) pairs it declares, uses all of them, and writes to its stream.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from bluebench.datagen.attacks import Attacks
from bluebench.datagen.columns import MS_DAY, Cols, ev
from bluebench.datagen.org import Org
from bluebench.datagen.plan import Plan
from bluebench.datagen.registry import ATTACKS, KINDS
from bluebench.datagen.schedule import Kind, schedule
from bluebench.datagen.templates import STREAMS, TPL, TPL_STREAM
from bluebench.errors import RegistryError

START = date(2025, 3, 3)  # a Monday
START_MS = Plan(0, 0, 1, START, 0.0).start_ms
DAYS = 30


@pytest.fixture(scope="module")
def org() -> Org:
    return Org(np.random.default_rng([0, 1]), 60)


def some_sessions(org: Org, kind: Kind) -> Cols:
    """Sessions of the first date (of many, at a high rate) on which the kind has any at all."""
    for k in range(200):
        rng = np.random.default_rng([0, 2, k])
        weekday = (START.weekday() + k) % 7
        day = schedule(org, rng, START_MS + k * MS_DAY, weekday)
        sessions = kind.sample(org, rng, day, 20.0, weekday)
        if len(sessions["t"]):
            return sessions
    raise AssertionError(f"{kind.name}: no session in 200 days")


@pytest.mark.parametrize("kind", list(KINDS), ids=KINDS.names())
def test_a_kind_expands_each_session_into_its_steps_in_its_stream(org: Org, kind: Kind) -> None:
    sessions = some_sessions(org, kind)
    steps = kind.expand(org, np.random.default_rng(1), sessions)
    assert len(steps) == kind.steps
    assert all(len(step["t"]) == len(sessions["t"]) for step in steps)
    streams = {STREAMS[s] for step in steps for s in TPL_STREAM[step["tpl"]]}
    assert streams == {kind.stream}
    assert all((step["atk"] == -1).all() for step in steps)  # benign rows carry no attack


def test_kinds_and_scenarios_refuse_a_second_registration_under_a_name() -> None:
    with pytest.raises(RegistryError):
        KINDS.register("logon", next(iter(KINDS)))
    with pytest.raises(RegistryError):
        ATTACKS.register("campaign", next(iter(ATTACKS)))
    assert len(set(KINDS.names())) == len(KINDS) and len(set(ATTACKS.names())) == len(ATTACKS)


def test_scenarios_label_exactly_what_they_declare_in_their_stream(org: Org) -> None:
    attacks = Attacks(org, np.random.default_rng([0, 3]), START_MS, DAYS, True, ATTACKS)
    rows = attacks.build(2)  # two rounds: the Kerberos and the gateway variants
    used = {attacks.techniques[t] for t in np.unique(rows["tech"])}
    assert used == set(attacks.techniques)
    assert (np.diff(rows["t"]) >= 0).all()
    for scenario in ATTACKS:
        names = {attack for attack, _ in scenario.labels}
        mine = [i for i, a in enumerate(attacks.instances) if a.attack in names]
        streams = TPL_STREAM[rows["tpl"][np.isin(rows["atk"], mine)]]
        assert mine and {STREAMS[s] for s in streams} == {scenario.stream}, scenario.name
    for a in attacks.instances:
        assert a.events > 0 and START_MS <= a.start <= a.end < START_MS + DAYS * MS_DAY, a.attack_id


def test_no_linux_scenario_runs_without_an_auth_log(org: Org) -> None:
    attacks = Attacks(org, np.random.default_rng([0, 3]), START_MS, DAYS, False, ATTACKS)
    rows = attacks.build(1)
    assert len(rows["t"]) and (TPL_STREAM[rows["tpl"]] == STREAMS.index("win")).all()
    linux_names = {attack for s in ATTACKS if s.stream == "linux" for attack, _ in s.labels}
    assert not linux_names & {a.attack for a in attacks.instances}


def test_an_undeclared_technique_is_refused(org: Org) -> None:
    attacks = Attacks(org, np.random.default_rng([0, 3]), START_MS, DAYS, True, ATTACKS)
    i = attacks.new("brute_force", user="x")
    with pytest.raises(ValueError):
        attacks.add(i, "T1558.003", ev(START_MS, TPL["ntlm"], org.dcs[0], user=org.administrator))
