"""``generate()``: plan the run, build the attacks, calibrate benign rates, write day by day.

Each UTC day's sessions are expanded one time window at a time (memory stays bounded by a
window), trimmed to the day's exact target by a seeded draw, merged with the attack events of
the window and written in time order; events past the window's end carry over to the next.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import date
from pathlib import Path

import numpy as np

from bluebench.datagen.attacks import Attacks
from bluebench.datagen.columns import MS_DAY, Cols, Rng, concat, nrows, take
from bluebench.datagen.defaults import DEFAULT_DAYS, DEFAULT_LINUX_SHARE, DEFAULT_START
from bluebench.datagen.org import Org
from bluebench.datagen.plan import Plan, SessionCache, calibrate, people_for
from bluebench.datagen.registry import ATTACKS, KINDS
from bluebench.datagen.templates import STREAMS, TPL_STREAM
from bluebench.datagen.writer import GenerateSummary, Writer
from bluebench.errors import BluebenchError

WINDOW_EVENTS = 400_000  # events expanded and sorted at once (bounds memory)


def generate(
    out_dir: str | Path,
    events: int,
    seed: int = 0,
    days: int = DEFAULT_DAYS,
    start: date = DEFAULT_START,
    linux_share: float = DEFAULT_LINUX_SHARE,
    progress: Callable[[str], None] | None = None,
) -> GenerateSummary:
    """Write ``events`` events (exactly) with labels and a manifest under ``out_dir``."""
    _check_arguments(events, days, linux_share)
    plan = Plan(events, seed, days, start, linux_share, people_for(events, days))
    org = Org(np.random.default_rng([seed, 1]), plan.people)
    attacks = Attacks(org, np.random.default_rng([seed, 3]), plan.start_ms, days, linux_share > 0, ATTACKS)
    atk = attacks.build(max(1, round(events / 1_000_000)))
    scale, day_target = calibrate(org, plan, _targets(events, linux_share, atk))

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    writer = Writer(out, org, plan, attacks)
    cache = SessionCache(org, seed, plan, scale)
    carry = concat([])
    for d in range(days):
        targets = {s: int(day_target[s][d]) for s in STREAMS}
        carry = _write_day(org, plan, d, cache.utc_day(d), targets, atk, carry, writer)
        if progress:
            progress(f"day {d + 1}/{days}: {writer.total:,} events written")
    return writer.finish(seed, events, days, linux_share)


def _check_arguments(events: int, days: int, linux_share: float) -> None:
    """Refuse arguments no run can satisfy before anything is drawn or written."""
    if events < 1000:
        raise BluebenchError("--events must be at least 1000 (the attacks alone need a few hundred)")
    if days < 1:
        raise BluebenchError("--days must be at least 1")
    if not 0.0 <= linux_share < 0.5:
        raise BluebenchError("the Linux share must be within 0 and 0.5")


def _targets(events: int, linux_share: float, atk: Cols) -> dict[str, int]:
    """Benign events each stream needs so that, with the attacks, the total is exactly ``events``."""
    atk_stream = TPL_STREAM[atk["tpl"]]
    linux_total = round(events * linux_share)
    if linux_share > 0:
        linux_total = max(linux_total, 2 * int((atk_stream == 1).sum()))
    target = {
        "win": events - linux_total - int((atk_stream == 0).sum()),
        "linux": linux_total - int((atk_stream == 1).sum()),
    }
    if min(target.values()) < 0 or target["win"] < events // 3:
        raise BluebenchError(f"{events} events are too few for the attacks ({nrows(atk)} events); use more")
    return target


def _write_day(
    org: Org,
    plan: Plan,
    d: int,
    sessions: list[Cols],
    targets: dict[str, int],
    atk: Cols,
    carry: Cols,
    writer: Writer,
) -> Cols:
    """UTC day ``d`` window by window, with the attacks of each window; returns what spills past the day."""
    day_lo = plan.start_ms + d * MS_DAY
    day_events = sum(len(ses["t"]) * k.steps for k, ses in zip(KINDS, sessions, strict=True))
    n_win = max(1, math.ceil(day_events / WINDOW_EVENTS))
    edges = day_lo + np.arange(n_win + 1, dtype=np.int64) * MS_DAY // n_win
    rng = np.random.default_rng([plan.seed, 4, d])
    drops = _drops(rng, sessions, edges, targets)
    for w in range(n_win):
        lo, hi = int(edges[w]), int(edges[w + 1])
        fresh = _expand_window(org, rng, sessions, lo, hi, {s: int(drops[s][w]) for s in STREAMS})
        a_rows = (atk["t"] >= lo) & (atk["t"] < hi)
        if d == 0 and w == 0:
            a_rows |= atk["t"] < lo
        pool = concat([carry, fresh, take(atk, a_rows)])
        pool = take(pool, np.argsort(pool["t"], kind="stable"))
        if d == plan.days - 1 and w == n_win - 1:
            pool = concat([pool, take(atk, atk["t"] >= hi)])
            pool = take(pool, np.argsort(pool["t"], kind="stable"))
            cut = nrows(pool)
        else:
            cut = int(np.searchsorted(pool["t"], hi, side="left"))
        writer.write(take(pool, slice(0, cut)), d)
        carry = take(pool, slice(cut, None))
    return carry


def _drops(
    rng: Rng, sessions: list[Cols], edges: np.ndarray, targets: dict[str, int]
) -> dict[str, np.ndarray]:
    """How many of each window's expanded events to drop, per stream, so the day hits its target."""
    n_win = len(edges) - 1
    per_window = {s: np.zeros(n_win, np.int64) for s in STREAMS}
    for kind, ses in zip(KINDS, sessions, strict=True):
        win = np.searchsorted(edges, ses["t"], side="right") - 1
        per_window[kind.stream] += np.bincount(win, minlength=n_win) * kind.steps
    return {
        s: rng.multivariate_hypergeometric(per_window[s], int(per_window[s].sum() - targets[s]))
        if per_window[s].sum()
        else per_window[s]
        for s in STREAMS
    }


def _expand_window(org: Org, rng: Rng, sessions: list[Cols], lo: int, hi: int, drops: dict[str, int]) -> Cols:
    """Events of the sessions that start in [lo, hi), less ``drops[stream]`` drawn at random."""
    new = []
    for kind, ses in zip(KINDS, sessions, strict=True):
        keep = (ses["t"] >= lo) & (ses["t"] < hi)
        if keep.any():
            sub = {key: v[keep] for key, v in ses.items()}
            new.extend(kind.expand(org, rng, sub))
    fresh = concat(new)
    if nrows(fresh):
        stream = TPL_STREAM[fresh["tpl"]]
        keep_mask = np.ones(nrows(fresh), bool)
        for si, s in enumerate(STREAMS):
            rows = np.flatnonzero(stream == si)
            k = drops[s]
            if k:
                keep_mask[rng.choice(rows, k, replace=False)] = False
        fresh = take(fresh, keep_mask)
    return fresh
