"""Benign activity's timing: who works when on a local date, and the samplers that draw sessions.

A benign ``Kind`` pairs a sampler (sessions of one local date: times, people or hosts) with an
expander (each session's events, in ``benign_*.py``). The samplers here cover the usual shapes:
a Poisson rate over each working person's hours, once per person per day, a rate per host
between two UTC hours, an organisation-wide daily rate. ``registry.KINDS`` lists every kind.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from bluebench.datagen.columns import MS_HOUR, Cols, Rng, ip4
from bluebench.datagen.org import Org


@dataclass
class Day:
    """Who works on one local date, when (UTC ms) and from where."""

    people: np.ndarray  # person indices
    start: np.ndarray
    end: np.ndarray
    src_ip: np.ndarray  # workstation or VPN address that day
    remote: np.ndarray
    utc0: int  # the date's midnight as UTC ms


def schedule(org: Org, rng: Rng, day_ms: int, weekday: int) -> Day:
    """The people at work on one local date: leave, travel, remote days and their hours."""
    n = len(org.person_acct)
    # leave and sickness on weekdays; a few people on weekends
    works = rng.random(n) > 0.06 if weekday < 5 else rng.random(n) < org.person_weekend
    travel = rng.random(n) < 0.01
    start_h = np.where(weekday < 5, org.person_start + rng.normal(0, 0.35, n), rng.uniform(9, 15, n))
    length_h = np.where(weekday < 5, org.person_len + rng.normal(0, 0.5, n), rng.uniform(1.5, 4.5, n))
    tz = org.person_tz + np.where(travel, rng.choice([-540, -420, 360, 480, 600], n), 0)
    start = day_ms + ((start_h * 3600 - tz * 60) * 1000).astype(np.int64)
    end = start + (length_h.clip(1, 12) * MS_HOUR).astype(np.int64)
    remote = (rng.random(n) < org.person_remote) | travel
    fresh_vpn = (ip4(10, 200, 0, 0) + rng.integers(256, 65000, n)).astype(np.uint32)
    vpn = np.where(travel | (rng.random(n) < 0.1), fresh_vpn, org.person_vpn_ip)
    src_ip = np.where(remote, vpn, org.host_ip_arr[org.person_wks]).astype(np.uint32)
    idx = np.flatnonzero(works)
    return Day(idx.astype(np.int32), start[idx], end[idx], src_ip[idx], remote[idx], day_ms)


def _poisson(rng: Rng, lam: np.ndarray) -> np.ndarray:
    """Poisson counts that tolerate a zero or negative rate (a kind switched off)."""
    out: np.ndarray = rng.poisson(np.maximum(lam, 0.0))
    return out


def _repeat_times(
    rng: Rng, counts: np.ndarray, start: np.ndarray, end: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Positions (into the day arrays) repeated by count, and uniform times in [start, end)."""
    pos = np.repeat(np.arange(len(counts)), counts)
    t = start[pos] + (rng.random(len(pos)) * (end[pos] - start[pos])).astype(np.int64)
    return pos, t


Sampler = Callable[[Org, Rng, Day, float, int], Cols]  # (org, rng, day, scale, weekday) -> sessions with "t"
Expander = Callable[[Org, Rng, Cols], list[Cols]]  # sessions -> one column table per step


@dataclass
class Kind:
    """One kind of benign session: sampled per local date, expanded into ``steps`` events each."""

    name: str  # unique; hard negatives are listed under it in manifest.json
    stream: str  # "win" or "linux": the file its events go to, and the stream whose count it feeds
    steps: int  # events per session: the length of the list ``expand`` returns
    sample: Sampler
    expand: Expander
    hard_negative: str = ""  # what makes it look like an attack, if it does (listed in the manifest)


def session_cols(**cols: np.ndarray) -> Cols:
    """Session columns: ``t`` plus what the expander reads (``p``, ``ip``, ``remote`` or ``h``)."""
    return dict(cols)


def person_rate(rate_per_hour: float, who: Callable[[Org], np.ndarray] | None = None) -> Sampler:
    """Sessions at a Poisson rate over each working person's hours."""

    def sample(org: Org, rng: Rng, day: Day, scale: float, weekday: int) -> Cols:
        mask = np.ones(len(day.people), bool) if who is None else who(org)[day.people]
        hours = (day.end - day.start) / MS_HOUR
        counts = _poisson(rng, rate_per_hour * hours * scale * mask)
        pos, t = _repeat_times(rng, counts, day.start, day.end)
        return session_cols(t=t, p=day.people[pos], ip=day.src_ip[pos], remote=day.remote[pos])

    return sample


def person_once(at: str, prob: float = 1.0, who: Callable[[Org], np.ndarray] | None = None) -> Sampler:
    """At most one session per working person: at the day's start, end, or any time."""

    def sample(org: Org, rng: Rng, day: Day, scale: float, weekday: int) -> Cols:
        mask = np.ones(len(day.people), bool) if who is None else who(org)[day.people]
        p = prob if at in ("start", "end") else min(1.0, prob * scale)
        keep = mask & (rng.random(len(day.people)) < p)
        if at == "start":
            t = day.start
        elif at == "end":
            t = day.end
        else:
            t = day.start + (rng.random(len(day.people)) * (day.end - day.start)).astype(np.int64)
        return session_cols(t=t[keep], p=day.people[keep], ip=day.src_ip[keep], remote=day.remote[keep])

    return sample


def hosts_rate(
    hosts: Callable[[Org], np.ndarray],
    rate_per_hour: float,
    hours: tuple[float, float] = (0, 24),
    weekdays: tuple[int, ...] = tuple(range(7)),
) -> Sampler:
    """Sessions at a Poisson rate per host between two UTC hours on some weekdays."""

    def sample(org: Org, rng: Rng, day: Day, scale: float, weekday: int) -> Cols:
        h = hosts(org)
        if weekday not in weekdays or not len(h):
            return session_cols(t=np.empty(0, np.int64), h=np.empty(0, np.int32))
        counts = _poisson(rng, np.full(len(h), rate_per_hour * (hours[1] - hours[0]) * scale))
        hh = np.repeat(h, counts)
        t = day.utc0 + (hours[0] * MS_HOUR + rng.random(len(hh)) * (hours[1] - hours[0]) * MS_HOUR).astype(
            np.int64
        )
        return session_cols(t=t, h=hh.astype(np.int32))

    return sample


def org_rate(
    per_day: Callable[[Org], float], hours: tuple[float, float], weekdays: tuple[int, ...] = (0, 1, 2, 3, 4)
) -> Sampler:
    """Organisation-wide sessions (helpdesk work) at a daily rate between two UTC hours."""

    def sample(org: Org, rng: Rng, day: Day, scale: float, weekday: int) -> Cols:
        if weekday not in weekdays:
            return session_cols(t=np.empty(0, np.int64))
        n = int(rng.poisson(per_day(org) * scale))
        t = day.utc0 + (hours[0] * MS_HOUR + rng.random(n) * (hours[1] - hours[0]) * MS_HOUR).astype(np.int64)
        return session_cols(t=t)

    return sample
