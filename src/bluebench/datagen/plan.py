"""The plan of a run: its arguments, the organisation's size, and benign rates calibrated to the target.

Sessions are sampled per local date (people live in time zones) but written per UTC day;
``SessionCache`` keeps each local date's sessions while a UTC day may still need them. The
calibration scales every kind's rate per stream until the sampled events cover the target,
then splits the target over days in proportion to what each day has.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import numpy as np

from bluebench.datagen.columns import MS_DAY, Cols
from bluebench.datagen.org import Org
from bluebench.datagen.registry import KINDS
from bluebench.datagen.schedule import schedule
from bluebench.datagen.templates import STREAMS
from bluebench.errors import BluebenchError


@dataclass
class Plan:
    """The run's arguments and the organisation size drawn for them."""

    events: int
    seed: int
    days: int
    start: date
    linux_share: float
    people: int = 0

    @property
    def start_ms(self) -> int:
        """The first day's midnight (UTC) in ms: every time in the run counts from it."""
        return int(datetime(self.start.year, self.start.month, self.start.day, tzinfo=UTC).timestamp() * 1000)


class SessionCache:
    """Sessions of each local date, drawn once per scale and kept while a UTC day may need them."""

    def __init__(self, org: Org, seed: int, plan: Plan, scale: dict[str, float]) -> None:
        self.org, self.seed, self.plan, self.scale = org, seed, plan, scale
        self.cache: dict[int, list[Cols]] = {}

    def local_date(self, k: int) -> list[Cols]:
        """Sessions per kind for local date ``start + k`` (k may be -1 or days)."""
        if k not in self.cache:
            rng = np.random.default_rng([self.seed, 2, k + 10])
            day_ms = self.plan.start_ms + k * MS_DAY
            weekday = (self.plan.start + timedelta(days=k)).weekday()
            sched = schedule(self.org, rng, day_ms, weekday)
            self.cache[k] = [
                kind.sample(self.org, rng, sched, self.scale[kind.stream], weekday) for kind in KINDS
            ]
        return self.cache[k]

    def utc_day(self, d: int) -> list[Cols]:
        """Sessions per kind whose start falls on UTC day ``d``, sorted by time."""
        lo = self.plan.start_ms + d * MS_DAY
        out = []
        for j in range(len(KINDS)):
            parts = []
            for k in (d - 1, d, d + 1):
                s = self.local_date(k)[j]
                keep = (s["t"] >= lo) & (s["t"] < lo + MS_DAY)
                parts.append({key: v[keep] for key, v in s.items()})
            merged = {key: np.concatenate([p[key] for p in parts]) for key in parts[0]}
            out.append({key: v[np.argsort(merged["t"], kind="stable")] for key, v in merged.items()})
        for k in [k for k in self.cache if k < d]:
            del self.cache[k]
        return out


def count_events(org: Org, plan: Plan, scale: dict[str, float]) -> dict[str, np.ndarray]:
    """Benign events per stream and UTC day at these scales (sessions x steps)."""
    cache = SessionCache(org, plan.seed, plan, scale)
    counts = {s: np.zeros(plan.days, np.int64) for s in STREAMS}
    for d in range(plan.days):
        for kind, s in zip(KINDS, cache.utc_day(d), strict=True):
            counts[kind.stream][d] += len(s["t"]) * kind.steps
    return counts


def allocate(total: int, weights: np.ndarray) -> np.ndarray:
    """Split ``total`` over days in proportion to ``weights`` (largest remainder)."""
    if total <= 0 or weights.sum() == 0:
        return np.zeros(len(weights), np.int64)
    exact = total * weights / weights.sum()
    base = np.floor(exact).astype(np.int64)
    rest = total - int(base.sum())
    base[np.argsort(-(exact - base), kind="stable")[:rest]] += 1
    out: np.ndarray = base
    return out


def people_for(events: int, days: int) -> int:
    """Organisation size that gives ``events`` over ``days`` at realistic per-person rates."""
    return int(np.clip(round(events / max(days, 1) / 80), 20, 200_000))


def calibrate(org: Org, plan: Plan, target: dict[str, int]) -> tuple[dict[str, float], dict[str, np.ndarray]]:
    """Rate scales per stream that give a little more than ``target`` events, and the target per day."""
    scale = {"win": 1.0, "linux": 1.0 if plan.linux_share > 0 else 0.0}
    counts = count_events(org, plan, scale)
    for _ in range(12):
        short = False
        for s in STREAMS:
            have = int(counts[s].sum())
            if target[s] > 0 and (have < target[s] or have > 1.15 * target[s]):
                scale[s] = scale[s] * 1.05 * target[s] / max(have, 1)
                short = True
        if not short:
            break
        counts = count_events(org, plan, scale)
    for s in STREAMS:
        if counts[s].sum() < target[s]:
            raise BluebenchError("could not reach the requested number of events; try fewer --days")
    return scale, {s: allocate(target[s], counts[s]) for s in STREAMS}
