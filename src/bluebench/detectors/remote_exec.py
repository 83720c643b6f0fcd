"""Execution through a remote logon: WMI, DCOM and WinRM (T1047, T1021.003, T1021.006), remote tasks (T1053.005).

Every one of these leaves the same trace on the target: a network logon (4624 type 3) opens a
session, and a process (4688, Sysmon 1) or a scheduled task (4698/4702) appears *in that
session*: WMI's provider host (``WmiPrvSE.exe``) starts the command under the caller's logon,
a DCOM server (``mmc.exe -Embedding``) or WinRM's plugin host (``wsmprovhost.exe``) runs as the
caller, the task service records the caller's logon id on the task. A file copy over SMB
never starts a process, so a process in a network session is the remote-execution step
itself, whatever tool drove it; the launcher (the parent or the image) only says which
channel. Management tools do the same every day from the same server with the same account:
each account, source and channel is compared with its own earlier days.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar

from bluebench.detectors.base import Detector, Finding, plural
from bluebench.detectors.winsql import ed, names, same_person, severity_for, uniq, when
from bluebench.engines import Db

# Launchers, by the base name of the image or its parent (lower case).
WMI_HOSTS = ("wmiprvse.exe",)
WINRM_HOSTS = ("wsmprovhost.exe", "winrshost.exe")
# COM servers abused for lateral movement: MMC20.Application, Excel/Word/Outlook/Visio
# automation, Internet Explorer; started by DcomLaunch with -Embedding or /automation.
DCOM_SERVERS = (
    "mmc.exe", "excel.exe", "winword.exe", "outlook.exe", "powerpnt.exe", "visio.exe",
    "iexplore.exe", "dllhost.exe", "msaccess.exe", "mspub.exe",
)  # fmt: skip
# Programs an operator runs next: shells, script hosts, LOLBins, discovery and credential tools.
TOOLS = (
    "cmd.exe", "powershell.exe", "pwsh.exe", "rundll32.exe", "regsvr32.exe", "mshta.exe", "wscript.exe",
    "cscript.exe", "msbuild.exe", "installutil.exe", "net.exe", "net1.exe", "whoami.exe", "ipconfig.exe",
    "systeminfo.exe", "tasklist.exe", "certutil.exe", "bitsadmin.exe", "reg.exe", "sc.exe", "schtasks.exe",
    "wmic.exe", "vssadmin.exe", "ntdsutil.exe", "nltest.exe", "quser.exe", "qwinsta.exe", "procdump.exe",
)  # fmt: skip
# wmiexec, dcomexec and atexec read a command's output back through a file on ADMIN$ or C$.
OUTPUT_REDIRECT_RE = r"(?i)(1>|>)\s*\\\\(127\.0\.0\.1|localhost)\\(admin|[a-z])\$\\"
# Identities a remote caller never is: the machine itself and its service accounts.
SYSTEM_ACCOUNTS = ("system", "local service", "network service", "anonymous logon", "-")

CHANNEL_TECHNIQUE = {
    "wmi": ("T1047",),
    "dcom": ("T1021.003",),
    "winrm": ("T1021.006",),
    "impacket": ("T1047", "T1021.003"),
    "other": ("T1021",),
}
CHANNEL_WORDS = {
    "wmi": "WMI (WmiPrvSE.exe started it)",
    "dcom": "DCOM (a COM server started with -Embedding)",
    "winrm": "WinRM (PowerShell remoting's wsmprovhost.exe)",
    "impacket": "Impacket's wmiexec or dcomexec (its output read back through \\\\127.0.0.1\\ADMIN$)",
    "other": "an unknown launcher",
}

_HKEY = "lower(split_part(\"host.name\", '.', 1))"
_IMAGE = f"lower(coalesce({ed('NewProcessName')}, {ed('Image')}))"
_PARENT = f"lower(coalesce({ed('ParentProcessName')}, {ed('ParentImage')}))"
# The logon session a process runs in: 4688 names it TargetLogonId when the process runs as
# another logon than its creator (WMI's host creates it for the caller), else SubjectLogonId;
# Sysmon names it LogonId.
_SESSION = f"""lower(CASE WHEN "event.code" = '4688'
    THEN coalesce(nullif({ed("TargetLogonId")}, '0x0'), {ed("SubjectLogonId")}) ELSE {ed("LogonId")} END)"""
_RUNS_AS = f"""lower(regexp_replace(CASE WHEN "event.code" = '4688'
    THEN CASE WHEN coalesce({ed("TargetLogonId")}, '0x0') <> '0x0' THEN {ed("TargetUserName")}
              ELSE {ed("SubjectUserName")} END
    ELSE {ed("User")} END, '^.*\\\\', ''))"""
# Processes, one row each, with the session they run in.
PROCESSES_SQL = f"""
    SELECT "@timestamp" AS ts, "event.id" AS eid, {_HKEY} AS hkey, "host.name" AS host,
           {_IMAGE} AS image, {_PARENT} AS parent, "process.command_line" AS cmd,
           {_SESSION} AS lid, {_RUNS_AS} AS runs_as
    FROM events WHERE "event.action" = 'process-created' AND "@timestamp" IS NOT NULL
"""
# Network logons of people (not machines, not anonymous), by session.
NETWORK_LOGONS_SQL = f"""
    SELECT "@timestamp" AS ts, "event.id" AS eid, {_HKEY} AS hkey, lower({ed("TargetLogonId")}) AS lid,
           "user.name" AS account, "source.ip" AS src, {ed("AuthenticationPackageName")} AS package
    FROM events
    WHERE "event.code" = '4624' AND "winlog.logon.type" = 3 AND {ed("TargetLogonId")} IS NOT NULL
      AND "user.name" IS NOT NULL AND NOT ends_with("user.name", '$') AND "user.name" <> 'ANONYMOUS LOGON'
      AND coalesce("source.ip", '') NOT IN ('127.0.0.1', '::1')
"""


def _base(column: str) -> str:
    """The file name of a path column, lower case."""
    return f"regexp_extract({column}, '([^\\\\]+)$', 1)"


# Processes in network sessions (joined on host and logon id, started after the logon), and
# processes a remote launcher started whose logon was not logged (Sysmon without 4624).
REMOTE_PROCESSES_SQL = f"""
    WITH p AS ({PROCESSES_SQL}), l AS ({NETWORK_LOGONS_SQL})
    SELECT DISTINCT p.ts, p.eid, p.hkey, p.host, p.image, p.parent, p.cmd, p.lid, p.runs_as,
           l.eid AS logon_eid, l.ts AS logon_ts, l.account, l.src, l.package
    FROM p JOIN l ON l.hkey = p.hkey AND l.lid = p.lid
               AND p.ts BETWEEN l.ts - INTERVAL 5 SECOND AND l.ts + INTERVAL 12 HOUR
    UNION ALL
    SELECT DISTINCT p.ts, p.eid, p.hkey, p.host, p.image, p.parent, p.cmd, p.lid, p.runs_as,
           NULL, NULL, p.runs_as, NULL, NULL
    FROM p
    WHERE ({_base("p.parent")} IN ('{"', '".join(WMI_HOSTS)}')
           OR {_base("p.image")} IN ('{"', '".join(WINRM_HOSTS)}')
           OR {_base("p.parent")} IN ('{"', '".join(WINRM_HOSTS)}'))
      AND p.runs_as IS NOT NULL AND NOT ends_with(p.runs_as, '$')
      AND p.runs_as NOT IN ('{"', '".join(SYSTEM_ACCOUNTS)}')
      AND NOT EXISTS (SELECT 1 FROM l WHERE l.hkey = p.hkey AND l.lid = p.lid)
    UNION ALL
    SELECT DISTINCT p.ts, p.eid, p.hkey, p.host, p.image, p.parent, p.cmd, p.lid, p.runs_as,
           NULL, NULL, p.runs_as, NULL, NULL
    FROM p
    WHERE regexp_matches(p.cmd, '{OUTPUT_REDIRECT_RE}') AND coalesce(p.parent, '') = ''
      AND NOT EXISTS (SELECT 1 FROM l WHERE l.hkey = p.hkey AND l.lid = p.lid)
    ORDER BY 1, 2
"""


def _name(path: str | None) -> str:
    """The file name of a Windows path, lower case ('' for none)."""
    return re.split(r"[\\/]", path or "")[-1].lower()


def channel_of(image: str | None, parent: str | None, cmd: str | None) -> str:
    """Which remote launcher started a process: 'wmi', 'winrm', 'dcom', 'impacket' or 'other'."""
    img, par, line = _name(image), _name(parent), (cmd or "").lower()
    if not par and re.search(OUTPUT_REDIRECT_RE, line):
        return "impacket"  # no parent logged (older 4688): the output redirect alone names the tool family
    if par in WMI_HOSTS:
        return "wmi"
    if img in WINRM_HOSTS or par in WINRM_HOSTS:
        return "winrm"
    if (img in DCOM_SERVERS and ("embedding" in line or "/automation" in line)) or par in DCOM_SERVERS:
        return "dcom"
    return "other"


@dataclass
class _Session:
    """One remote session's processes, as a finding needs them."""

    host: str
    account: str
    src: str
    logged: bool  # the network logon itself was logged
    first: datetime
    last: datetime
    channels: list[str] = field(default_factory=list)
    processes: list[tuple[str, str, str]] = field(default_factory=list)  # (image, parent, cmd)
    eids: list[str] = field(default_factory=list)


def _sessions(rows: Iterable[dict[str, Any]], gap_minutes: float) -> list[_Session]:
    """Rows (sorted by time) into bursts per host, account and source."""
    open_: dict[tuple[str, str, str], _Session] = {}
    out: list[_Session] = []
    for r in rows:
        key = (r["hkey"], str(r["account"] or "").lower(), r["src"] or "")
        s = open_.get(key)
        if s is None or (r["ts"] - s.last).total_seconds() > gap_minutes * 60:
            s = _Session(
                r["host"],
                str(r["account"] or "?"),
                r["src"] or "",
                r["logon_eid"] is not None,
                r["ts"],
                r["ts"],
            )
            open_[key] = s
            out.append(s)
        s.last = max(s.last, r["ts"])
        s.channels.append(channel_of(r["image"], r["parent"], r["cmd"]))
        s.processes.append((r["image"] or "", r["parent"] or "", r["cmd"] or ""))
        s.eids.extend(x for x in (r["logon_eid"], r["eid"]) if x)
    return out


# Kerberos TGTs issued to clients at the sources of remote sessions: who works at that machine
# (a person's logon there asks the DC for a TGT from its address; a network logon from there
# to another host says nothing about whose machine it is).
SOURCE_LOGONS_SQL = """
    SELECT lower("user.name") AS account, "source.ip" AS src, min("@timestamp") AS first
    FROM events
    WHERE "event.outcome" = 'success' AND "event.action" = 'kerberos-tgt-request'
      AND "user.name" IS NOT NULL AND list_contains(?, "source.ip")
    GROUP BY lower("user.name"), "source.ip", CAST("@timestamp" AS DATE)
"""


def _programs(s: _Session) -> set[str]:
    """The file names of the programs a session ran."""
    return {_name(x[0]) for x in s.processes}


class _Habits:
    """What is ordinary for a remote session, learned from the data before it (and its fleet that day).

    * **owner**: the account, or the person it belongs to (``adm-alice`` is alice's), got a
      Kerberos TGT from the session's source before: an administrator at the own workstation;
    * **known programs**: the programs this account ran through these channels from this source
      before (on an earlier day, all of a session's programs: a management tool's daily run);
    * **fleet**: the same account, source and programs on many hosts within some hours either
      side: a management tool pushing to many machines at once.
    """

    def __init__(
        self,
        sessions: list[_Session],
        logons: Iterable[dict[str, Any]],
        lookback_days: int,
        fleet_hours: float,
    ) -> None:
        self.lookback, self.fleet_seconds = lookback_days, fleet_hours * 3600
        self.by_src: dict[str, list[tuple[str, datetime]]] = {}
        for r in logons:
            self.by_src.setdefault(str(r["src"]), []).append((str(r["account"]), r["first"]))
        self.sessions = sessions
        # Each session's account and program names, worked out once: the fleet of every session
        # compares it with every other session of its account.
        self._by_account: dict[str, list[tuple[_Session, set[str]]]] = {}
        for o in sessions:
            self._by_account.setdefault(o.account.lower(), []).append((o, _programs(o)))

    def _recent(self, s: _Session, when: datetime) -> bool:
        return when < s.first and (s.first - when).days < self.lookback

    def owner(self, s: _Session) -> str | None:
        """An account of the session's person that logged on from its source before, if any."""
        for account, first in self.by_src.get(s.src, []):
            if self._recent(s, first) and same_person(account, s.account):
                return account
        return None

    def known_programs(self, s: _Session, channels: list[str], earlier_days: bool = False) -> set[str]:
        """Programs this account ran through these channels from this source before (on earlier days only)."""
        out: set[str] = set()
        for o in self.sessions:
            if (
                o.account.lower() == s.account.lower()
                and (o.src == s.src or not s.src)
                and self._recent(s, o.first)
                and (not earlier_days or o.first.date() < s.first.date())
            ):
                out |= {_name(x[0]) for x, ch in zip(o.processes, o.channels, strict=True) if ch in channels}
        return out

    def fleet(self, s: _Session) -> int:
        """Hosts the same account reached from the same source (any, when unlogged) with the same programs then."""
        mine = _programs(s)
        hosts = {
            o.host.lower()
            for o, programs in self._by_account.get(s.account.lower(), [])
            if (o.src == s.src or not s.src)
            and programs == mine
            and abs((o.first - s.first).total_seconds()) <= self.fleet_seconds
        }
        return len(hosts)


class RemoteExecution(Detector):
    """Processes started in a network logon's session by WMI, DCOM or WinRM (T1047, T1021.003, T1021.006).

    A process whose session is a network logon (4624 type 3 on the same host, same logon id)
    was started remotely; its launcher names the channel: ``WmiPrvSE.exe`` as parent (WMI),
    ``wsmprovhost.exe``/``winrshost.exe`` (WinRM), a COM server started with ``-Embedding``
    such as ``mmc.exe`` or ``excel.exe`` (DCOM). Where only Sysmon is logged, a process that
    WMI or WinRM started as a person's account counts too, with a lower score. Sessions of one
    host, account and source within ``gap_minutes`` form one finding. What is ordinary is
    learned (``_Habits``) and not reported: an administrator working from the own workstation
    (the account or its person got a Kerberos TGT from that source within ``lookback_days``) through
    ``owner_channels``, running no tool it did not run that way before; the same account,
    source, channel and programs as on an earlier day; and a management tool pushing the same
    programs to ``fleet_hosts`` hosts within ``fleet_hours``. Output read back
    through ADMIN$ (Impacket) is never routine. Score: the channel's base,
    plus ``tool_score`` when a shell, script host or discovery tool runs, plus
    ``output_score`` when output is read back through ADMIN$ (wmiexec); higher = more
    suspicious.
    """

    id: ClassVar[str] = "remote_execution"
    phrase: ClassVar[str] = "remote execution"
    title: ClassVar[str] = "Process started through a remote logon (WMI, DCOM, WinRM)"
    tactics: ClassVar[tuple[str, ...]] = ("TA0002", "TA0008")
    techniques: ClassVar[tuple[str, ...]] = ("T1047", "T1021.003", "T1021.006")
    severity: ClassVar[str] = "high"
    defaults: ClassVar[dict[str, Any]] = {
        "gap_minutes": 30,
        "wmi_score": 0.5,  # a process WMI started in a network session
        "impacket_score": 0.5,  # output read back through ADMIN$ with no parent logged (wmiexec, dcomexec)
        "dcom_score": 0.6,  # a COM server (mmc.exe -Embedding, Excel automation) in a network session
        "winrm_score": 0.4,  # a PowerShell remoting host in a network session (admins use it daily)
        "other_score": 0.3,  # any other process in a network session
        "unlogged_penalty": 0.15,  # the network logon itself is not in the data (Sysmon only)
        "tool_score": 0.35,  # a shell, script host, LOLBin or discovery tool ran
        "output_score": 0.3,  # output redirected to \\127.0.0.1\ADMIN$ (wmiexec, dcomexec)
        "lookback_days": 28,  # how far back the owner's logons and the known programs are looked for
        "fleet_hosts": 5,  # the same account, source and programs on this many hosts: a management push
        "fleet_hours": 12,  # ... within this many hours either side
        # channels an administrator uses from the own workstation as everyday work; a COM server
        # started remotely (mmc.exe -Embedding, Office automation) is not how anyone administers
        "owner_channels": ["wmi", "winrm", "other"],
    }

    def score(self, con: Db) -> Iterable[Finding]:
        """One finding per host, account, source and burst of remotely started processes."""
        p = self.params
        sessions = _sessions(self.rows(con, REMOTE_PROCESSES_SQL), float(p["gap_minutes"]))
        srcs = sorted({s.src for s in sessions if s.src})
        logons = self.rows(con, SOURCE_LOGONS_SQL, [srcs]) if srcs else []
        habits = _Habits(sessions, logons, int(p["lookback_days"]), float(p["fleet_hours"]))
        for s in sessions:
            finding = self._finding(s, habits)
            if finding is not None:
                yield finding

    def _finding(self, s: _Session, habits: _Habits) -> Finding | None:
        """Scores and reasons for one burst; None when it is ordinary (``_Habits``)."""
        p = self.params
        channels = uniq(c for c in ("dcom", "wmi", "impacket", "winrm", "other") if c in s.channels)
        tools = uniq(_name(x[0]) for x in s.processes if _name(x[0]) in TOOLS)
        if habits.fleet(s) >= int(p["fleet_hosts"]):
            return None  # a management tool pushing the same programs to many hosts at once
        owner = habits.owner(s)
        new_tools = [x for x in tools if x not in habits.known_programs(s, channels)]
        redirect = any(re.search(OUTPUT_REDIRECT_RE, x[2]) for x in s.processes)
        habitual = set(channels) <= set(p["owner_channels"])
        if owner and habitual and not new_tools and not redirect:
            return None  # an administrator at the own workstation, running what it ran from there before
        programs = {_name(x[0]) for x in s.processes}
        if not redirect and programs <= habits.known_programs(s, channels, earlier_days=True):
            return None  # the same account, source, channel and programs as on an earlier day: a habit
        if not s.logged and not (tools or redirect):
            return None  # a remoting host alone, with no logon to say where it came from
        main = channels[0]
        scores = [float(p[f"{main}_score"]) - (0.0 if s.logged else float(p["unlogged_penalty"]))]
        src = f" from {s.src}" if s.src else ""
        logon = "after a network logon" if s.logged else "(its network logon is not in the data)"
        reasons = [
            f"'{s.account}'{src} ran {plural(len(uniq(s.processes)), 'process', 'processes')} on {s.host} through "
            f"{' and '.join(CHANNEL_WORDS[c] for c in channels)} {logon}, in that logon's session: "
            f"{names(uniq(x[0].split(chr(92))[-1] for x in s.processes), 5)}"
        ]
        if tools:
            scores.append(float(p["tool_score"]))
            lines = uniq(x[2] for x in s.processes if _name(x[0]) in TOOLS and x[2])
            shown = f"; e.g. '{lines[0][:160]}'" if lines else ""
            reasons.append(f"it ran {names(tools)}: a shell or tool, what an operator runs next{shown}")
        if redirect:
            scores.append(float(p["output_score"]))
            reasons.append(
                "the command's output is written to \\\\127.0.0.1\\ADMIN$ to be read back over SMB, as "
                "Impacket's wmiexec and dcomexec do"
            )
        if owner:
            reasons.append(
                f"'{owner}' works from {s.src}, but {names(new_tools)} never ran this way from there before"
            )
        elif s.src:
            reasons.append(
                f"neither '{s.account}' nor its person got a Kerberos ticket at {s.src} in the {p['lookback_days']} "
                "days before: not the administrator's own workstation"
            )
        score = min(1.0, 1.0 - _rest(scores))
        return Finding(
            score=score,
            entities={"user": s.account, "host": s.host, "source": s.src},
            first_seen=s.first,
            last_seen=s.last,
            event_ids=uniq(s.eids),
            reasons=reasons,
            severity=severity_for(score),
            techniques=uniq(t for c in channels if c != "other" for t in CHANNEL_TECHNIQUE[c]) or ["T1021"],
        )


def _rest(scores: Iterable[float]) -> float:
    """prod(1 - s): what is left to 1 when independent signals combine."""
    out = 1.0
    for s in scores:
        out *= 1.0 - min(max(s, 0.0), 1.0)
    return out


# Task actions that run something an installer would not: shells, scripts, user-writable places.
SUSPICIOUS_TASK_RE = (
    r"(?i)(cmd(\.exe)?\s*/[ckr]|powershell|pwsh|mshta|rundll32|regsvr32|wscript|cscript|\\temp\\|"
    r"\\users\\public\\|\\programdata\\|\\appdata\\|\.bat\b|\.ps1\b|\.vbs\b|\\\\127\.0\.0\.1\\)"
)
_TASK_COMMAND = f"""trim(concat_ws(' ',
    regexp_extract({ed("TaskContent")}, '<Command>(.*?)</Command>', 1),
    regexp_extract({ed("TaskContent")}, '<Arguments>(.*?)</Arguments>', 1)))"""
# Tasks created or updated (4698/4702), with the network logon whose session created them, the
# remote task-scheduler pipe (atsvc) opened in it, and the deletion of the same task soon after.
REMOTE_TASKS_SQL = f"""
    WITH t AS (
        SELECT "@timestamp" AS ts, "event.id" AS eid, {_HKEY} AS hkey, "host.name" AS host,
               "event.code" AS code, {ed("TaskName")} AS task, {_TASK_COMMAND} AS command,
               lower({ed("SubjectLogonId")}) AS lid, {ed("SubjectUserName")} AS actor,
               {ed("TaskContent")} LIKE '%S-1-5-18%' OR {ed("TaskContent")} LIKE '%HighestAvailable%' AS elevated
        FROM events WHERE "event.code" IN ('4698', '4702') AND {ed("TaskName")} IS NOT NULL
    ), l AS ({NETWORK_LOGONS_SQL})
    SELECT t.*, l.eid AS logon_eid, l.src, l.account,
           (SELECT list(x."event.id") FROM events x
            WHERE x."event.code" = '5145' AND lower({ed("SubjectLogonId", "x")}) = t.lid
              AND lower(split_part(x."host.name", '.', 1)) = t.hkey
              AND lower({ed("RelativeTargetName", "x")}) = 'atsvc') AS pipes,
           (SELECT min(d."@timestamp") FROM events d
            WHERE d."event.code" = '4699' AND lower(split_part(d."host.name", '.', 1)) = t.hkey
              AND {ed("TaskName", "d")} = t.task AND d."@timestamp" >= t.ts) AS deleted,
           (SELECT min(d."event.id") FROM events d
            WHERE d."event.code" = '4699' AND lower(split_part(d."host.name", '.', 1)) = t.hkey
              AND {ed("TaskName", "d")} = t.task AND d."@timestamp" >= t.ts) AS deleted_eid
    FROM t LEFT JOIN l ON l.hkey = t.hkey AND l.lid = t.lid AND t.ts BETWEEN l.ts AND l.ts + INTERVAL 12 HOUR
    ORDER BY t.ts, t.eid
"""


class RemoteScheduledTask(Detector):
    """A scheduled task created or changed from a network logon, or created and deleted at once (T1053.005).

    The task service records the creator's logon id on 4698/4702; when that id is a network
    logon on the host, the task was made remotely (schtasks /s, atexec, a remote task API).
    Tools that borrow a task to run one command delete it within seconds (atexec, smbexec):
    a deletion (4699) within ``quick_delete_minutes`` counts, and alone (without the logon in
    the data) is a finding too. Software deployment is not reported: an account creating a
    task of the same name remotely from the same source on ``routine_days`` other days within
    ``lookback_days`` either side (a weekly patch night, its first one in the data included), or on ``fleet_hosts`` hosts (or twice as many times) within
    ``fleet_hours`` either side (the patch tool's night). Score: ``remote_score`` for a remote creation, plus
    ``quick_delete_score``, ``action_score`` for a shell, script or user-writable path in
    the action and ``system_score`` for a task that runs as SYSTEM; higher = more suspicious.
    """

    id: ClassVar[str] = "remote_scheduled_task"
    phrase: ClassVar[str] = "a remote scheduled task"
    title: ClassVar[str] = "Scheduled task created through a remote logon"
    tactics: ClassVar[tuple[str, ...]] = ("TA0002", "TA0003", "TA0008")
    techniques: ClassVar[tuple[str, ...]] = ("T1053.005",)
    severity: ClassVar[str] = "high"
    defaults: ClassVar[dict[str, Any]] = {
        "remote_score": 0.5,  # created or changed in a network logon's session
        "quick_delete_score": 0.4,  # deleted again within quick_delete_minutes
        "quick_delete_minutes": 10,
        "action_score": 0.3,  # its action runs a shell, a script or something in a user-writable folder
        "system_score": 0.1,  # it runs as SYSTEM or with the highest privileges
        "routine_days": 1,  # other days this account created the task from this source: deployment
        "lookback_days": 28,
        "fleet_hosts": 5,  # ... or hosts it created it on from this source around the same time
        "fleet_hours": 12,
    }

    def score(self, con: Db) -> Iterable[Finding]:
        """One finding per remotely created, or quickly deleted, task."""
        rows = self.rows(con, REMOTE_TASKS_SQL)
        seen: dict[tuple[str, str], list[tuple[Any, str, str]]] = {}
        for r in rows:
            if r["logon_eid"] is not None:
                seen.setdefault((str(r["account"]).lower(), r["src"] or ""), []).append(
                    (r["ts"], r["task"], r["hkey"])
                )
        for r in rows:
            finding = self._finding(r, seen)
            if finding is not None:
                yield finding

    def _deployment(self, r: dict[str, Any], seen: dict[tuple[str, str], list[tuple[Any, str, str]]]) -> bool:
        """Whether the same account pushes this task from this source as routine or to a fleet."""
        p = self.params
        same = [
            (ts, h)
            for ts, t, h in seen.get((str(r["account"]).lower(), r["src"] or ""), [])
            if t == r["task"]
        ]
        days = {
            ts.date()
            for ts, _ in same
            if 0 < abs((r["ts"].date() - ts.date()).days) <= int(p["lookback_days"])
        }
        near = [h for ts, h in same if abs((ts - r["ts"]).total_seconds()) <= 3600 * float(p["fleet_hours"])]
        # many hosts, or one task made again and again: a tool's schedule, not an operator's one command
        return len(days) >= int(p["routine_days"]) or max(len(set(near)), len(near) // 2) >= int(
            p["fleet_hosts"]
        )

    def _finding(
        self, r: dict[str, Any], seen: dict[tuple[str, str], list[tuple[Any, str, str]]]
    ) -> Finding | None:
        """Scores and reasons for one task; None when neither remote nor short-lived, or routine."""
        p = self.params
        remote = r["logon_eid"] is not None
        quick = r["deleted"] is not None and (r["deleted"] - r["ts"]).total_seconds() <= 60 * float(
            p["quick_delete_minutes"]
        )
        who = str(r["account"] or r["actor"] or "?")
        if not remote and who.endswith("$"):
            return None  # Windows' own maintenance tasks come and go under the machine account
        if not (remote or quick):
            return None
        if remote and self._deployment(r, seen):
            return None  # the deployment task this account pushes from this server
        verb = "created" if r["code"] == "4698" else "changed"
        scores: list[float] = []
        eids = [r["eid"]]
        reasons = [f"task '{r['task']}' {verb} on {r['host']} by '{who}' at {when(r['ts'])}"]
        if remote:
            scores.append(float(p["remote_score"]))
            eids.append(r["logon_eid"])
            pipe = " through the task scheduler's pipe (atsvc)" if r["pipes"] else ""
            reasons.append(
                f"in the session of a network logon from {r['src'] or 'an unlogged address'}{pipe}: the task was "
                "made from another host (schtasks /s, atexec, a remote task API)"
            )
            eids.extend(r["pipes"] or [])
        if quick:
            scores.append(float(p["quick_delete_score"]))
            eids.append(r["deleted_eid"])
            reasons.append(
                f"deleted again {int((r['deleted'] - r['ts']).total_seconds())} s later: a task borrowed to run one "
                "command (atexec, smbexec)"
            )
        command = str(r["command"] or "")
        if command and re.search(SUSPICIOUS_TASK_RE, command):
            scores.append(float(p["action_score"]))
            reasons.append(f"its action runs '{command[:200]}'")
        elif command:
            reasons.append(f"its action: '{command[:200]}'")
        if r["elevated"]:
            scores.append(float(p["system_score"]))
            reasons.append("it runs as SYSTEM or with the highest privileges")
        score = 1.0 - _rest(scores)
        return Finding(
            score=score,
            entities={"user": who, "host": r["host"], "source": r["src"] or ""},
            first_seen=r["ts"],
            last_seen=r["deleted"] if quick else r["ts"],
            event_ids=uniq(eids),
            reasons=reasons,
            severity=severity_for(score),
            techniques=["T1053.005", "T1021"] if remote else ["T1053.005"],
        )
