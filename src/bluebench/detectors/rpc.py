"""RPC over SMB named pipes: coercion, remote SAM and registry, DPAPI keys (T1187, T1003, T1555), and Zerologon (T1210).

A remote RPC call first opens a named pipe on the target's IPC$ share, and Windows logs that
as 5145 (detailed file share auditing) with the pipe's name and the caller's address. The
pipe says which interface: ``efsrpc`` and ``lsarpc`` (PetitPotam) or ``spoolss``
(PrinterBug) make a server authenticate to the attacker, ``winreg`` with ``samr`` and
``svcctl`` is a remote SAM and secrets dump, ``protected_storage`` hands out DPAPI keys.
Many of these pipes are everyday traffic somewhere (a print server serves ``spoolss`` to
everyone, a domain controller ``samr`` and ``lsarpc``): a pipe that a host serves to many
accounts, or that an account opens from one place every week, is routine there.

Zerologon (CVE-2020-1472) resets a domain controller's own computer password through the
``netlogon`` pipe without authenticating: Windows logs the change (4742) as made by
ANONYMOUS LOGON, next to anonymous NTLM logons from the attacker, who then logs on as the
domain controller to copy the domain's secrets and later puts a password back.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, ClassVar

from bluebench.detectors.base import Detector, Finding, plural
from bluebench.detectors.winsql import combine, ed, grouped, names, severity_for, uniq, when
from bluebench.engines import Db

# pipe: (weight of a first, unserved use; technique; what it is). Lower case, without '\pipe\'.
PIPES: dict[str, tuple[float, str, str]] = {
    "efsrpc": (
        0.7,
        "T1187",
        "EFS RPC, the interface PetitPotam uses to make a server authenticate to the caller",
    ),
    "spoolss": (
        0.5,
        "T1187",
        "the print spooler, which PrinterBug/SpoolSample uses to make a server authenticate",
    ),
    "protected_storage": (
        0.7,
        "T1555",
        "DPAPI's backup-key interface: domain backup keys decrypt every user's secrets",
    ),
    "winreg": (0.45, "T1012", "the remote registry, read by secretsdump for the SAM and LSA secrets"),
    "samr": (0.15, "T1087.002", "the SAM interface (account and group lists, password resets)"),
    "lsarpc": (
        0.15,
        "T1087.002",
        "the LSA interface (SID lookups, policy; PetitPotam also reaches EFS through it)",
    ),
    "lsass": (0.15, "T1087.002", "the LSA interface under its other name"),
    "netlogon": (0.15, "T1210", "the Netlogon interface (Zerologon's way in)"),
    "svcctl": (0.1, "T1569.002", "the service control manager"),
    "atsvc": (0.1, "T1053.005", "the task scheduler"),
    "srvsvc": (0.0, "T1135", "the server service (share and session lists)"),
    "wkssvc": (0.0, "T1016", "the workstation service"),
}
# Opened by ANONYMOUS LOGON, these pipes are coercion or Zerologon rather than a lookup.
ANONYMOUS_WEIGHT = {"lsarpc": 0.7, "lsass": 0.7, "efsrpc": 0.75, "netlogon": 0.6, "samr": 0.4, "spoolss": 0.6}
# Pipes only reported next to another one (their weight supports a finding, never makes one).
SUPPORTING = ("samr", "lsarpc", "lsass", "netlogon", "svcctl", "atsvc", "srvsvc", "wkssvc")
# Pipes Windows and common software open remotely every day; others are unknown (custom
# pipes of remote-execution tools and implants).
KNOWN_PIPES = (
    *PIPES, "browser", "netdfs", "ntsvcs", "eventlog", "lsm_api_service", "hydralspipe", "termsrv_api_service",
    "msftewds", "sql\\query", "initshutdown", "epmapper", "dnsserver", "wmi", "tapsrv", "trkwks", "w32time",
)  # fmt: skip

# The pipe's name as 5145 gives it ('spoolss', '\\PIPE\\spoolss'), lower case, without the prefix.
# Pipes of remote-execution services (PsExec and clones): admin_share_access reports those.
EXEC_PIPE_PREFIXES = ("psexesvc", "remcom", "paexec", "csexec")
_PIPE = f"""regexp_replace(lower({ed("RelativeTargetName")}), '^\\\\?(pipe\\\\)?', '')"""
# Named pipes opened on IPC$ from another address, one row each.
PIPE_OPENS_SQL = f"""
    SELECT "@timestamp" AS ts, "event.id" AS eid, lower(split_part("host.name", '.', 1)) AS hkey,
           "host.name" AS host, coalesce("user.name", {ed("SubjectUserName")}) AS account,
           "source.ip" AS src, {_PIPE} AS pipe,
           coalesce("user.name", '') = 'ANONYMOUS LOGON' OR {ed("SubjectUserSid")} = 'S-1-5-7' AS anonymous
    FROM events
    WHERE "event.code" = '5145' AND upper({ed("ShareName")}) LIKE '%\\IPC$'
      AND {ed("RelativeTargetName")} IS NOT NULL AND "@timestamp" IS NOT NULL
      AND "source.ip" IS NOT NULL AND "source.ip" NOT IN ('127.0.0.1', '::1')
      AND NOT ends_with(coalesce("user.name", ''), '$')
"""
# One row per host, account, source and burst, with what is ordinary around it (parameters:
# gap, lookback, window hours, lookback, window hours twice): how many other accounts opened
# each of the burst's pipes on this host before (within the lookback days) or within the window
# after (the day's print clients), which pipes this account opened from this source on this
# host before, and on how many hosts it opened each pipe within the window either side (the
# monitoring server reading every server's registry is one push, not one finding per server).
# Each is a join on its keys, not a subquery per burst: a domain controller serves samr to
# thousands of accounts, and pairing every burst with every open there cost tens of millions of
# rows. ``served`` counts an account once, on its first day with an open since the lookback
# began (``prev_day`` before it), when that day's first open came before the window's end:
# ranked per lookback start (``firsts``), that count is the rank of the last such open before
# the window's end, less the burst's own account.
PIPE_BURSTS_SQL = (
    grouped(PIPE_OPENS_SQL, "concat_ws('|', hkey, lower(account), src)")
    + f"""
    , opens AS ({PIPE_OPENS_SQL})
    , b AS (
        SELECT gk, grp, min(hkey) AS hkey, min(host) AS host, min(account) AS account, min(src) AS src,
               bool_or(anonymous) AS anonymous, list(DISTINCT pipe ORDER BY pipe) AS pipes,
               min(ts) AS first, max(ts) AS last, list(eid ORDER BY ts, eid) AS eids
        FROM g GROUP BY gk, grp
    )
    , burst_pipes AS (
        SELECT gk, grp, hkey, lower(account) AS acct, unnest(pipes) AS pipe,
               CAST(first AS DATE) - CAST(? AS INTEGER) AS since, first + to_hours(CAST(? AS BIGINT)) AS until
        FROM b
    )
    , opened_on_day AS (
        SELECT *, lag(day) OVER (PARTITION BY hkey, pipe, acct ORDER BY day) AS prev_day FROM (
            SELECT hkey, pipe, lower(account) AS acct, CAST(ts AS DATE) AS day, min(ts) AS first_ts
            FROM opens WHERE account IS NOT NULL GROUP BY ALL)
    )
    , firsts AS (
        -- for each lookback start of a burst, every account's first day with an open since then,
        -- numbered by that day's first open (ties alike): the accounts served before a time
        -- are then one look-up, not a pair per burst and account
        SELECT o.hkey, o.pipe, s.since, o.acct, o.first_ts,
               count(*) OVER (PARTITION BY o.hkey, o.pipe, s.since ORDER BY o.first_ts
                              RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS served_by
        FROM (SELECT DISTINCT hkey, pipe, since FROM burst_pipes) s
        JOIN opened_on_day o ON o.hkey = s.hkey AND o.pipe = s.pipe
        WHERE o.day >= s.since AND (o.prev_day IS NULL OR o.prev_day < s.since)
    )
    , served AS (
        SELECT gk, grp, map(list(pipe), list(n)) AS served FROM (
            SELECT bp.gk, bp.grp, bp.pipe, t.served_by - (own.acct IS NOT NULL)::INTEGER AS n
            FROM burst_pipes bp
            ASOF JOIN firsts t
              ON t.hkey = bp.hkey AND t.pipe = bp.pipe AND t.since = bp.since AND bp.until > t.first_ts
            LEFT JOIN firsts own
              ON own.hkey = bp.hkey AND own.pipe = bp.pipe AND own.since = bp.since AND own.acct = bp.acct
             AND own.first_ts < bp.until
            WHERE bp.acct IS NOT NULL)
        WHERE n > 0
        GROUP BY gk, grp
    )
    , known AS (
        SELECT b.gk, b.grp, list(DISTINCT o.pipe) AS known
        FROM b JOIN opens o ON o.hkey = b.hkey AND lower(o.account) = lower(b.account) AND o.src = b.src
        WHERE o.ts < b.first AND CAST(o.ts AS DATE) >= CAST(b.first AS DATE) - CAST(? AS INTEGER)
        GROUP BY b.gk, b.grp
    )
    , fleet AS (
        SELECT gk, grp, map(list(pipe), list(n)) AS fleet FROM (
            SELECT b.gk, b.grp, o.pipe, count(DISTINCT o.hkey) AS n
            FROM b JOIN opens o ON lower(o.account) = lower(b.account) AND o.src = b.src
            WHERE o.ts BETWEEN b.first - to_hours(CAST(? AS BIGINT)) AND b.first + to_hours(CAST(? AS BIGINT))
            GROUP BY ALL)
        GROUP BY gk, grp
    )
    SELECT b.*, s.served, k.known, f.fleet
    FROM b LEFT JOIN served s USING (gk, grp) LEFT JOIN known k USING (gk, grp) LEFT JOIN fleet f USING (gk, grp)
    ORDER BY first
    """
)


class NamedPipeRpc(Detector):
    """Sensitive RPC pipes opened remotely: coercion, remote SAM/registry dumps, DPAPI keys (T1187, T1003, T1555).

    Each burst of 5145 pipe opens from one account and address on one host is weighed pipe by
    pipe (``PIPES``; ANONYMOUS LOGON weighs more, ``ANONYMOUS_WEIGHT``). A pipe counts only
    when that account did not open it on that host from that source earlier within the
    ``lookback_days``, the host did not serve it to ``served_accounts`` other accounts before
    or within ``window_hours`` after (a print server's ``spoolss``, a domain controller's
    ``samr``: the day's other clients say so), and the account did not open it on
    ``fleet_hosts`` hosts within ``window_hours`` either side (monitoring reading every
    server's registry). A finding needs one counting pipe outside ``SUPPORTING``
    (the lookups every client makes), or a pipe Windows does not know (``unknown_score``:
    custom pipes of remote-execution tools). ``winreg`` together with ``samr`` or ``svcctl``
    is the remote SAM and secrets dump (``dump_score``). Score: the counting pipes' weights
    combined (``1 - prod(1 - w)``); higher = more suspicious.
    """

    # Its served/fleet subqueries give other results through the Spark translation (39 alerts
    # against DuckDB's 19 on the parity sample): not run there until that is found.
    spark_ready: ClassVar[bool] = False

    id: ClassVar[str] = "rpc_named_pipes"
    phrase: ClassVar[str] = "RPC over named pipes"
    title: ClassVar[str] = "Sensitive RPC pipe opened remotely (coercion, remote SAM, DPAPI)"
    tactics: ClassVar[tuple[str, ...]] = ("TA0006", "TA0007", "TA0008")
    techniques: ClassVar[tuple[str, ...]] = ("T1187", "T1003.002", "T1555", "T1012", "T1087.002")
    severity: ClassVar[str] = "high"
    defaults: ClassVar[dict[str, Any]] = {
        "gap_minutes": 10,
        "served_accounts": 3,  # a host this many other accounts opened a pipe on (before, or within
        "window_hours": 12,  # ... this many hours after) serves it
        "lookback_days": 28,
        "fleet_hosts": 5,  # an account opening a pipe on this many hosts within window_hours: a push
        "dump_score": 0.4,  # winreg with samr or svcctl in one burst: secretsdump's remote dump
        "unknown_score": 0.35,  # a pipe Windows does not name, new on this host
    }

    def score(self, con: Db) -> Iterable[Finding]:
        """One finding per host, account, source and burst with a counting pipe."""
        p = self.params
        lookback, hours = int(p["lookback_days"]), int(p["window_hours"])
        params = [p["gap_minutes"], lookback, hours, lookback, hours, hours]
        for r in self.rows(con, PIPE_BURSTS_SQL, params):
            finding = self._finding(r)
            if finding is not None:
                yield finding

    def _finding(self, r: dict[str, Any]) -> Finding | None:
        """Weights and reasons for one burst; None when nothing in it is new and unserved."""
        p = self.params
        served = dict(r["served"] or {})
        fleet = dict(r["fleet"] or {})
        known = set(r["known"] or [])
        busy = int(p["served_accounts"])
        pushed = [x for x in r["pipes"] if fleet.get(x, 0) >= int(p["fleet_hosts"])]
        counting = [
            x
            for x in r["pipes"]
            if x not in known
            and served.get(x, 0) < busy
            and x not in pushed
            and not x.startswith(EXEC_PIPE_PREFIXES)
        ]
        weights: list[float] = []
        techniques: list[str] = []
        reasons = [
            f"'{r['account']}' from {r['src']} opened {plural(len(r['pipes']), 'named pipe')} on {r['host']}'s "
            f"IPC$: {names(r['pipes'], 8)}"
        ]
        leading = False
        for pipe in counting:
            weight, technique, what = PIPES.get(
                pipe, (float(p["unknown_score"]), "T1021.002", "a pipe Windows does not name")
            )
            if r["anonymous"] and pipe in ANONYMOUS_WEIGHT:
                weight, technique = ANONYMOUS_WEIGHT[pipe], "T1187" if pipe != "netlogon" else "T1210"
            if weight <= 0:
                continue
            leads = pipe not in SUPPORTING or (r["anonymous"] and pipe in ANONYMOUS_WEIGHT)
            leading = leading or leads
            weights.append(weight)
            if leads:
                techniques.append(technique)
            reasons.append(f"{pipe}: {what}")
        if not leading:
            return None
        if "winreg" in r["pipes"] and {"samr", "svcctl"} & set(r["pipes"]):
            weights.append(float(p["dump_score"]))
            techniques.extend(["T1003.002", "T1003.004"])
            reasons.append(
                "the remote registry together with the SAM or service-control pipe: how secretsdump reads the "
                "SAM and LSA secrets of a host over the network"
            )
        if r["anonymous"]:
            reasons.append(
                "opened as ANONYMOUS LOGON: no credentials at all, the way coercion and Zerologon begin"
            )
        routine = [x for x in r["pipes"] if x in known]
        busy_pipes = [x for x in r["pipes"] if served.get(x, 0) >= busy and x not in known]
        if busy_pipes:
            reasons.append(
                f"{r['host']} served {names(busy_pipes)} to {busy} or more other accounts around then: not counted"
            )
        if routine:
            reasons.append(
                f"'{r['account']}' opened {names(routine)} here from {r['src']} before: not counted"
            )
        if pushed:
            reasons.append(
                f"'{r['account']}' opened {names(pushed)} on {p['fleet_hosts']} or more hosts around then: not counted"
            )
        score = combine(weights)
        return Finding(
            score=score,
            entities={"user": r["account"], "host": r["host"], "source": r["src"]},
            first_seen=r["first"],
            last_seen=r["last"],
            event_ids=r["eids"],
            reasons=reasons,
            severity=severity_for(score),
            techniques=uniq(techniques) or ["T1021.002"],
        )


_ANON = f"""("user.name" = 'ANONYMOUS LOGON' OR {ed("SubjectUserSid")} = 'S-1-5-7')"""
# Computer accounts changed by ANONYMOUS LOGON (4742), with the anonymous NTLM logons and
# netlogon pipe opens on the same host around it, the changed account's own network logons
# within a day (the attacker authenticating as the DC), and its password set again by someone.
ZEROLOGON_SQL = f"""
    WITH c AS (
        SELECT "@timestamp" AS ts, "event.id" AS eid, "host.name" AS host,
               lower(split_part("host.name", '.', 1)) AS hkey, "user.target.name" AS account
        FROM events WHERE "event.code" = '4742' AND {_ANON} AND "user.target.name" IS NOT NULL
    )
    SELECT c.*,
        (SELECT list(struct_pack(eid := x."event.id", src := x."source.ip") ORDER BY x."@timestamp")
         FROM events x WHERE x."event.code" = '4624' AND x."winlog.logon.type" = 3 AND x."user.name" = 'ANONYMOUS LOGON'
           AND lower(split_part(x."host.name", '.', 1)) = c.hkey AND x."source.ip" IS NOT NULL
           AND x."@timestamp" BETWEEN c.ts - to_minutes(CAST(? AS BIGINT)) AND c.ts + to_minutes(CAST(? AS BIGINT))
        ) AS anonymous_logons,
        (SELECT list(x."event.id") FROM events x WHERE x."event.code" = '5145'
           AND lower({ed("RelativeTargetName", "x")}) LIKE '%netlogon'
           AND lower(split_part(x."host.name", '.', 1)) = c.hkey
           AND x."@timestamp" BETWEEN c.ts - to_minutes(CAST(? AS BIGINT)) AND c.ts + to_minutes(CAST(? AS BIGINT))
        ) AS netlogon_pipes,
        (SELECT list(struct_pack(eid := x."event.id", src := x."source.ip", host := x."host.name")
                     ORDER BY x."@timestamp")
         FROM events x WHERE x."event.code" = '4624' AND x."winlog.logon.type" = 3
           AND lower(x."user.name") = lower(c.account) AND x."source.ip" IS NOT NULL
           AND x."source.ip" NOT IN ('127.0.0.1', '::1') AND {ed("AuthenticationPackageName", "x")} = 'NTLM'
           AND x."@timestamp" BETWEEN c.ts AND c.ts + INTERVAL 1 DAY
        ) AS account_logons,
        (SELECT list(struct_pack(eid := x."event.id", actor := x."user.name", ts := x."@timestamp")
                     ORDER BY x."@timestamp")
         FROM events x WHERE x."event.code" IN ('4742', '4724') AND lower(x."user.target.name") = lower(c.account)
           AND NOT (x."user.name" = 'ANONYMOUS LOGON' OR {ed("SubjectUserSid", "x")} = 'S-1-5-7')
           AND x."@timestamp" BETWEEN c.ts AND c.ts + INTERVAL 1 DAY
        ) AS restored
    FROM c ORDER BY c.ts, c.eid
"""


class Zerologon(Detector):
    """A computer account changed by ANONYMOUS LOGON next to anonymous NTLM logons: Zerologon (T1210).

    The change (4742 by ANONYMOUS LOGON) is the exploit's password reset. The score rises
    when the account is the logging host's own (a domain controller resetting itself is
    Zerologon's target), when anonymous NTLM logons or netlogon pipe opens came to that host
    within ``window_minutes`` (their addresses are the attacker's), and when the account then
    logged on over the network with NTLM within a day (the attacker using the emptied
    password to replicate the domain's secrets, T1003.006). A password set on it again later
    is named (the attacker restoring it, or the admins). Higher = more suspicious.
    """

    id: ClassVar[str] = "zerologon"
    phrase: ClassVar[str] = "Zerologon"
    title: ClassVar[str] = "Computer password reset by ANONYMOUS LOGON (Zerologon)"
    tactics: ClassVar[tuple[str, ...]] = ("TA0008", "TA0004", "TA0006")
    techniques: ClassVar[tuple[str, ...]] = ("T1210",)
    severity: ClassVar[str] = "critical"
    defaults: ClassVar[dict[str, Any]] = {
        "window_minutes": 10,
        "anonymous_change_score": 0.6,  # a computer account changed by ANONYMOUS LOGON
        "own_account_score": 0.3,  # ... the logging host's own account (a DC resetting itself)
        "anonymous_logon_score": 0.2,  # anonymous NTLM logons or netlogon pipes on that host around it
        "account_logon_score": 0.3,  # the account logged on over the network with NTLM within a day
    }

    def score(self, con: Db) -> Iterable[Finding]:
        """One finding per anonymous change of a computer account."""
        p = self.params
        w = p["window_minutes"]
        for r in self.rows(con, ZEROLOGON_SQL, [w, w, w, w]):
            yield self._finding(r)

    def _finding(self, r: dict[str, Any]) -> Finding:
        """Scores and reasons for one anonymous change, with what came around and after it."""
        p = self.params
        account = str(r["account"])
        scores = [float(p["anonymous_change_score"])]
        techniques = ["T1210"]
        eids = [r["eid"]]
        reasons = [
            f"computer account '{account}' was changed by ANONYMOUS LOGON on {r['host']} at {when(r['ts'])}: an "
            "unauthenticated caller set a computer's password, what the Zerologon exploit (CVE-2020-1472) does"
        ]
        if account.rstrip("$").lower() == r["hkey"]:
            scores.append(float(p["own_account_score"]))
            reasons.append(
                f"'{account}' is {r['host']}'s own account: a domain controller's password was emptied"
            )
        anonymous = r["anonymous_logons"] or []
        pipes = r["netlogon_pipes"] or []
        if anonymous or pipes:
            scores.append(float(p["anonymous_logon_score"]))
            srcs = uniq(x["src"] for x in anonymous)
            eids.extend(x["eid"] for x in anonymous)
            eids.extend(pipes)
            reasons.append(
                f"{plural(len(anonymous), 'anonymous NTLM logon')}"
                + (f" from {names(srcs)}" if srcs else "")
                + (f" and {plural(len(pipes), 'netlogon pipe open')}" if pipes else "")
                + f" on {r['host']} within {p['window_minutes']} min"
            )
        logons = r["account_logons"] or []
        if logons:
            scores.append(float(p["account_logon_score"]))
            techniques.append("T1003.006")
            eids.extend(x["eid"] for x in logons)
            reasons.append(
                f"then '{account}' logged on over the network with NTLM from {names(uniq(x['src'] for x in logons))}: "
                "someone used the emptied password, as secretsdump does to replicate the domain's secrets"
            )
        restored = r["restored"] or []
        if restored:
            eids.extend(x["eid"] for x in restored)
            reasons.append(
                f"its password was set again by {names(uniq(x['actor'] for x in restored))} at "
                f"{when(restored[0]['ts'])} (the attacker restoring it over RPC, or the admins)"
            )
        score = combine(scores)
        return Finding(
            score=score,
            entities={
                "host": r["host"],
                "target": account,
                "source": (anonymous[0]["src"] if anonymous else ""),
            },
            first_seen=r["ts"],
            last_seen=max([r["ts"], *(x["ts"] for x in restored)]),
            event_ids=uniq(eids),
            reasons=reasons,
            severity="critical" if score >= 0.8 else severity_for(score),
            techniques=uniq(techniques),
        )
