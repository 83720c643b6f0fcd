"""Logons with stolen hashes or keys instead of passwords (T1550.002).

Mimikatz ``sekurlsa::pth`` (and Rubeus ``/createnetonly``) start a process with new network
credentials: Windows logs a logon type 9 through the ``seclogo`` logon process. Hashes
replayed over the network show as NTLM network logons without a session key.
"""

from __future__ import annotations

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
        "ntlm_score": 0.35,  # NTLM network logon with KeyLength 0 to a host
        "ntlm_min_hosts": 2,  # hosts one account and source must reach that way to report it
        "hosts_half": 3,
    }

    def score(self, con: Db) -> Iterable[Finding]:
        """New-credential logons one by one; NTLM key-less logons per account and source burst."""
        yield from self._new_credentials(con)
        yield from self._ntlm_network(con)

    def _new_credentials(self, con: Db) -> Iterable[Finding]:
        p = self.params
        sql = f"""
            WITH l AS (
                SELECT "@timestamp" AS ts, "event.id" AS eid, "host.name" AS host, "user.name" AS target,
                       {ed("SubjectUserName")} AS subject, {ed("TargetLogonId")} AS logon_id,
                       "process.name" AS proc, {ed("TargetOutboundUserName")} AS outbound,
                       {ed("TargetOutboundDomainName")} AS outbound_domain
                FROM events
                WHERE "event.code" = '4624' AND "winlog.logon.type" = 9
                  AND lower({ed("LogonProcessName")}) = 'seclogo'
                  AND lower({ed("AuthenticationPackageName")}) = 'negotiate'
            ), p AS (
                SELECT "event.id" AS eid, "host.name" AS host, {ed("TargetLogonId")} AS logon_id,
                       "process.name" AS proc, "@timestamp" AS ts
                FROM events WHERE "event.action" = 'process-created' AND "event.code" = '4688'
            )
            SELECT l.ts, l.eid, l.host, l.target, l.subject, l.proc, l.logon_id, l.outbound, l.outbound_domain,
                   EXISTS (SELECT 1 FROM events e WHERE {short_name('e."user.name"')} = lower(l.outbound)
                           AND e."event.id" <> l.eid) AS outbound_known,
                   list(p.proc ORDER BY p.ts) FILTER (WHERE p.eid IS NOT NULL) AS procs,
                   list(p.eid ORDER BY p.ts) FILTER (WHERE p.eid IS NOT NULL) AS proc_eids
            FROM l LEFT JOIN p ON p.host = l.host AND p.logon_id = l.logon_id
                 AND p.ts BETWEEN l.ts - INTERVAL 5 SECOND AND l.ts + INTERVAL 1 HOUR
            GROUP BY ALL ORDER BY l.ts
        """
        for r in self.rows(con, sql):
            scores = [float(p["new_credentials_score"])]
            who = r["target"] or "?"
            by = f" by '{r['subject']}'" if r["subject"] and r["subject"] != r["target"] else ""
            reasons = [
                f"logon type 9 (new credentials) through the seclogo logon process for '{who}'{by} on "
                f"{r['host']} (logon id {r['logon_id']}): what Mimikatz sekurlsa::pth and Rubeus "
                "/createnetonly produce"
            ]
            outbound = r["outbound"]
            identity = f"{r['outbound_domain']}\\{outbound}" if r["outbound_domain"] else str(outbound)
            if outbound is None:
                reasons.append(
                    "the network identity it uses is not logged (Windows 10/2016 and later log it), so "
                    "confirm it was not an admin's 'runas /netonly'"
                )
            elif same_person(outbound, who):
                if not p["report_own_account"]:
                    continue  # runas /netonly with one's own (admin) account
                scores = [0.2]
                reasons.append(
                    f"its network identity {identity} is the user's own account ('runas /netonly')"
                )
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
            procs = uniq(r["procs"] or [])
            if procs:
                scores.append(float(p["process_score"]))
                reasons.append(
                    f"{plural(len(r['procs']), 'process')} started in that logon session: {names(procs)}"
                )
            score = combine(scores)
            yield Finding(
                score=score,
                entities={"user": who, "host": r["host"]},
                first_seen=r["ts"],
                last_seen=r["ts"],
                event_ids=[r["eid"], *(r["proc_eids"] or [])],
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
