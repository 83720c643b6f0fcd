"""Behaviour detectors on synthetic office histories with one planted anomaly each.

Each detector must fire on the plant with its baseline numbers in the reasons, stay quiet on
the regular pattern, refuse to judge without a baseline, give the same result when rerun or
when the data arrives in parts, and not change its judgement when later data arrives.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import duckdb
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bluebench.detectors import DETECTORS, build_detectors, load_config
from bluebench.detectors.behaviour import (
    IGNORE_USERS,
    USER_KEY_SQL,
    NewLogonType,
    NewSourceOrHost,
    UnusualLogonHour,
    _hour_ranges,
    user_keys,
)
from bluebench.detectors.user_day import FEATURE_NAMES, UserDayAnomaly, UserDayForest
from bluebench.events.workspace import Workspace
from bluebench.schema import Alert

if TYPE_CHECKING:
    from conftest import EventRows

START = datetime(2024, 1, 1)  # a Monday

MakeWorkspace = Callable[["EventRows"], Workspace]


def office_history(
    rows: EventRows,
    user: str,
    days: int,
    *,
    start: datetime = START,
    host: str | None = None,
    src: str | None = None,
    servers: tuple[str, ...] = ("fs1",),
    per_day: int = 4,
    hours: tuple[int, int] = (8, 17),
    roaming: bool = False,
) -> None:
    """Weekdays of one office worker: a morning interactive logon, then network logons to servers."""
    rng = random.Random(user)
    host = host or f"ws-{user}"
    src = src or f"10.0.{sum(map(ord, user)) % 250}.{len(user)}"
    for d in range(days):
        day = start + timedelta(days=d)
        if day.weekday() >= 5:
            continue
        addr = f"172.16.{d % 250}.{rng.randrange(2, 250)}" if roaming else src
        rows.logon(
            day.replace(hour=hours[0], minute=rng.randrange(60)),
            user,
            host=host,
            src="127.0.0.1",
            logon_type=2,
        )
        rows.add(
            day.replace(hour=hours[0], minute=59),
            action="kerberos-tgt-request",
            outcome="success",
            user=user,
            host="dc1",
            src=addr,
            data={"TicketEncryptionType": "0x12"},
        )
        for _ in range(per_day):
            hour = rng.randint(hours[0], hours[1])
            rows.logon(
                day.replace(hour=hour, minute=rng.randrange(60), second=rng.randrange(60)),
                user,
                host=rng.choice(servers),
                src=addr,
                logon_type=3,
            )


def run(ws: Workspace, cls: type, **params: object) -> list[Alert]:
    return cls(**params).detect(ws.con)


def summary(alerts: list[Alert]) -> list[tuple[object, ...]]:
    return [(a.id, a.score, tuple(a.reasons), tuple(a.event_ids)) for a in alerts]


# ------------------------------------------------------------- unusual hour ----


def test_unusual_hour_fires_with_the_users_own_baseline(
    event_rows: EventRows, make_workspace: MakeWorkspace
) -> None:
    rows = event_rows
    office_history(rows, "alice", 60)
    night = rows.logon("2024-03-01 03:12:00", "alice", host="fs1", src="10.9.9.9", logon_type=3)
    ws = make_workspace(rows)
    alerts = run(ws, UnusualLogonHour)
    assert len(alerts) == 1
    a = alerts[0]
    n, days = ws.con.execute(
        """SELECT count(*), count(DISTINCT CAST("@timestamp" AS DATE)) FROM events
           WHERE "event.action" = 'logon' AND "@timestamp" < '2024-03-01'"""
    ).fetchall()[0]
    assert a.event_ids == [night] and a.entities == {"user": "alice", "host": "fs1", "source": "10.9.9.9"}
    assert a.reasons[0] == "logon at 03:12 UTC on 2024-03-01 to fs1 from 10.9.9.9"
    assert a.reasons[1] == (
        f"'alice' logged on between 01:00 and 05:59 on 0 of {days} earlier days ({n} logons since "
        f"2024-01-01); smoothed chance of that UTC hour on a day: {1.25 / (days + 6):.1%}"
    )
    assert a.reasons[2] == "usual hours (used on 10% of days or more): 08-17 UTC"
    assert 0 < a.score < 1 and a.severity == "low" and a.techniques == ["T1078"]


def test_unusual_hour_from_usual_sources_is_a_shifted_day_not_an_intruder(
    event_rows: EventRows, make_workspace: MakeWorkspace
) -> None:
    rows = event_rows
    office_history(rows, "alice", 60, src="10.0.0.5")
    rows.logon("2024-03-01 03:12:00", "alice", host="fs1", src="10.0.0.5", logon_type=3)  # late at her desk
    assert run(make_workspace(rows), UnusualLogonHour) == []
    assert len(run(make_workspace(rows), UnusualLogonHour, require_new_source=False)) == 1


def test_unusual_hour_is_quiet_on_the_regular_pattern(
    event_rows: EventRows, make_workspace: MakeWorkspace
) -> None:
    rows = event_rows
    for user in ("alice", "bob", "carol"):
        office_history(rows, user, 90)
    assert run(make_workspace(rows), UnusualLogonHour) == []


def test_unusual_hour_does_not_judge_without_baseline(
    event_rows: EventRows, make_workspace: MakeWorkspace
) -> None:
    rows = event_rows
    office_history(rows, "alice", 5)  # 4 weekdays: below min_days and min_logons
    rows.logon("2024-01-06 03:12:00", "alice", host="fs1", src="10.9.9.9", logon_type=3)
    assert run(make_workspace(rows), UnusualLogonHour) == []


def test_unusual_hour_groups_a_burst_and_reads_the_configured_zone(
    event_rows: EventRows, make_workspace: MakeWorkspace
) -> None:
    rows = event_rows
    office_history(rows, "alice", 60, hours=(7, 16))  # 08-17 in Berlin in winter
    ids = [rows.logon(f"2024-02-29 02:{m:02d}:00", "alice", host="fs1", src="10.9.9.9") for m in (5, 20, 50)]
    ws = make_workspace(rows)
    alerts = run(ws, UnusualLogonHour, timezone="Europe/Berlin")
    assert len(alerts) == 1 and alerts[0].event_ids == ids
    assert alerts[0].reasons[0].startswith("3 logons between 03:05 and 03:50 Europe/Berlin on 2024-02-29")
    assert alerts[0].reasons[2] == "usual hours (used on 10% of days or more): 08-17 Europe/Berlin"


def test_hour_ranges_wrap_past_midnight() -> None:
    hist = [0] * 24
    for h in (22, 23, 0, 1, 9):
        hist[h] = 10
    hist[12] = 1  # used on 1 of 20 days: not usual
    assert _hour_ranges(hist, 20) == "09, 22-01"
    assert _hour_ranges([0] * 24, 0) == "none"


# ----------------------------------------------------------------- novelty ----


def test_new_source_and_new_hosts_are_one_finding_with_the_baseline(
    event_rows: EventRows, make_workspace: MakeWorkspace
) -> None:
    rows = event_rows
    office_history(rows, "alice", 40, src="10.0.0.5")
    first = rows.logon("2024-02-12 10:00:00", "alice", host="dc1", src="10.9.9.9", logon_type=3)
    second = rows.logon("2024-02-12 10:05:00", "alice", host="sql1", src="10.9.9.9", logon_type=3)
    ws = make_workspace(rows)
    alerts = run(ws, NewSourceOrHost)
    assert len(alerts) == 1
    a = alerts[0]
    n, days = ws.con.execute(
        """SELECT count(*), count(DISTINCT CAST("@timestamp" AS DATE)) FROM events
           WHERE "event.action" = 'logon' AND "source.ip" = '10.0.0.5'"""
    ).fetchall()[0]
    assert a.event_ids == [first, second]
    assert a.reasons[0] == "'alice' logged on with 1 new source (10.9.9.9) and 2 new hosts (dc1, sql1)"
    settled = days - 7
    # alice is the whole population here: its rate (with one for today) is the prior worth 20 days
    r0 = 1 / (settled + 1)
    assert a.reasons[1] == (
        f"first logon of 'alice' with source address 10.9.9.9 at 2024-02-12 10:00; before it, {n} logons on "
        f"{days} days since 2024-01-01 used 1 source address: 10.0.0.5 ({n}); after the first 7 days a new "
        f"one appeared on 0 of {settled} days (all accounts: {r0:.1%} of days), so the chance of one today "
        f"was {(20 * r0 + 1) / (settled + 21):.1%}"
    )
    assert "with host dc1" in a.reasons[2] and f"used 2 hosts: fs1 ({n}), ws-alice ({days})" in a.reasons[2]
    assert "with host sql1" in a.reasons[3]
    assert a.severity == "medium" and a.techniques == ["T1078", "T1021"]
    assert a.entities["source"] == "10.9.9.9" and a.entities["host"] == "dc1"


def test_new_source_is_quiet_for_a_roaming_account_and_regular_users(
    event_rows: EventRows, make_workspace: MakeWorkspace
) -> None:
    rows = event_rows
    office_history(rows, "alice", 60, src="10.0.0.5")
    office_history(rows, "bob", 60, roaming=True)  # a new address every day: no surprise
    rows.logon("2024-03-04 10:00:00", "bob", host="fs1", src="10.9.9.9", logon_type=3)
    assert run(make_workspace(rows), NewSourceOrHost) == []


def test_shared_infrastructure_is_neither_new_nor_counted(
    event_rows: EventRows, make_workspace: MakeWorkspace
) -> None:
    rows = event_rows
    for i in range(12):  # twelve office workers who also use webmail through one reverse proxy ...
        office_history(rows, f"user{i:02d}", 60, src=f"10.0.0.{i + 10}")
        for d in range(0, 60, 3):
            rows.logon(START + timedelta(days=d, hours=19), f"user{i:02d}", host="mail", src="10.20.1.5")
    for d in range(60):  # ... and the VPN pool hands a new address to someone most days
        rows.logon(
            START + timedelta(days=d, hours=20), f"user{d % 12:02d}", host="fs1", src=f"10.200.{d}.{d + 7}"
        )
    # carol's first VPN logon from a fresh pool address and first webmail logon: both ordinary
    office_history(rows, "carol", 60, src="10.0.0.99")
    rows.logon("2024-03-01 11:00:00", "carol", host="fs1", src="10.200.77.3", logon_type=3)
    rows.logon("2024-03-01 11:05:00", "carol", host="mail", src="10.20.1.5", logon_type=3)
    # dave's logon from an address outside every pool is new
    office_history(rows, "dave", 60, src="10.0.0.98")
    outside = rows.logon("2024-03-01 11:00:00", "dave", host="fs1", src="198.51.100.4", logon_type=3)
    alerts = run(make_workspace(rows), NewSourceOrHost)
    assert [(a.entities["user"], a.event_ids) for a in alerts] == [("dave", [outside])]
    assert alerts[0].reasons[0] == "'dave' logged on with 1 new source (198.51.100.4)"
    # counting the proxy and the pool as sources makes carol's first uses news again
    loose = run(make_workspace(rows), NewSourceOrHost, shared_accounts=100)
    assert "carol" in {a.entities["user"] for a in loose}


def test_a_short_history_borrows_its_peers_habits(
    event_rows: EventRows, make_workspace: MakeWorkspace
) -> None:
    rows = event_rows
    for i in range(10):
        office_history(rows, f"user{i:02d}", 60)
    office_history(rows, "erin", 30, start=START + timedelta(days=30))  # joined a month later
    rows.logon("2024-03-01 10:00:00", "erin", host="fs1", src="198.51.100.9", logon_type=3)
    # erin's own 13 settled days alone say 1 in 14; her peers' steady habits say much less
    assert [a.entities["user"] for a in run(make_workspace(rows), NewSourceOrHost)] == ["erin"]
    assert run(make_workspace(rows), NewSourceOrHost, prior_days=0) == []


def test_new_source_does_not_judge_without_baseline(
    event_rows: EventRows, make_workspace: MakeWorkspace
) -> None:
    rows = event_rows
    office_history(rows, "alice", 5)
    rows.logon("2024-01-05 10:00:00", "alice", host="dc1", src="10.9.9.9", logon_type=3)
    assert run(make_workspace(rows), NewSourceOrHost) == []


def test_first_rdp_logon_is_medium_and_names_the_usual_types(
    event_rows: EventRows, make_workspace: MakeWorkspace
) -> None:
    rows = event_rows
    office_history(rows, "alice", 40)
    rdp = rows.logon("2024-02-12 10:00:00", "alice", host="srv1", src="10.9.9.9", logon_type=10)
    ws = make_workspace(rows)
    alerts = run(ws, NewLogonType)
    assert [a.event_ids for a in alerts] == [[rdp]]
    a = alerts[0]
    counts = dict(
        ws.con.execute(
            """SELECT "winlog.logon.type", count(*) FROM events WHERE "event.action" = 'logon'
               AND "@timestamp" < '2024-02-12 10:00:00' GROUP BY 1"""
        ).fetchall()
    )
    assert (
        a.reasons[0] == "first logon of type 10 (remote interactive, RDP) for 'alice' on srv1 from 10.9.9.9"
    )
    assert f"used 2 logon types: 3 (network) ({counts[3]}), 2 (interactive) ({counts[2]})" in a.reasons[1]
    assert "after the first 7 days a new one appeared on 0 of " in a.reasons[1]
    assert a.severity == "medium" and a.techniques == ["T1021.001", "T1078"]
    assert a.entities["logon_type"] == "10"


def test_new_logon_type_quiet_on_routine_and_without_baseline(
    event_rows: EventRows, make_workspace: MakeWorkspace
) -> None:
    rows = event_rows
    office_history(rows, "alice", 60)
    office_history(rows, "bob", 3)
    rows.logon("2024-01-03 10:00:00", "bob", host="srv1", src="10.9.9.9", logon_type=10)
    assert run(make_workspace(rows), NewLogonType) == []


# ------------------------------------------------------------ user-day model ----


def population(rows: EventRows, days: int = 42, users: int = 30) -> None:
    for i in range(users):
        office_history(
            rows, f"user{i:02d}", days, per_day=3 + i % 4, servers=("fs1", "fs2", "mail")[: 1 + i % 3]
        )


def plant_takeover(rows: EventRows, day: datetime) -> list[str]:
    """A day of 'mallory' (an ordinary user so far) spreading over 14 sources with RC4 tickets."""
    ids = []
    for k in range(14):
        t = day.replace(hour=10) + timedelta(minutes=3 * k)
        ids.append(rows.failure(t, "mallory", host="fs1", src=f"10.66.0.{k + 1}", logon_type=3))
        ids.append(
            rows.logon(t + timedelta(seconds=20), "mallory", host="fs1", src=f"10.66.0.{k + 1}", logon_type=3)
        )
        ids.append(
            rows.add(
                t + timedelta(seconds=10),
                action="kerberos-service-ticket",
                outcome="success",
                user="mallory",
                host="dc1",
                src=f"10.66.0.{k + 1}",
                data={"TicketEncryptionType": "0x17"},
            )
        )
    return ids


def test_user_day_model_names_the_unusual_features(
    event_rows: EventRows, make_workspace: MakeWorkspace
) -> None:
    rows = event_rows
    population(rows)
    office_history(rows, "mallory", 42)
    planted = plant_takeover(rows, datetime(2024, 2, 7))
    ws = make_workspace(rows)
    alerts = run(ws, UserDayAnomaly, max_reasons=9)
    assert [a.entities for a in alerts] == [{"user": "mallory", "day": "2024-02-07"}]
    a = alerts[0]
    own_days = ws.con.execute(
        """SELECT count(DISTINCT CAST("@timestamp" AS DATE)) FROM events
           WHERE "user.name" = 'mallory' AND "@timestamp" < '2024-02-07'"""
    ).fetchall()[0][0]
    assert set(planted) <= set(a.event_ids)
    assert a.reasons[0].startswith("'mallory' on 2024-02-07: isolation-forest anomaly ")
    assert "user-days from 2024-01-01 to 2024-01-31" in a.reasons[0]
    assert a.reasons[1] == (
        "distinct sources 15 vs median 1 (MAD 0), robust z 14.0, above every training day (max 1); "
        f"'mallory' own median 1 (MAD 0) over {own_days} earlier days"
    )
    assert any(r.startswith("failed authentications 14 vs median 0 (MAD 0), robust z 4.7") for r in a.reasons)
    assert any(r.startswith("Kerberos tickets with RC4 14 vs median 0 (MAD 0)") for r in a.reasons)
    assert a.score >= 0.55


def test_user_day_model_is_quiet_on_the_population(
    event_rows: EventRows, make_workspace: MakeWorkspace
) -> None:
    rows = event_rows
    population(rows)
    assert run(make_workspace(rows), UserDayAnomaly) == []


def test_user_day_model_does_not_judge_without_history(
    event_rows: EventRows, make_workspace: MakeWorkspace
) -> None:
    rows = event_rows
    population(rows, days=10)
    plant_takeover(rows, datetime(2024, 1, 10))
    assert run(make_workspace(rows), UserDayAnomaly) == []


def test_night_logons_alone_support_but_never_make_a_finding(
    event_rows: EventRows, make_workspace: MakeWorkspace
) -> None:
    rows = event_rows
    population(rows)
    office_history(rows, "trudy", 42, src="10.0.1.5")
    for k in range(5):  # a traveller's ordinary day, eight time zones away
        rows.logon(datetime(2024, 2, 7, 1) + timedelta(minutes=40 * k), "trudy", host="fs1", src="10.0.1.5")
    assert run(make_workspace(rows), UserDayAnomaly) == []
    found = run(make_workspace(rows), UserDayAnomaly, supporting_features=[])
    assert [a.entities["user"] for a in found] == ["trudy"] and "logons at night 5" in found[0].reasons[1]


def test_user_day_model_ignores_later_data(event_rows: EventRows, make_workspace: MakeWorkspace) -> None:
    """No look-ahead: a later flood of odd days changes nothing about an earlier judgement."""
    rows = event_rows
    population(rows)
    office_history(rows, "mallory", 42)
    plant_takeover(rows, datetime(2024, 2, 7))
    early = summary(run(make_workspace(rows), UserDayAnomaly))
    for d in range(14):
        plant_takeover(rows, datetime(2024, 2, 12) + timedelta(days=d))
    later = summary(run(make_workspace(rows), UserDayAnomaly))
    assert early and later[: len(early)] == early


def test_forest_is_seeded_and_scoring_is_read_only() -> None:
    rng = np.random.default_rng(1)
    X = rng.poisson(3.0, size=(300, len(FEATURE_NAMES))).astype(float)
    outlier = X[:1] + 40
    a = UserDayForest(random_state=7).fit(X)
    b = UserDayForest(random_state=7).fit(X)
    before = (a.median_.copy(), a.scale_.copy())
    s1 = a.score_samples(np.vstack([X, outlier]))
    s2 = a.score_samples(np.vstack([X, outlier]))
    np.testing.assert_array_equal(s1, s2)
    np.testing.assert_array_equal(s1, b.score_samples(np.vstack([X, outlier])))
    np.testing.assert_array_equal(before[0], a.median_)
    assert ((s1 > 0) & (s1 <= 1)).all()
    assert s1[-1] == s1.max() and s1[-1] > 0.6, "higher = more anomalous"
    assert (a.robust_z(outlier) > 10).all()


# ------------------------------------------------------- all four detectors ----

BEHAVIOUR = (UnusualLogonHour, NewSourceOrHost, NewLogonType, UserDayAnomaly)


def mixed(rows: EventRows) -> None:
    population(rows, users=12)
    office_history(rows, "mallory", 42)
    plant_takeover(rows, datetime(2024, 2, 7))
    rows.logon("2024-02-08 03:12:00", "user01", host="srv9", src="10.9.9.9", logon_type=10)


@pytest.mark.parametrize("cls", BEHAVIOUR, ids=lambda c: c.id)
def test_rerun_and_arrival_in_parts_give_the_same_alerts(
    cls: type, event_rows: EventRows, make_workspace: MakeWorkspace
) -> None:
    rows = event_rows
    mixed(rows)
    whole = make_workspace(rows)
    before = whole.con.execute('SELECT count(*), sum(hash("event.id")) FROM events').fetchall()
    first = run(whole, cls)
    assert first, f"{cls.id} finds its plant"
    assert summary(run(whole, cls)) == summary(first)
    assert whole.con.execute('SELECT count(*), sum(hash("event.id")) FROM events').fetchall() == before
    # The same events stored in two parts, the later half first.
    parts = make_workspace(type(rows)())
    half = len(rows.rows) // 2
    rows.insert(parts.con, rows.rows[half:])
    rows.insert(parts.con, rows.rows[:half])
    assert summary(run(parts, cls)) == summary(first)


def test_registered_with_config_sections() -> None:
    config = load_config()
    for cls in BEHAVIOUR:
        assert DETECTORS.get(cls.id) is cls
        assert set(config[cls.id]) <= set(cls.defaults) | {"enabled", "min_score"}
    assert {d.id for d in build_detectors(config)} >= {c.id for c in BEHAVIOUR}


@pytest.mark.parametrize("cls", BEHAVIOUR, ids=lambda c: c.id)
def test_later_data_does_not_change_earlier_judgements(
    cls: type, event_rows: EventRows, make_workspace: MakeWorkspace
) -> None:
    """No look-ahead: weeks of night work and new places afterwards leave earlier alerts as they were."""
    rows = event_rows
    mixed(rows)
    early = run(make_workspace(rows), cls)
    for i in range(12):
        office_history(rows, f"user{i:02d}", 21, start=datetime(2024, 2, 12), hours=(1, 5), src="10.99.0.1")
        plant_takeover(rows, datetime(2024, 2, 12) + timedelta(days=i))
    later = run(make_workspace(rows), cls)
    cutoff = datetime(2024, 2, 12)
    assert early and [a for a in later if a.last_seen < cutoff] == early


def test_bad_timezone_or_account_filter_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="unusual_logon_hour: bad timezone"):
        UnusualLogonHour(timezone="Mars/Olympus_Mons")
    with pytest.raises(ValueError, match="user_day_anomaly: bad timezone or ignore_users"):
        UserDayAnomaly(ignore_users="((")


# ------------------------------------------------------------- account keys ----

_NAMES = st.one_of(
    st.none(),
    st.sampled_from(
        ["alice", "Alice@CORP.EXAMPLE.COM", "CORP\\alice", "WS1$", "SYSTEM", "DWM-1", "a@b@c", ""]
    ),
    st.text(alphabet="aB@\\$-. 1", max_size=8),
)


@given(names=st.lists(_NAMES, max_size=30))
@settings(max_examples=60, deadline=None)
def test_keys_once_per_name_are_the_keys_of_each_event(names: list[str | None]) -> None:
    # user_keys works a key out per distinct name; joined back it must key and filter each
    # event exactly as the expression on every row did.
    con = duckdb.connect()
    con.execute('CREATE TABLE events ("user.name" VARCHAR, n INTEGER)')
    for i, name in enumerate(names):
        con.execute("INSERT INTO events VALUES (?, ?)", [name, i])
    params = {"ignore_users": IGNORE_USERS}
    per_event = con.execute(
        f"""SELECT n, {USER_KEY_SQL} FROM events WHERE "user.name" IS NOT NULL
            AND NOT regexp_matches({USER_KEY_SQL}, $ignore_users) ORDER BY n""",
        params,
    ).fetchall()
    joined = con.execute(
        f"""SELECT n, k.u FROM events JOIN {user_keys("TRUE")} k ON k.name = events."user.name" ORDER BY n""",
        params,
    ).fetchall()
    assert joined == per_event
