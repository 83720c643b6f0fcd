"""The attack builder: scenarios add labelled attack instances and their events through it.

``Attacks`` gives scenarios what they share: a new instance (``new``), its events with their
(attack, technique) label (``add``), a plausible time (``when``), external addresses, victims,
gaps between tries. ``build`` runs every registered ``Scenario`` once per round, in the order of
``registry.ATTACKS``, and returns all attack events sorted by time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import numpy as np

from bluebench.datagen.columns import MS_DAY, MS_HOUR, Cols, Rng, concat, ev, nrows, offset, ports, take
from bluebench.datagen.names import EXTERNAL_NETS
from bluebench.datagen.org import Org, pick_dc
from bluebench.datagen.templates import TPL


@dataclass(frozen=True)
class Scenario:
    """One registered attack scenario: what it injects, into which stream, under which labels."""

    name: str  # unique among scenarios
    stream: str  # "win", or "linux" (run only when the run writes an auth.log)
    inject: Callable[[Attacks, int], None]  # (builder, round) -> adds instances and events
    labels: tuple[tuple[str, str], ...]  # (attack, technique) pairs its events carry, as in labels.csv


@dataclass
class AttackInstance:
    """One injected attack: what, when, against whom; its events carry its index."""

    attack_id: str
    attack: str
    techniques: list[str]
    start: int = 0
    end: int = 0
    events: int = 0
    entities: dict[str, str] = field(default_factory=dict)


class Attacks:
    """Builds the labelled attack events for the whole period (a few thousand rows)."""

    def __init__(
        self, org: Org, rng: Rng, start_ms: int, days: int, linux: bool, scenarios: Iterable[Scenario]
    ) -> None:
        self.org, self.rng, self.start_ms, self.days, self.linux = org, rng, start_ms, days, linux
        self.scenarios = tuple(scenarios)
        # the ``tech`` column indexes this table; labels.csv gets its text back from it
        self.techniques = tuple(pair for s in self.scenarios for pair in s.labels)
        self.instances: list[AttackInstance] = []
        self.parts: list[Cols] = []
        self.counter: dict[str, int] = {}
        self.used_external: set[int] = set()

    # -- helpers
    def new(self, attack: str, **entities: str) -> int:
        """A new attack instance (id ``<attack>-<n>``); the entities go to the manifest."""
        self.counter[attack] = self.counter.get(attack, 0) + 1
        self.instances.append(
            AttackInstance(f"{attack}-{self.counter[attack]}", attack, [], entities=entities)
        )
        return len(self.instances) - 1

    def add(self, inst: int, technique: str, c: Cols) -> None:
        """Events of an instance, labelled with a technique its scenario declares (else ValueError)."""
        name = self.instances[inst].attack
        c["atk"] = np.full(nrows(c), inst, np.int32)
        c["tech"] = np.full(nrows(c), self.techniques.index((name, technique)), np.int16)
        a = self.instances[inst]
        if technique not in a.techniques:
            a.techniques.append(technique)
        self.parts.append(c)

    def when(self, kind: str, person: int | None = None, first: float = 0.25) -> int:
        """A time for an attack: working hours (New York), night (the victim's), or any."""
        rng = self.rng
        lo = max(1, int(self.days * first))
        day = int(rng.integers(lo, max(lo + 1, self.days - 1)))
        if kind == "work":
            while (self.start_ms // MS_DAY + day + 3) % 7 >= 5 and self.days > 3:
                day = int(rng.integers(lo, max(lo + 1, self.days - 1)))
            hour = rng.uniform(14.5, 20.5)  # 09:30-15:30 in New York
        elif kind == "night":
            tz = int(self.org.person_tz[person]) if person is not None else -300
            hour = (rng.uniform(1.5, 4.5) - tz / 60) % 24
        else:
            hour = rng.uniform(0, 24)
        return self.start_ms + day * MS_DAY + int(hour * MS_HOUR)

    def gateway_failures(
        self,
        i: int,
        technique: str,
        t: np.ndarray,
        users: np.ndarray,
        attacker: int,
        ip: int,
        status: tuple[int, int],
        ntlm_delay: int,
    ) -> None:
        """Failed network logons at the RD gateway and the DC's NTLM check of each, ``ntlm_delay`` ms later."""
        org, rng = self.org, self.rng
        n = len(t)
        self.add(
            i,
            technique,
            ev(
                t,
                TPL["failed_net"],
                org.rdgw,
                user=users,
                src=attacker,
                ip=ip,
                port=ports(rng, n),
                st=status[0],
            ),
        )
        self.add(
            i,
            technique,
            ev(t + ntlm_delay, TPL["ntlm"], pick_dc(org, rng, n), user=users, src=attacker, st=status[1]),
        )

    def external(self, n: int) -> np.ndarray:
        """Distinct external addresses from the documentation ranges."""
        out: list[int] = []
        while len(out) < n:
            ip = int(EXTERNAL_NETS[int(self.rng.integers(0, 3))] + self.rng.integers(1, 255))
            if ip not in self.used_external or len(self.used_external) > 700:
                self.used_external.add(ip)
                out.append(ip)
        return np.array(out, np.uint32)

    def gaps(self, t0: int, n: int, lo_ms: float, hi_ms: float) -> np.ndarray:
        """``n`` times from ``t0`` with uniform gaps: an attacker's tool pacing its tries."""
        return t0 + np.concatenate([[0], np.cumsum(offset(self.rng, n - 1, lo_ms, hi_ms))]).astype(np.int64)

    def victim(self) -> int:
        """A person who is not an administrator."""
        org = self.org
        while True:
            p = int(self.rng.integers(0, len(org.person_acct)))
            if org.admin_acct[p] < 0 or len(org.admins) >= len(org.person_acct):
                return p

    def build(self, per_kind: int) -> Cols:
        """Every scenario ``per_kind`` times (in registry order, round by round), sorted by time."""
        for k in range(per_kind):
            for scenario in self.scenarios:
                if scenario.stream == "win" or self.linux:
                    scenario.inject(self, k)
        out = concat(self.parts)
        for i, a in enumerate(self.instances):
            mine = out["t"][out["atk"] == i]
            a.start, a.end, a.events = int(mine.min()), int(mine.max()), len(mine)
        return take(out, np.argsort(out["t"], kind="stable"))
