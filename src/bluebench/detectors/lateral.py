"""Lateral movement over SMB and the Service Control Manager (T1021.002, T1569.002, T1543.003).

PsExec-like tools connect to ADMIN$ or C$, copy a binary, open the svcctl pipe and install
a service; ``net use \\\\host\\c$`` mounts an admin share with other credentials.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any, ClassVar

from bluebench.detectors.base import Detector, Finding, duration, plural, saturating
from bluebench.detectors.winsql import (
    PROCESS_EVENTS,
    Tally,
    combine,
    ed,
    grouped,
    names,
    remote_source,
    same_person,
    severity_for,
    short_name,
    sql_list,
    uniq,
    with_days,
)
from bluebench.engines import Db

# An administrative share: ADMIN$ or a drive letter share such as C$.
ADMIN_SHARE_RE = r"(?i)\\(admin|[a-z])\$$"
# Named pipes of remote execution: the service manager, the task scheduler, PsExec and clones.
EXEC_PIPES_RE = r"(?i)^\\?(svcctl|atsvc|psexesvc.*|remcom.*|paexec.*|csexec.*)$"
EXECUTABLE_RE = r"(?i)\.(exe|dll|sys|bat|cmd|ps1|vbs|js|hta|scr|msi)$"
UNC_ADMIN_SHARE_RE = r'(?i)\\\\([^\\\s"]+)\\(admin\$|[a-z]\$)'
_SHARE, _RELATIVE_TARGET = ed("ShareName"), ed("RelativeTargetName")
_CMD = '"process.command_line"'
# Admin shares and remote-execution pipes opened from another address by a user account, and
# command lines that use \\host\X$; 'kind' is share, pipe or command.
ADMIN_SHARE_SIGNALS_SQL = f"""
            SELECT "@timestamp" AS ts, "event.id" AS eid, "host.name" AS host, "user.name" AS actor,
                   "source.ip" AS src, lower("user.name") || '|' || "source.ip" AS akey,
                   CASE WHEN regexp_matches({_SHARE}, '{ADMIN_SHARE_RE}') THEN 'share' ELSE 'pipe' END AS kind,
                   regexp_extract({_SHARE}, '([^\\\\]+)$', 1) AS share, {_RELATIVE_TARGET} AS target,
                   coalesce({ed("AccessList")}, '') LIKE '%%%4417%' AS write, NULL AS unc
            FROM events
            WHERE "event.code" IN ('5140', '5145') AND {remote_source()}
              AND "user.name" IS NOT NULL AND NOT ends_with("user.name", '$')
              AND (regexp_matches({_SHARE}, '{ADMIN_SHARE_RE}')
                   OR (upper({_SHARE}) LIKE '%\\IPC$' AND regexp_matches({_RELATIVE_TARGET}, '{EXEC_PIPES_RE}')))
            UNION ALL
            SELECT "@timestamp", "event.id", "host.name", "user.name", NULL,
                   lower(coalesce("user.name", '')) || '|', 'command', NULL, {_CMD},
                   regexp_matches({_CMD}, '(?i)/u(ser)?:'),
                   '\\\\' || regexp_extract({_CMD}, '{UNC_ADMIN_SHARE_RE}', 1) || '\\'
                       || upper(regexp_extract({_CMD}, '{UNC_ADMIN_SHARE_RE}', 2))
            FROM events
            WHERE {PROCESS_EVENTS} AND regexp_matches({_CMD}, '{UNC_ADMIN_SHARE_RE}')
        """
# One row per host, account, source and burst, with the days the account and source used admin
# shares and the services installed on the host right after (gap, then service window, in minutes).
ADMIN_SHARE_BURSTS_SQL = (
    grouped(with_days(ADMIN_SHARE_SIGNALS_SQL, "akey"), "concat_ws('|', host, akey)")
    + f"""
            , b AS (
                SELECT min(host) AS host, min(actor) AS actor, min(src) AS src, min(days) AS days,
                       list(DISTINCT kind ORDER BY kind) AS kinds,
                       list(DISTINCT upper(share) ORDER BY upper(share)) FILTER (WHERE kind = 'share') AS shares,
                       list(DISTINCT target ORDER BY target)
                           FILTER (WHERE kind = 'share' AND regexp_matches(target, '{EXECUTABLE_RE}')) AS executables,
                       bool_or(write) FILTER (WHERE kind = 'share' AND regexp_matches(target, '{EXECUTABLE_RE}'))
                           AS exec_written,
                       list(DISTINCT lower(target) ORDER BY lower(target)) FILTER (WHERE kind = 'pipe') AS pipes,
                       list(DISTINCT unc ORDER BY unc) FILTER (WHERE kind = 'command') AS uncs,
                       bool_or(write) FILTER (WHERE kind = 'command') AS other_creds,
                       count(*) AS n, min(ts) AS first, max(ts) AS last, list(eid ORDER BY ts, eid) AS eids
                FROM g GROUP BY gk, grp
            )
            SELECT b.*, (
                SELECT list(struct_pack(svc := s."service.name", eid := s."event.id")
                            ORDER BY s."@timestamp", s."event.id")
                FROM events s
                WHERE s."event.action" = 'service-installed' AND s."host.name" = b.host AND b.src IS NOT NULL
                  AND s."@timestamp" BETWEEN b.first - INTERVAL 1 MINUTE
                                         AND b.last + to_minutes(CAST(? AS BIGINT))
            ) AS services
            FROM b ORDER BY first
            """
)


class AdminShareAccess(Detector):
    """Remote use of ADMIN$/C$ and remote-execution pipes, or ``net use`` to them (T1021.002)."""

    id: ClassVar[str] = "admin_share_access"
    phrase: ClassVar[str] = "admin shares"
    title: ClassVar[str] = "Administrative share used from another host"
    tactics: ClassVar[tuple[str, ...]] = ("TA0008",)
    techniques: ClassVar[tuple[str, ...]] = ("T1021.002",)
    severity: ClassVar[str] = "medium"
    defaults: ClassVar[dict[str, Any]] = {
        "gap_minutes": 30,
        "share_score": 0.45,  # an admin share opened from a remote address by a user account
        "executable_score": 0.3,  # an executable or script written or read there
        "psexec_score": 0.4,  # PSEXESVC (or clone) file or pipe
        "pipe_score": 0.3,  # svcctl/atsvc pipe opened remotely (remote service or task)
        "service_score": 0.4,  # a service was installed on the host right after
        "service_window_minutes": 5,
        "command_score": 0.5,  # a command line mounting \\host\X$
        "other_credentials_score": 0.3,  # ... with /user: other credentials
        "routine_days": 2,  # an account and source opening admin shares on this many days is routine
    }

    def score(self, con: Db) -> Iterable[Finding]:
        """One finding per host, account, source and burst of share, pipe and command signals."""
        p = self.params
        params = [p["gap_minutes"], p["service_window_minutes"]]
        for r in self.rows(con, ADMIN_SHARE_BURSTS_SQL, params):
            routine = r["days"] >= int(p["routine_days"])
            if set(r["kinds"]) == {"share"} and not uniq(r["executables"]) and routine:
                continue  # this account opens admin shares from this address on other days too: routine
            yield self._finding(r)

    def _finding(self, r: dict[str, Any]) -> Finding:
        """Scores and reasons for one burst, signal by signal."""
        kinds = set(r["kinds"])
        t = Tally(techniques=["T1021.002"])
        eids = list(r["eids"])
        pipes = uniq(r["pipes"])
        executables = uniq(r["executables"])
        if "share" in kinds:
            self._share(t, r, executables)
        psexec = [x for x in [*pipes, *executables] if x and "psexesvc" in x.lower()]
        if psexec:
            t.add(
                float(self.params["psexec_score"]),
                f"PsExec's service binary or pipes were used: {names(psexec)}",
                "T1569.002",
            )
        exec_pipes = [x for x in pipes if "psexesvc" not in x]
        if exec_pipes:
            self._pipes(t, r, exec_pipes)
        services = r["services"] or []
        if services:
            eids.extend(x["eid"] for x in services)
            t.add(
                float(self.params["service_score"]),
                f"the service {names(uniq(x['svc'] for x in services))} was installed on {r['host']} right "
                "after: a binary copied through the share and started as a service (PsExec's way)",
                "T1569.002",
            )
        if "command" in kinds:
            self._command(t, r)
        entities = {"user": r["actor"], "host": r["host"], "source": r["src"] or ""}
        return t.finding(r, entities, uniq(eids))

    def _share(self, t: Tally, r: dict[str, Any], executables: list[str]) -> None:
        """An admin share opened remotely, and executables written or read there."""
        t.add(
            float(self.params["share_score"]),
            f"'{r['actor']}' opened the administrative share {names(uniq(r['shares']))} on {r['host']} "
            f"from {r['src']}: admin shares expose the whole disk and are how PsExec-like tools copy "
            "their payload",
        )
        if executables:
            verb = "wrote" if r["exec_written"] else "accessed"
            t.add(
                float(self.params["executable_score"]),
                f"it {verb} executable files there: {names(executables)}",
            )

    def _pipes(self, t: Tally, r: dict[str, Any], exec_pipes: list[str]) -> None:
        """Remote-execution pipes opened: the service manager (T1569.002) or task scheduler (T1053.005)."""
        what = {"svcctl": "the service manager (remote service creation)", "atsvc": "the task scheduler"}
        techniques = [
            tech for pipe, tech in (("svcctl", "T1569.002"), ("atsvc", "T1053.005")) if pipe in exec_pipes
        ]
        t.add(
            float(self.params["pipe_score"]),
            f"'{r['actor']}' opened the remote-execution pipe {names(exec_pipes)} on {r['host']} from "
            f"{r['src']}: {', '.join(what.get(x, x) for x in exec_pipes)}",
            *techniques,
        )

    def _command(self, t: Tally, r: dict[str, Any]) -> None:
        """A command line using an admin share, its own through the loopback or another host's."""
        uncs = uniq(r["uncs"])
        local = all(u.lower().startswith(("\\\\127.0.0.1\\", "\\\\localhost\\", "\\\\::1\\")) for u in uncs)
        t.add(
            float(self.params["command_score"]),
            f"'{r['actor']}' ran a command on {r['host']} that uses {names(uncs)}: "
            + (
                "its own admin share through the loopback, where Impacket wmiexec/smbexec write "
                "command output"
                if local
                else "an administrative share of another host"
            ),
        )
        if r["other_creds"]:
            t.add(
                float(self.params["other_credentials_score"]), "the command passes other credentials (/user:)"
            )


# 4648 explicit credentials one process presented, per host, subject and process, with the
# accounts it tried (not the subject's own) and whether the same process on that host tried
# as many accounts on an earlier day (parameters: gap, lookback, min accounts).
_TARGET = short_name(ed("TargetUserName"))
EXPLICIT_SPRAY_SQL = (
    grouped(
        f"""SELECT "@timestamp" AS ts, "event.id" AS eid, "host.name" AS host, {ed("SubjectUserName")} AS subject,
                   {_TARGET} AS target, coalesce({ed("ProcessName")}, '?') AS proc,
                   lower({ed("TargetServerName")}) AS server
            FROM events WHERE "event.code" = '4648' AND {ed("TargetUserName")} IS NOT NULL
              AND NOT ends_with({ed("TargetUserName")}, '$')""",
        "concat_ws('|', lower(host), lower(subject), lower(proc))",
    )
    + """
    , daily AS (
        SELECT lower(host) AS h, lower(proc) AS pr, CAST(ts AS DATE) AS day, count(DISTINCT target) AS accounts
        FROM g GROUP BY ALL
    )
    , b AS (
        SELECT min(host) AS host, min(subject) AS subject, min(proc) AS proc, count(*) AS n,
               list(DISTINCT target ORDER BY target) AS targets, list(DISTINCT server ORDER BY server) AS servers,
               min(ts) AS first, max(ts) AS last, list(eid ORDER BY ts, eid) AS eids
        FROM g GROUP BY gk, grp
    )
    SELECT b.*, (SELECT coalesce(max(d.accounts), 0) FROM daily d
                 WHERE d.h = lower(b.host) AND d.pr = lower(b.proc) AND d.day < CAST(b.first AS DATE)
                   AND d.day >= CAST(b.first AS DATE) - CAST(? AS INTEGER)) AS usual
    FROM b WHERE array_length(b.targets) >= ? ORDER BY first
    """
)


class ExplicitCredentials(Detector):
    """Explicit credentials (4648) of another account, to many hosts, or of many accounts (T1021, T1078, T1110.003).

    Three patterns: another person's credentials against remote hosts; one's own against
    ``min_hosts`` hosts; and one process presenting the credentials of ``spray_min_accounts``
    different accounts in a burst (DeepBlueCLI's password-spray check: a tool trying a
    password on many accounts through LogonUser or runas), unless the same process on that
    host tried as many on an earlier day of the ``lookback_days`` (a helpdesk tool).
    """

    id: ClassVar[str] = "explicit_credentials"
    phrase: ClassVar[str] = "explicit credentials"
    title: ClassVar[str] = "Explicit credentials used against other hosts"
    tactics: ClassVar[tuple[str, ...]] = ("TA0008",)
    techniques: ClassVar[tuple[str, ...]] = ("T1021", "T1110.003")
    severity: ClassVar[str] = "medium"
    defaults: ClassVar[dict[str, Any]] = {
        "gap_minutes": 60,
        "other_account_score": 0.4,  # credentials of another account used against a remote host
        "min_hosts": 3,  # remote hosts that make one account's own explicit logons worth reporting
        "hosts_half": 3,
        "spray_min_accounts": 5,  # accounts one process presented credentials of in a burst
        "spray_half": 5,  # ... accounts beyond the process's usual day that score 0.5
        "lookback_days": 28,
    }

    def score(self, con: Db) -> Iterable[Finding]:
        """Findings of the three patterns, remote ones first."""
        yield from self._remote(con)
        yield from self._spray(con)

    def _spray(self, con: Db) -> Iterable[Finding]:
        """One finding per host, subject, process and burst presenting many accounts' credentials."""
        p = self.params
        params = [p["gap_minutes"], p["lookback_days"], p["spray_min_accounts"]]
        for r in self.rows(con, EXPLICIT_SPRAY_SQL, params):
            targets = [t for t in r["targets"] if not same_person(str(t), str(r["subject"]))]
            usual = int(r["usual"])
            if len(targets) < int(p["spray_min_accounts"]) or len(targets) <= usual:
                continue
            score = saturating(len(targets) - usual, float(p["spray_half"]))
            reasons = [
                f"'{r['subject']}' on {r['host']}: {r['proc']} presented explicit credentials (4648) of "
                f"{plural(len(targets), 'account')} in {duration(r['first'], r['last'])}: {names(targets, 6)}",
                "one process trying many accounts' passwords is password spraying from inside (DeepBlueCLI's "
                "check), not a person's runas",
                (
                    f"on earlier days this process tried at most {usual} accounts a day here"
                    if usual
                    else f"this process presented no other accounts' credentials here on the {p['lookback_days']} days before"
                ),
            ]
            if uniq(r["servers"]):
                reasons.append(f"against {names(uniq(r['servers']))}")
            yield Finding(
                score=score,
                entities={"user": r["subject"], "host": r["host"], "process": r["proc"].split("\\")[-1]},
                first_seen=r["first"],
                last_seen=r["last"],
                event_ids=r["eids"],
                reasons=reasons,
                severity=severity_for(score),
                techniques=["T1110.003", "T1078"],
            )

    def _remote(self, con: Db) -> Iterable[Finding]:
        """One finding per subject and burst of 4648 to remote hosts."""
        p = self.params
        server = f"lower({ed('TargetServerName')})"
        signals = f"""
            SELECT "@timestamp" AS ts, "event.id" AS eid, "host.name" AS host, "user.name" AS subject,
                   "user.target.name" AS target, {server} AS server, lower({ed("TargetInfo")}) AS info,
                   "process.name" AS proc
            FROM events
            WHERE "event.code" = '4648' AND "user.name" IS NOT NULL AND NOT ends_with("user.name", '$')
              AND {server} IS NOT NULL AND {server} NOT IN ('localhost', '127.0.0.1', '::1')
              AND split_part({server}, '.', 1) <> split_part(lower("host.name"), '.', 1)
        """
        sql = (
            grouped(signals, "concat_ws('|', host, lower(subject))")
            + """
            SELECT min(host) AS host, min(subject) AS subject, count(*) AS n,
                   list(DISTINCT target ORDER BY target) AS targets, list(DISTINCT server ORDER BY server) AS servers,
                   list(DISTINCT info ORDER BY info) AS infos, list(DISTINCT proc ORDER BY proc) AS procs,
                   min(ts) AS first, max(ts) AS last, list(eid ORDER BY ts, eid) AS eids
            FROM g GROUP BY gk, grp ORDER BY first
            """
        )
        half = float(p["hosts_half"])
        for r in self.rows(con, sql, [p["gap_minutes"]]):
            servers = r["servers"]
            others = [t for t in uniq(r["targets"]) if not same_person(str(t), str(r["subject"]))]
            if not others and len(servers) < int(p["min_hosts"]):
                continue  # one's own (admin) account against few hosts: runas, net use
            spread = 1.0 - 0.5 ** ((len(servers) - 1) / half) if half > 0 else 0.0
            scores = [spread]
            targets = uniq(r["targets"])
            infos = uniq(r["infos"])
            reasons = [
                f"'{r['subject']}' on {r['host']} logged on with explicit credentials of {names(targets)} to "
                f"{plural(len(servers), 'remote host')}: {names(servers)} ({names(infos)})"
            ]
            if others:
                scores.append(float(p["other_account_score"]))
                reasons.append(
                    f"{names(others)} is another person's account than '{r['subject']}' (not its own admin "
                    "account): typed with runas or net use /user:, or carried by a tool with stolen credentials"
                )
            if len(servers) > 1:
                reasons.append(f"{len(servers)} different hosts in one burst raise the score")
            techniques = []
            for info in infos:
                service = info.split("/", 1)[0]
                techniques.append(
                    {
                        "cifs": "T1021.002",
                        "termsrv": "T1021.001",
                        "http": "T1021.006",
                        "wsman": "T1021.006",
                    }.get(service, "T1078")
                )
            score = combine(scores)
            yield Finding(
                score=score,
                entities={"user": r["subject"], "host": r["host"], "target": servers[0]},
                first_seen=r["first"],
                last_seen=r["last"],
                event_ids=r["eids"],
                reasons=reasons,
                severity=severity_for(score),
                techniques=uniq(techniques) or ["T1078"],
            )


# Service names of remote-execution tools (lower case).
REMOTE_EXEC_SERVICES = ("psexesvc", "paexec", "remcomsvc", "csexecsvc", "winexesvc", "btobto", "smbexec")
# Parts of a service command line that legitimate installers rarely use: (regex, why).
SUSPICIOUS_IMAGE: tuple[tuple[str, str], ...] = (
    (r"(?i)%comspec%|cmd(\.exe)?\s*/[ckr]", "runs a shell command (cmd /c)"),
    (r"(?i)powershell|pwsh", "runs PowerShell"),
    (
        r"(?i)\b(mshta|rundll32|regsvr32|wscript|cscript|certutil|bitsadmin)(\.exe)?\b",
        "runs a script host or LOLBin",
    ),
    (r"^\\\\|\s\\\\", "uses a network (UNC) path"),
    (
        r"(?i)(\\|%)(temp|tmp|appdata|users\\public|programdata|perflogs)(\\|%)",
        "uses a temp or user-writable folder",
    ),
    (r"(?i)\.(bat|cmd|ps1|vbs|js|hta)\b", "runs a script file"),
    (r"(?i)\becho\b.*\|", "pipes an echoed command"),
)


class RemoteServiceInstall(Detector):
    """Services installed with remote-execution names or command lines (T1543.003, T1569.002)."""

    id: ClassVar[str] = "service_install"
    phrase: ClassVar[str] = "a remote service install"
    title: ClassVar[str] = "Suspicious service installed"
    tactics: ClassVar[tuple[str, ...]] = ("TA0003", "TA0002", "TA0008")
    techniques: ClassVar[tuple[str, ...]] = ("T1543.003", "T1569.002")
    severity: ClassVar[str] = "high"
    defaults: ClassVar[dict[str, Any]] = {
        "gap_minutes": 10,  # installs on one host further apart start a new finding
        "tool_score": 0.75,  # a service named like PsExec and its clones
        "image_score": 0.5,  # each kind of suspicious part in a service's command line
        "remote_score": 0.3,  # the installing account logged on over the network just before
        "remote_window_minutes": 5,
    }

    def score(self, con: Db) -> Iterable[Finding]:
        """One finding per host and burst of 7045/4697 that shows an indicator; others are not reported."""
        p = self.params
        image = f"coalesce({ed('ImagePath')}, {ed('ServiceFileName')})"
        account = f"coalesce({ed('AccountName')}, {ed('ServiceAccount')})"
        tool_list = sql_list(REMOTE_EXEC_SERVICES)
        checks = " OR ".join(f"regexp_matches(image, '{rx}')" for rx, _ in SUSPICIOUS_IMAGE)
        signals = f"""
            SELECT * FROM (
                SELECT "@timestamp" AS ts, "event.id" AS eid, "host.name" AS host, "service.name" AS svc,
                       {image} AS image, {account} AS run_as,
                       CASE WHEN "event.code" = '4697' THEN "user.name" END AS installer
                FROM events WHERE "event.action" = 'service-installed' AND "service.name" IS NOT NULL)
            WHERE list_contains({tool_list}, lower(svc)) OR starts_with(lower(svc), 'psexesvc')
               OR (image IS NOT NULL AND ({checks}))
        """
        sql = (
            grouped(signals, "host")
            + f"""
            , b AS (
                SELECT min(host) AS host, list(DISTINCT svc ORDER BY svc) AS services, list(DISTINCT image ORDER BY image) AS images,
                       list(DISTINCT run_as ORDER BY run_as) FILTER (WHERE run_as IS NOT NULL) AS run_as,
                       list(DISTINCT installer ORDER BY installer) FILTER (WHERE installer IS NOT NULL) AS installers,
                       count(*) AS n, min(ts) AS first, max(ts) AS last, list(eid ORDER BY ts, eid) AS eids
                FROM g GROUP BY gk, grp
            )
            SELECT b.*, (
                SELECT list(DISTINCT l."source.ip" ORDER BY l."source.ip") FROM events l
                WHERE l."event.code" = '4624' AND l."winlog.logon.type" = 3 AND l."host.name" = b.host
                  AND list_contains(list_transform(b.installers, lambda x: lower(x)), lower(l."user.name"))
                  AND {remote_source('l."source.ip"')}
                  AND l."@timestamp" BETWEEN b.first - to_minutes(CAST(? AS BIGINT)) AND b.last
            ) AS remote_from
            FROM b ORDER BY first
            """
        )
        compiled = [(re.compile(rx), why) for rx, why in SUSPICIOUS_IMAGE]
        for r in self.rows(con, sql, [p["gap_minutes"], p["remote_window_minutes"]]):
            services, images = uniq(r["services"]), uniq(r["images"])
            scores: list[float] = []
            reasons: list[str] = []
            techniques = ["T1543.003", "T1569.002"]
            tools = [
                x for x in services if x.lower() in REMOTE_EXEC_SERVICES or x.lower().startswith("psexesvc")
            ]
            what = (
                f"{plural(len(services), 'service')} ({names(services, 3)})"
                if len(services) > 1
                else (f"service '{services[0]}'")
            )
            reasons.append(
                f"{what} installed on {r['host']}"
                + (f" by {names(r['installers'])}" if r["installers"] else "")
            )
            if tools:
                scores.append(float(p["tool_score"]))
                techniques.append("T1021.002")
                reasons.append(
                    f"{names(tools)} is the service a remote-execution tool (PsExec or a clone) installs"
                )
            hits = uniq(why for image in images for rx, why in compiled if rx.search(image))
            scores.extend(float(p["image_score"]) for _ in hits)
            if hits:
                shown = images[0] if len(images[0]) <= 200 else images[0][:200] + "..."
                reasons.append(
                    f"the command line {'of the first ' if len(images) > 1 else ''}is '{shown}': it {'; '.join(hits)}"
                )
            remote = uniq(r["remote_from"] or [])
            if remote:
                scores.append(float(p["remote_score"]))
                techniques.append("T1021.002")
                reasons.append(
                    f"{names(r['installers'])} installed it right after a network logon from {names(remote)}: a "
                    "service created over the network"
                )
            if r["run_as"]:
                reasons.append(f"it runs as {names(uniq(r['run_as']))}")
            score = combine(scores)
            yield Finding(
                score=score,
                entities={
                    "host": r["host"],
                    "service": services[0] if len(services) == 1 else "",
                    "user": r["installers"][0] if r["installers"] else "",
                },
                first_seen=r["first"],
                last_seen=r["last"],
                event_ids=r["eids"],
                reasons=reasons,
                severity=severity_for(score),
                techniques=uniq(techniques),
            )


class ShareCreated(Detector):
    """A new file share (5142, ``net share name=path``) or share listing on the command line."""

    id: ClassVar[str] = "share_created"
    phrase: ClassVar[str] = "a new share"
    title: ClassVar[str] = "New network share or share manipulation"
    tactics: ClassVar[tuple[str, ...]] = ("TA0008",)
    techniques: ClassVar[tuple[str, ...]] = ("T1021.002",)
    severity: ClassVar[str] = "medium"
    defaults: ClassVar[dict[str, Any]] = {
        "gap_minutes": 10,
        "created_score": 0.4,  # a share was created
        "hidden_score": 0.3,  # its name ends with $ (hidden from browsing)
        "path_score": 0.3,  # it exposes a whole drive or a temp/tools folder
        "listing_score": 0.2,  # 'net share' without arguments: share discovery
    }

    def score(self, con: Db) -> Iterable[Finding]:
        """One finding per host, account and burst of share creations and share commands."""
        p = self.params
        cmd = '"process.command_line"'
        signals = f"""
            SELECT "@timestamp" AS ts, "event.id" AS eid, "host.name" AS host, "user.name" AS actor,
                   CASE WHEN "event.code" = '5142' THEN 'created' ELSE 'modified' END AS kind,
                   regexp_extract({ed("ShareName")}, '([^\\\\]+)$', 1) AS share, {ed("ShareLocalPath")} AS path
            FROM events WHERE "event.code" IN ('5142', '5143')
            UNION ALL
            SELECT "@timestamp", "event.id", "host.name", "user.name",
                   CASE WHEN regexp_matches({cmd}, '(?i)\\bshare\\s+[^\\s/]+=') THEN 'command-created'
                        ELSE 'listing' END,
                   regexp_extract({cmd}, '(?i)\\bshare\\s+([^\\s/=]+)=', 1),
                   regexp_extract({cmd}, '(?i)\\bshare\\s+[^\\s/=]+=("[^"]+"|\\S+)', 1)
            FROM events
            WHERE {PROCESS_EVENTS} AND "process.name" IN ('net.exe', 'net1.exe', 'NET.EXE', 'NET1.EXE')
              AND regexp_matches({cmd}, '(?i)\\bshare\\b') AND NOT regexp_matches({cmd}, '(?i)/delete')
        """
        sql = (
            grouped(signals, "concat_ws('|', host, lower(actor))")
            + """
            SELECT min(host) AS host, min(actor) AS actor, list(DISTINCT kind ORDER BY kind) AS kinds,
                   list(DISTINCT share ORDER BY share) FILTER (WHERE kind IN ('created', 'command-created') AND share <> '')
                       AS shares,
                   list(DISTINCT path ORDER BY path) FILTER (WHERE kind IN ('created', 'command-created') AND path <> '')
                       AS paths,
                   list(DISTINCT share ORDER BY share) FILTER (WHERE kind = 'modified') AS modified,
                   count(*) AS n, min(ts) AS first, max(ts) AS last, list(eid ORDER BY ts, eid) AS eids
            FROM g GROUP BY gk, grp ORDER BY first
            """
        )
        risky_path = re.compile(
            r"(?i)^[a-z]:\\?$|\\(temp|tmp|tools|users\\public|programdata|perflogs)(\\|$)"
        )
        for r in self.rows(con, sql, [p["gap_minutes"]]):
            kinds = set(r["kinds"])
            shares, paths = uniq(r["shares"] or []), uniq(r["paths"] or [])
            scores: list[float] = []
            reasons: list[str] = []
            techniques: list[str] = []
            if kinds & {"created", "command-created"}:
                scores.append(float(p["created_score"]))
                techniques.append("T1021.002")
                reasons.append(
                    f"'{r['actor']}' created the share {names(shares) or '?'} on {r['host']}"
                    + (f" for {names(paths)}" if paths else "")
                    + ": a new share lets other hosts read or drop files here"
                )
                hidden = [s for s in shares if s.endswith("$")]
                if hidden:
                    scores.append(float(p["hidden_score"]))
                    reasons.append(f"{names(hidden)} ends with $, so it is hidden from share browsing")
                risky = [x for x in paths if risky_path.search(x.strip('"'))]
                if risky:
                    scores.append(float(p["path_score"]))
                    reasons.append(f"it exposes a whole drive or a temp/tools folder: {names(risky)}")
                if r["modified"]:
                    reasons.append(
                        f"and then changed the share settings of {names(uniq(r['modified']))} (5143)"
                    )
            elif "listing" in kinds:
                scores.append(float(p["listing_score"]))
                techniques.append("T1135")
                reasons.append(
                    f"'{r['actor']}' ran 'net share' on {r['host']}, listing this host's shares "
                    "(share discovery before using or changing them)"
                )
            else:
                continue  # a share settings change alone
            score = combine(scores)
            yield Finding(
                score=score,
                entities={"user": r["actor"], "host": r["host"], "share": shares[0] if shares else ""},
                first_seen=r["first"],
                last_seen=r["last"],
                event_ids=r["eids"],
                reasons=reasons,
                severity=severity_for(score),
                techniques=techniques,
            )
