"""The user-day model: an IsolationForest over per-account daily features, explained by robust baselines.

Part of the behaviour detectors (``behaviour.py`` states the shared rules: no look-ahead, days as
the unit, no baseline no judgement, who is judged, the clock, the score's direction).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt

from bluebench.detectors.base import Finding, plural
from bluebench.detectors.behaviour import (
    IGNORE_USERS,
    LOCAL_TIME_SQL,
    SOURCE_SQL,
    SUCCESS_SQL,
    BehaviourDetector,
    _base_params,
    _rows,
    user_keys,
)
from bluebench.detectors.winsql import ed
from bluebench.engines import Db, as_engine

# ------------------------------------------------------------ user-day model ----

# (feature, how a reason names it, aggregate over one account's authentication events of one
# day, smallest spread its robust z divides by: the change that starts to matter. Counts
# move in whole events; a few mistyped passwords are ordinary, and each is logged two or three
# times (4625 on the host, 4771 or 4776 on the DC), so failures start at 3.)
# Night logons and RC4 tickets are counts, not shares: one logon at 23:00 on a quiet Sunday
# is a night share of 1, and a Kerberoasting burst is a small share of a busy day.
USER_DAY_FEATURES: tuple[tuple[str, str, str, float], ...] = (
    ("logons", "successful logons", "count(*) FILTER (WHERE ok)", 1.0),
    ("failures", "failed authentications", "count(*) FILTER (WHERE failed)", 3.0),
    (
        "failure_ratio",
        "failure ratio",
        "coalesce(count(*) FILTER (WHERE failed) / nullif(count(*) FILTER (WHERE ok OR failed), 0), 0)",
        0.2,
    ),
    ("distinct_sources", "distinct sources", "count(DISTINCT src) FILTER (WHERE ok)", 1.0),
    (
        "distinct_hosts",
        "distinct hosts logged on to",
        "count(DISTINCT host) FILTER (WHERE ok AND action = 'logon')",
        1.0,
    ),
    ("distinct_logon_types", "distinct logon types", "count(DISTINCT ltype) FILTER (WHERE ok)", 1.0),
    ("night_logons", "logons at night", "count(*) FILTER (WHERE ok AND night)", 1.0),
    # Counted apart (RC4_SQL): reading the EventData of every authentication is the slow part.
    ("rc4_tickets", "Kerberos tickets with RC4", "coalesce(any_value(k.rc4), 0)", 1.0),
    (
        "explicit_credentials",
        "explicit-credential logons (4648)",
        "count(*) FILTER (WHERE action = 'explicit-credential-logon')",
        1.0,
    ),
)
FEATURE_NAMES: tuple[str, ...] = tuple(f for f, _, _, _ in USER_DAY_FEATURES)
FEATURE_FLOORS: tuple[float, ...] = tuple(floor for *_, floor in USER_DAY_FEATURES)
# Counts (whole-event floors; shares have fractional ones) enter the forest as log1p.
COUNT_FEATURES: tuple[bool, ...] = tuple(floor >= 1.0 for floor in FEATURE_FLOORS)

# Authentication events, and the Kerberos tickets counted apart, whatever their category.
_AUTH = """"event.category" = 'authentication'"""
_TICKETS = """"event.action" IN ('kerberos-tgt-request', 'kerberos-service-ticket') AND "event.outcome" = 'success'"""
USER_DAY_SQL = f"""
WITH uk AS {user_keys(f"{_AUTH} OR ({_TICKETS})")},
a AS (
    SELECT *, CAST(lt AS DATE) AS day,
           CASE WHEN $night_start <= $night_end THEN hour(lt) >= $night_start AND hour(lt) < $night_end
                ELSE hour(lt) >= $night_start OR hour(lt) < $night_end END AS night
    FROM (
        SELECT "event.id" AS eid, "@timestamp" AS ts, {LOCAL_TIME_SQL} AS lt, uk.u,
               lower("host.name") AS host, "event.action" AS action, "winlog.logon.type" AS ltype,
               {SUCCESS_SQL} AS ok, "event.outcome" = 'failure' AS failed, {SOURCE_SQL} AS src
        FROM events JOIN uk ON uk.name = events."user.name"
        WHERE {_AUTH} AND "@timestamp" IS NOT NULL
    )
), k AS (
    -- Kerberos tickets (4768, 4769) issued with RC4 (0x17), per account and day.
    SELECT u, day, count(*) AS rc4
    FROM (
        SELECT uk.u, CAST({LOCAL_TIME_SQL} AS DATE) AS day, {ed("TicketEncryptionType")} AS etype
        FROM events JOIN uk ON uk.name = events."user.name"
        WHERE {_TICKETS} AND "@timestamp" IS NOT NULL
    )
    WHERE lower(etype) = '0x17'
    GROUP BY u, day
)
SELECT a.u, a.day, min(ts) AS first, max(ts) AS last,
       {", ".join(f"CAST({expr} AS DOUBLE) AS {name}" for name, _, expr, _ in USER_DAY_FEATURES)}
FROM a LEFT JOIN k ON k.u = a.u AND k.day = a.day
GROUP BY a.u, a.day
HAVING count(*) FILTER (WHERE ok) > 0
ORDER BY a.day, a.u
"""

# Events of the flagged user-days (of the accounts judged: only those are flagged); $keys holds
# 'user|YYYY-MM-DD' (the day's fixed width at the end keeps the key unambiguous whatever the name holds).
USER_DAY_EVENTS_SQL = f"""
SELECT u, day, list(eid ORDER BY ts, eid) AS eids
FROM (
    SELECT k.u, CAST({LOCAL_TIME_SQL} AS DATE) AS day, "event.id" AS eid, "@timestamp" AS ts
    FROM events JOIN {user_keys(_AUTH)} k ON k.name = events."user.name"
    WHERE {_AUTH} AND "@timestamp" IS NOT NULL
)
WHERE list_contains($keys, u || '|' || CAST(day AS VARCHAR))
GROUP BY u, day
"""

FloatArray = npt.NDArray[np.float64]


class UserDayForest:
    """IsolationForest over user-day features, with robust per-feature baselines to explain it.

    scikit-learn style: ``__init__`` stores parameters only; ``fit`` learns ``forest_``,
    ``median_``, ``mad_``, ``scale_``, ``max_`` and ``n_samples_`` and returns ``self``;
    ``score_samples`` and ``robust_z`` are read-only and never change the fitted state.
    ``score_samples`` runs 0..1 and **higher = more anomalous**: it is scikit-learn's
    ``-score_samples``, the paper's ``2^(-E[h(x)] / c(n))``, about 0.5 for ordinary rows and
    towards 1 for rows isolated in few splits. Deciding what is an alert is left to the
    caller's threshold. Counts (``log_features``) enter the forest as ``log1p`` so that one
    heavy account does not stretch every split.

    A forest only splits within the range it was fit on: a value beyond every training value
    (or in a feature that never varied) is scored as if it were at the edge. ``max_`` and
    ``robust_z`` let the caller see those cases.
    """

    def __init__(
        self,
        n_estimators: int = 100,
        max_samples: int = 256,
        random_state: int = 0,
        scale_floor: Sequence[float] | None = None,
        log_features: Sequence[bool] | None = None,
    ) -> None:
        self.n_estimators = n_estimators
        self.max_samples = max_samples
        self.random_state = random_state
        self.scale_floor = scale_floor
        self.log_features = log_features

    def _transform(self, X: FloatArray) -> FloatArray:
        out = np.array(X, dtype=np.float64)  # a copy: the caller's array is never changed
        if self.log_features is not None:
            mask = np.asarray(self.log_features, dtype=bool)
            out[:, mask] = np.log1p(np.clip(out[:, mask], 0.0, None))
        return out

    def fit(self, X: FloatArray) -> UserDayForest:
        """Learn the forest and the per-feature median, MAD and maximum of ``X`` (rows: user-days)."""
        X = np.asarray(X, dtype=np.float64)
        self.n_samples_ = int(X.shape[0])
        # Imported here: scikit-learn takes seconds to import and most commands never fit a model.
        from sklearn.ensemble import IsolationForest

        self.forest_ = IsolationForest(
            n_estimators=self.n_estimators,
            max_samples=min(self.max_samples, self.n_samples_),
            random_state=self.random_state,
        ).fit(self._transform(X))
        self.median_ = np.median(X, axis=0)
        self.mad_ = np.median(np.abs(X - self.median_), axis=0)
        self.max_ = X.max(axis=0)
        floor = (
            np.zeros(X.shape[1])
            if self.scale_floor is None
            else np.asarray(self.scale_floor, dtype=np.float64)
        )
        # 1.4826 MAD estimates the standard deviation of normal data; the floor keeps a
        # feature that never varies (MAD 0) from making any change infinitely unusual.
        self.scale_ = np.maximum(1.4826 * self.mad_, floor)
        return self

    def score_samples(self, X: FloatArray) -> FloatArray:
        """Anomaly score per row in 0..1, higher = more anomalous; read-only."""
        return np.asarray(-self.forest_.score_samples(self._transform(X)), dtype=np.float64)

    def robust_z(self, X: FloatArray) -> FloatArray:
        """Per feature ``(x - median) / max(1.4826 MAD, floor)`` against the fitted rows; read-only."""
        scale = np.where(self.scale_ > 0, self.scale_, 1.0)
        return np.asarray((np.asarray(X, dtype=np.float64) - self.median_) / scale, dtype=np.float64)


def _fmt(v: float) -> str:
    return f"{v:.0f}" if float(v).is_integer() else f"{v:.2f}"


class UserDayAnomaly(BehaviourDetector):
    """An account's day of authentication unlike the population's days and its own (T1078).

    Per user-day (day on the ``timezone`` clock; accounts with a successful logon that day)
    DuckDB computes successful logons, failed authentications, failure ratio, distinct
    sources, hosts and logon types, logons at night (``night_start`` to ``night_end``),
    Kerberos tickets with RC4 (0x17) and explicit-credential logons; only that matrix comes
    to numpy. Days are scored in blocks of ``refit_days`` (counted from
    1970-01-01), each by a :class:`UserDayForest` (seeded by ``seed``) fit on the user-days of
    the ``train_days`` before the block, never on the block itself or later. A block is not
    judged until that training set holds ``min_train_rows`` user-days over
    ``min_train_days`` days.

    A user-day is a finding when some feature is unusual, ``min_z`` robust z-scores above the
    population's median and, if the account has ``min_own_days`` earlier days within
    ``train_days``, above the median of its own days too (a legacy RC4 account is not news
    every day; the own baseline is read from the same matrix, only for such candidates); and
    the forest agrees, anomaly ``>= min_anomaly``, or that feature lies beyond every training
    value, where a forest cannot see (such findings score at least ``min_anomaly``). One of the
    unusual features must be other than ``supporting_features`` (night logons by default: a
    traveller's whole day moves into the night of the configured clock). Reasons name those
    features with both baselines. Score: the forest's anomaly, 0..1, higher = more suspicious.
    """

    id: ClassVar[str] = "user_day_anomaly"
    phrase: ClassVar[str] = "an unusual user-day"
    title: ClassVar[str] = "Unusual day of authentication for an account"
    tactics: ClassVar[tuple[str, ...]] = ("TA0001", "TA0006")
    techniques: ClassVar[tuple[str, ...]] = ("T1078",)
    severity: ClassVar[str] = "low"
    defaults: ClassVar[dict[str, Any]] = {
        "n_estimators": 100,
        "max_samples": 256,
        "seed": 0,
        "refit_days": 7,
        "train_days": 90,
        "min_train_rows": 100,
        "min_train_days": 14,
        "min_own_days": 3,
        "min_anomaly": 0.55,
        "min_z": 4.0,
        "max_reasons": 3,
        # Features that support a finding but never make one alone: night is read on one clock
        # for everyone, and travel or another time zone moves a person's whole day into it.
        "supporting_features": ["night_logons"],
        "night_start": 22,
        "night_end": 6,
        "timezone": "UTC",
        "ignore_users": IGNORE_USERS,
    }

    def model(self) -> UserDayForest:
        """A fresh, unfitted model with this detector's parameters."""
        p = self.params
        return UserDayForest(
            n_estimators=int(p["n_estimators"]),
            max_samples=int(p["max_samples"]),
            random_state=int(p["seed"]),
            scale_floor=FEATURE_FLOORS,
            log_features=COUNT_FEATURES,
        )

    def user_days(self, con: Db) -> dict[str, Any]:
        """The per-user-day feature matrix, computed in DuckDB, as numpy columns."""
        p = self.params
        params = {
            **_base_params(p),
            "night_start": int(p["night_start"]) % 24,
            "night_end": int(p["night_end"]) % 24,
        }
        return as_engine(con).columns(USER_DAY_SQL, params)

    def score(self, con: Db) -> Iterable[Finding]:
        """One finding per unusual user-day; fits one model per block, stores nothing."""
        p = self.params
        cols = self.user_days(con)
        if len(cols["u"]) == 0:
            return
        X = np.column_stack([np.asarray(cols[f], dtype=np.float64) for f in FEATURE_NAMES])
        days = np.asarray(cols["day"]).astype("datetime64[D]").astype(np.int64)
        own = _OwnBaselines(np.asarray(cols["u"]), days, X, int(p["train_days"]))
        refit, min_z, min_anomaly = int(p["refit_days"]), float(p["min_z"]), float(p["min_anomaly"])
        min_own = int(p["min_own_days"])
        leading = ~np.isin(np.asarray(FEATURE_NAMES), [str(f) for f in p["supporting_features"]])
        flagged: list[tuple[int, float, FloatArray, UserDayForest, int, _Own]] = []
        for b in np.unique(days // refit):
            start = int(b) * refit
            train = (days < start) & (days >= start - int(p["train_days"]))
            if train.sum() < int(p["min_train_rows"]) or len(np.unique(days[train])) < int(
                p["min_train_days"]
            ):
                continue  # not enough history before this block: no judgement
            model = self.model().fit(X[train])
            rows = np.flatnonzero(days // refit == b)
            for row, s, zi in zip(rows, model.score_samples(X[rows]), model.robust_z(X[rows]), strict=True):
                strong = zi >= min_z
                # The forest weighs combinations; a value beyond all it was fit on it cannot see.
                if not strong.any() or not (s >= min_anomaly or (strong & (X[row] > model.max_)).any()):
                    continue
                mine = own.of(int(row))
                # Unusual for everyone, and for this account too when it has a history.
                unusual = strong & ((mine.days < min_own) | (mine.z >= min_z))
                if (unusual & leading).any() and (
                    s >= min_anomaly or (unusual & (X[row] > model.max_)).any()
                ):
                    flagged.append((int(row), float(s), zi, model, start, mine))
        if not flagged:
            return
        users = [str(cols["u"][i]) for i, *_ in flagged]
        day_names = [str(np.datetime64(int(days[i]), "D")) for i, *_ in flagged]
        evidence = {
            (r["u"], str(r["day"])): r["eids"]
            for r in _rows(
                con,
                USER_DAY_EVENTS_SQL,
                {
                    **_base_params(p),
                    "keys": [f"{u}|{d}" for u, d in zip(users, day_names, strict=True)],
                },
            )
        }
        for (i, s, zi, model, start, mine), u, day in zip(flagged, users, day_names, strict=True):
            since = np.datetime64(
                int(days[(days < start) & (days >= start - int(p["train_days"]))].min()), "D"
            )
            reasons = [
                f"'{u}' on {day}: isolation-forest anomaly {s:.2f} (about 0.5 is ordinary) against "
                f"{model.n_samples_:,} user-days from {since} to {np.datetime64(start - 1, 'D')}"
            ]
            unusual = (zi >= min_z) & ((mine.days < min_own) | (mine.z >= min_z))
            for j in [j for j in np.argsort(-zi, kind="stable") if unusual[j]][: int(p["max_reasons"])]:
                label = USER_DAY_FEATURES[j][1]
                beyond = (
                    f", above every training day (max {_fmt(model.max_[j])})"
                    if X[i, j] > model.max_[j]
                    else ""
                )
                own_text = (
                    f"; '{u}' own median {_fmt(mine.median[j])} (MAD {_fmt(mine.mad[j])}) "
                    f"over {plural(mine.days, 'earlier day')}"
                    if mine.days >= min_own
                    else f"; '{u}' has {plural(mine.days, 'earlier day')}, too few for an own baseline"
                )
                reasons.append(
                    f"{label} {_fmt(X[i, j])} vs median {_fmt(model.median_[j])} "
                    f"(MAD {_fmt(model.mad_[j])}), robust z {zi[j]:.1f}{beyond}{own_text}"
                )
            yield Finding(
                # A value beyond the training range scores at least the threshold, see above.
                score=min(max(s, min_anomaly), 1.0),
                entities={"user": u, "day": day},
                first_seen=cols["first"][i].astype("datetime64[us]").astype(datetime),
                last_seen=cols["last"][i].astype("datetime64[us]").astype(datetime),
                event_ids=list(evidence.get((u, day), [])),
                reasons=reasons,
                extra={
                    "anomaly": s,
                    "features": {f: float(X[i, j]) for j, f in enumerate(FEATURE_NAMES)},
                    "robust_z": {f: float(zi[j]) for j, f in enumerate(FEATURE_NAMES)},
                    "own_z": {f: float(mine.z[j]) for j, f in enumerate(FEATURE_NAMES)},
                },
            )


@dataclass(frozen=True)
class _Own:
    """One account's baseline before one of its days: how many days, median, MAD, robust z."""

    days: int
    median: FloatArray
    mad: FloatArray
    z: FloatArray


class _OwnBaselines:
    """Each account's own earlier days within ``train_days``, read from the user-day matrix.

    Only asked for the few user-days the population already finds unusual, so it stays cheap.
    """

    def __init__(
        self, users: npt.NDArray[Any], days: npt.NDArray[np.int64], X: FloatArray, train_days: int
    ) -> None:
        self.days, self.X, self.train_days = days, X, train_days
        _, inverse = np.unique(users, return_inverse=True)
        order = np.argsort(inverse, kind="stable")
        self.rows_of = np.split(order, np.cumsum(np.bincount(inverse))[:-1])
        self.user_of = inverse

    def of(self, row: int) -> _Own:
        rows = self.rows_of[int(self.user_of[row])]
        d = self.days[row]
        before = rows[(self.days[rows] < d) & (self.days[rows] >= d - self.train_days)]
        width = self.X.shape[1]
        if len(before) == 0:
            zero = np.zeros(width)
            return _Own(0, zero, zero, zero)
        median = np.median(self.X[before], axis=0)
        mad = np.median(np.abs(self.X[before] - median), axis=0)
        z = (self.X[row] - median) / np.maximum(1.4826 * mad, np.asarray(FEATURE_FLOORS))
        return _Own(len(before), median, mad, z)
