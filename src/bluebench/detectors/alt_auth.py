"""Logons with stolen hashes or keys instead of passwords (T1550.002).

Mimikatz ``sekurlsa::pth`` (and Rubeus ``/createnetonly``) start a process with new network
credentials: Windows logs a logon type 9 through the ``seclogo`` logon process. Hashes
replayed over the network show as NTLM network logons without a session key.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any, ClassVar

from bluebench.detectors.base import Detector, Finding, plural
from bluebench.detectors.winsql import (
    combine,
    ed,
    grouped,
    names,
    remote_source,
    same_person,
    severity_for,
    short_name,
    uniq,
)
from bluebench.engines import Db


def _exe(path: str | None) -> str:
    """The program's file name, lower case."""
    return re.split(r"[\\/]", path or "")[-1].lower()


# Processes with the logon session they run in (4688: TargetLogonId when it differs from the
# creator's, else SubjectLogonId; Sysmon 1: LogonId) and their parent.
SESSION_PROCESSES_SQL = f"""
    SELECT "event.id" AS eid, "host.name" AS host, "process.name" AS proc, "@timestamp" AS ts,
           coalesce({ed("ParentProcessName")}, {ed("ParentImage")}) AS parent,
           lower(CASE WHEN "event.code" = '4688'
                 THEN coalesce(nullif({ed("TargetLogonId")}, '0x0'), {ed("SubjectLogonId")})
                 ELSE {ed("LogonId")} END) AS logon_id
    FROM events WHERE "event.action" = 'process-created'
"""
# Type 9 logons through seclogo, with the processes in the new session (and their parents) and
# the programs the caller's session started just before (the caller is the 4624's subject).
NEW_CREDENTIALS_SQL = f"""
    WITH l AS (
        SELECT "@timestamp" AS ts, "event.id" AS eid, "host.name" AS host, "user.name" AS target,
               {ed("SubjectUserName")} AS subject, {ed("TargetLogonId")} AS logon_id,
               lower({ed("SubjectLogonId")}) AS caller_id, {ed("TargetOutboundUserName")} AS outbound,
               {ed("TargetOutboundDomainName")} AS outbound_domain
        FROM events
        WHERE "event.code" = '4624' AND "winlog.logon.type" = 9
          AND lower({ed("LogonProcessName")}) = 'seclogo'
          AND lower({ed("AuthenticationPackageName")}) = 'negotiate'
    ), p AS ({SESSION_PROCESSES_SQL})
    SELECT l.*,
           EXISTS (SELECT 1 FROM events e WHERE {short_name('e."user.name"')} = lower(l.outbound)
                   AND e."event.id" <> l.eid) AS outbound_known,
           (SELECT list(struct_pack(eid := p.eid, proc := p.proc, parent := p.parent, ts := p.ts) ORDER BY p.ts)
            FROM p WHERE p.host = l.host AND p.logon_id = lower(l.logon_id)
              AND p.ts BETWEEN l.ts - INTERVAL 5 SECOND AND l.ts + INTERVAL 1 HOUR) AS procs,
           (SELECT list(struct_pack(eid := p.eid, proc := p.proc, parent := p.parent, ts := p.ts) ORDER BY p.ts)
            FROM p WHERE p.host = l.host AND p.logon_id = l.caller_id
              AND p.ts BETWEEN l.ts - INTERVAL 10 MINUTE AND l.ts) AS callers
    FROM l ORDER BY l.ts, l.eid
"""


class PassTheHash(Detector):
    """New-credentials logons (type 9, seclogo) and key-less NTLM network logons (T1550.002)."""

    id: ClassVar[str] = "pass_the_hash"
    phrase: ClassVar[str] = "pass-the-hash"
    title: ClassVar[str] = "Pass-the-hash / overpass-the-hash logon"
    tactics: ClassVar[tuple[str, ...]] = ("TA0008", "TA0005")
    techniques: ClassVar[tuple[str, ...]] = ("T1550.002",)
    severity: ClassVar[str] = "high"
    defaults: ClassVar[dict[str, Any]] = {
        "gap_minutes": 30,
        "new_credentials_score": 0.7,  # logon type 9 through seclogo with Negotiate
        "other_identity_score": 0.3,  # ... whose network identity is another person's or a made-up account
        "report_own_account": False,  # ... report it when the identity is the user's own (admin) account
        "process_score": 0.3,  # ... and a process was started in that new logon session
        "tool_score": 0.3,  # ... by a program other than runas.exe (reported even for one's own account)
        "ntlm_score": 0.35,  # NTLM network logon with KeyLength 0 to a host
        "ntlm_min_hosts": 2,  # hosts one account and source must reach that way to report it
        "hosts_half": 3,
    }

    def score(self, con: Db) -> Iterable[Finding]:
        """New-credential logons one by one; NTLM key-less logons per account and source burst."""
        yield from self._new_credentials(con)
        yield from self._ntlm_network(con)

    def _new_credentials(self, con: Db) -> Iterable[Finding]:
        for r in self.rows(con, NEW_CREDENTIALS_SQL):
            finding = self._new_credentials_finding(r)
            if finding is not None:
                yield finding

    def _new_credentials_finding(self, r: dict[str, Any]) -> Finding | None:
        """One type 9 logon: who, which network identity, and the programs around it."""
        p = self.params
        scores = [float(p["new_credentials_score"])]
        who = r["target"] or "?"
        by = f" by '{r['subject']}'" if r["subject"] and r["subject"] != r["target"] else ""
        reasons = [
            f"logon type 9 (new credentials) through the seclogo logon process for '{who}'{by} on "
            f"{r['host']} (logon id {r['logon_id']}): what Mimikatz sekurlsa::pth and Rubeus "
            "/createnetonly produce"
        ]
        session = [x for x in r["procs"] or [] if x["proc"]]
        callers = [x for x in r["callers"] or [] if x["proc"]]
        # runas.exe starts its program itself; when the session's first program has another parent
        # (or the caller's session last started another program), that program asked for the
        # logon: a pass-the-hash tool, not an admin's runas
        makers = [session[0]["parent"]] if session and session[0]["parent"] else []
        makers += [callers[-1]["proc"]] if callers else []
        tools = uniq(_exe(x) for x in makers if _exe(x) != "runas.exe")
        outbound = r["outbound"]
        identity = f"{r['outbound_domain']}\\{outbound}" if r["outbound_domain"] else str(outbound)
        if outbound is None:
            reasons.append(
                "the network identity it uses is not logged (Windows 10/2016 and later log it), so "
                "confirm it was not an admin's 'runas /netonly'"
            )
        elif same_person(outbound, who):
            if not p["report_own_account"] and not tools:
                return None  # runas /netonly with one's own (admin) account
            scores = [0.2]
            reasons.append(f"its network identity {identity} is the user's own account ('runas /netonly')")
        elif r["outbound_known"]:
            scores.append(float(p["other_identity_score"]))
            reasons.append(
                f"its network identity is {identity}, another person's account: {who}'s session uses "
                "someone else's credentials or hash"
            )
        else:
            scores.append(float(p["other_identity_score"]))
            reasons.append(
                f"its network identity {identity} appears nowhere else in the logs: Rubeus /createnetonly "
                "makes up such names, and a stolen ticket is then put into the session"
            )
        if session:
            scores.append(float(p["process_score"]))
            reasons.append(
                f"{plural(len(session), 'process', 'processes')} started in that logon session: "
                f"{names(uniq(x['proc'] for x in session))}"
            )
        if tools:
            scores.append(float(p["tool_score"]))
            reasons.append(
                f"made by {names(tools)}, not by runas.exe: the program that asked for the logon holds the "
                "credentials or hash it passed"
            )
        eids = [r["eid"], *(x["eid"] for x in session), *(x["eid"] for x in callers[-1:])]
        score = combine(scores)
        return Finding(
            score=score,
            entities={"user": who, "host": r["host"]},
            first_seen=min([r["ts"], *(x["ts"] for x in callers[-1:])]),
            last_seen=r["ts"],
            event_ids=uniq(eids),
            reasons=reasons,
            severity=severity_for(score),
        )

    def _ntlm_network(self, con: Db) -> Iterable[Finding]:
        p = self.params
        signals = f"""
            SELECT "@timestamp" AS ts, "event.id" AS eid, lower("user.name") AS account, "host.name" AS host,
                   "source.ip" AS src, {ed("LmPackageName")} AS lm
            FROM events
            WHERE "event.code" = '4624' AND "winlog.logon.type" = 3
              AND {ed("AuthenticationPackageName")} = 'NTLM' AND {ed("KeyLength")} = '0'
              AND lower(trim({ed("LogonProcessName")})) = 'ntlmssp'
              AND "user.name" IS NOT NULL AND "user.name" <> 'ANONYMOUS LOGON' AND NOT ends_with("user.name", '$')
              AND {remote_source()}
        """
        sql = (
            grouped(signals, "concat_ws('|', account, src)")
            + """
            SELECT min(account) AS account, min(src) AS src, count(*) AS n,
                   list(DISTINCT host ORDER BY host) AS hosts, list(DISTINCT lm ORDER BY lm) AS lms,
                   min(ts) AS first, max(ts) AS last, list(eid ORDER BY ts, eid) AS eids
            FROM g GROUP BY gk, grp HAVING count(DISTINCT host) >= ? ORDER BY first
            """
        )
        half = float(p["hosts_half"])
        for r in self.rows(con, sql, [p["gap_minutes"], p["ntlm_min_hosts"]]):
            hosts = r["hosts"]
            spread = 1.0 - 0.5 ** ((len(hosts) - 1) / half) if half > 0 else 0.0
            score = combine([float(p["ntlm_score"]), spread])
            reasons = [
                f"{plural(r['n'], 'NTLM network logon')} as '{r['account']}' from {r['src']} to "
                f"{plural(len(hosts), 'host')} ({names(hosts)}) with KeyLength 0 "
                f"({names(uniq(r['lms']))}): no session key was negotiated, the pattern of a hash "
                "replayed by a tool (Impacket, CrackMapExec) rather than a Windows client",
            ]
            yield Finding(
                score=score,
                entities={"user": r["account"], "source": r["src"], "host": hosts[0]},
                first_seen=r["first"],
                last_seen=r["last"],
                event_ids=r["eids"],
                reasons=reasons,
                severity=severity_for(score),
            )


# A program started with lsass.exe as its parent (4688 ParentProcessName, Sysmon 1 ParentImage),
# and Sysmon 10 handles to LSASS opened by the secondary logon service (seclogon.dll in the call
# stack): both are MalSecLogon, which has seclogon create a process "for" LSASS to leak its handle.
SECLOGON_ABUSE_SQL = f"""
    SELECT "@timestamp" AS ts, "event.id" AS eid, "host.name" AS host, "user.name" AS account,
           "event.code" AS code, "process.name" AS proc, "process.command_line" AS cmd,
           coalesce({ed("SourceImage")}, '') AS source_image, coalesce({ed("GrantedAccess")}, '') AS access
    FROM events
    WHERE ("event.action" = 'process-created'
           AND lower(regexp_extract(coalesce({ed("ParentProcessName")}, {ed("ParentImage")}), '([^\\\\]+)$', 1))
               = 'lsass.exe')
       OR ("event.code" = '10' AND lower({ed("TargetImage")}) LIKE '%\\lsass.exe'
           AND lower(coalesce({ed("CallTrace")}, '')) LIKE '%seclogon.dll%')
    ORDER BY ts, eid
"""


class SeclogonAbuse(Detector):
    """LSASS reached through the secondary logon service: MalSecLogon (T1003.001, T1134.004).

    LSASS starts no programs; a process whose parent is ``lsass.exe`` was created by the
    secondary logon service on a caller's request with LSASS's id as the parent (parent
    spoofing), which leaves a handle to LSASS in the new process: MalSecLogon's way to dump
    credentials without opening LSASS itself. Sysmon 10 shows the handle: LSASS opened from
    ``seclogon.dll``. Findings per host within ``gap_minutes``; higher = more suspicious.
    """

    id: ClassVar[str] = "seclogon_abuse"
    phrase: ClassVar[str] = "seclogon abuse"
    title: ClassVar[str] = "LSASS handle through the secondary logon service (MalSecLogon)"
    tactics: ClassVar[tuple[str, ...]] = ("TA0006", "TA0004")
    techniques: ClassVar[tuple[str, ...]] = ("T1003.001", "T1134.004")
    severity: ClassVar[str] = "high"
    defaults: ClassVar[dict[str, Any]] = {
        "gap_minutes": 10,
        "lsass_parent_score": 0.8,  # a program whose parent is lsass.exe
        "seclogon_handle_score": 0.8,  # LSASS opened through seclogon.dll (Sysmon 10)
    }

    def score(self, con: Db) -> Iterable[Finding]:
        """One finding per host and burst of spoofed children and seclogon handles to LSASS."""
        p = self.params
        bursts: list[list[dict[str, Any]]] = []
        for r in self.rows(con, SECLOGON_ABUSE_SQL):
            last = bursts[-1][-1] if bursts else None
            if (
                last
                and last["host"] == r["host"]
                and (r["ts"] - last["ts"]).total_seconds() <= 60 * float(p["gap_minutes"])
            ):
                bursts[-1].append(r)
            else:
                bursts.append([r])
        for g in bursts:
            children = [r for r in g if r["code"] != "10"]
            handles = [r for r in g if r["code"] == "10"]
            scores: list[float] = []
            reasons: list[str] = []
            if children:
                scores.append(float(p["lsass_parent_score"]))
                reasons.append(
                    f"{names(uniq(r['proc'] for r in children))} started on {g[0]['host']} with lsass.exe as its "
                    "parent: LSASS starts no programs, the secondary logon service was asked to spoof it"
                    + (f"; command line '{children[0]['cmd'][:160]}'" if children[0]["cmd"] else "")
                )
            if handles:
                scores.append(float(p["seclogon_handle_score"]))
                reasons.append(
                    f"{plural(len(handles), 'handle')} to LSASS opened by {names(uniq(r['source_image'] for r in handles))} "
                    f"through seclogon.dll (access {names(uniq(r['access'] for r in handles))})"
                )
            score = combine(scores)
            yield Finding(
                score=score,
                entities={"host": g[0]["host"], "user": str(g[0]["account"] or "")},
                first_seen=g[0]["ts"],
                last_seen=g[-1]["ts"],
                event_ids=[r["eid"] for r in g],
                reasons=reasons,
                severity=severity_for(score),
            )
