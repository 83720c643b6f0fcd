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
from bluebench.detectors.winsql import ed, names, severity_for, uniq, when
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

CHANNEL_TECHNIQUE = {"wmi": "T1047", "dcom": "T1021.003", "winrm": "T1021.006", "other": "T1021"}
CHANNEL_WORDS = {
    "wmi": "WMI (WmiPrvSE.exe started it)",
    "dcom": "DCOM (a COM server started with -Embedding)",
    "winrm": "WinRM (PowerShell remoting's wsmprovhost.exe)",
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
    ORDER BY 1, 2
"""


def _name(path: str | None) -> str:
    """The file name of a Windows path, lower case ('' for none)."""
    return re.split(r"[\\/]", path or "")[-1].lower()


def channel_of(image: str | None, parent: str | None, cmd: str | None) -> str:
    """Which remote launcher started a process: 'wmi', 'winrm', 'dcom' or 'other'."""
    img, par, line = _name(image), _name(parent), (cmd or "").lower()
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


class _Habits:
    """What each account did remotely from each source on earlier days: days and programs, per channel."""

    def __init__(self, sessions: list[_Session], lookback_days: int) -> None:
        self.lookback = lookback_days
        self.seen: dict[tuple[str, str, str], list[tuple[Any, set[str]]]] = {}
        for s in sessions:
            for ch in set(s.channels):
                key = (s.account.lower(), s.src, ch)
                self.seen.setdefault(key, []).append((s.first.date(), {_name(p[0]) for p in s.processes}))

    def before(self, s: _Session, channel: str) -> tuple[int, set[str]]:
        """Earlier days (within the lookback) this account used this channel from this source, and their programs."""
        day = s.first.date()
        days, programs = set(), set()
        for d, progs in self.seen.get((s.account.lower(), s.src, channel), []):
            if 0 < (day - d).days <= self.lookback:
                days.add(d)
                programs |= progs
        return len(days), programs


class RemoteExecution(Detector):
    """Processes started in a network logon's session by WMI, DCOM or WinRM (T1047, T1021.003, T1021.006).

    A process whose session is a network logon (4624 type 3 on the same host, same logon id)
    was started remotely; its launcher names the channel: ``WmiPrvSE.exe`` as parent (WMI),
    ``wsmprovhost.exe``/``winrshost.exe`` (WinRM), a COM server started with ``-Embedding``
    such as ``mmc.exe`` or ``excel.exe`` (DCOM). Where only Sysmon is logged, a process that
    WMI or WinRM started as a person's account counts too, with a lower score. Sessions of one
    host, account and source within ``gap_minutes`` form one finding. An account that used the
    channel from that source on ``routine_days`` of the ``lookback_days`` before, running only
    programs it ran then, is routine (configuration management). Score: the channel's base,
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
        "dcom_score": 0.6,  # a COM server (mmc.exe -Embedding, Excel automation) in a network session
        "winrm_score": 0.4,  # a PowerShell remoting host in a network session (admins use it daily)
        "other_score": 0.3,  # any other process in a network session
        "unlogged_penalty": 0.15,  # the network logon itself is not in the data (Sysmon only)
        "tool_score": 0.35,  # a shell, script host, LOLBin or discovery tool ran
        "output_score": 0.3,  # output redirected to \\127.0.0.1\ADMIN$ (wmiexec, dcomexec)
        "routine_days": 2,  # earlier days with this account, source and channel that make it routine
        "lookback_days": 28,
    }

    def score(self, con: Db) -> Iterable[Finding]:
        """One finding per host, account, source and burst of remotely started processes."""
        p = self.params
        sessions = _sessions(self.rows(con, REMOTE_PROCESSES_SQL), float(p["gap_minutes"]))
        habits = _Habits(sessions, int(p["lookback_days"]))
        for s in sessions:
            finding = self._finding(s, habits)
            if finding is not None:
                yield finding

    def _finding(self, s: _Session, habits: _Habits) -> Finding | None:
        """Scores and reasons for one burst; None when it is this account's routine."""
        p = self.params
        channels = uniq(c for c in ("dcom", "wmi", "winrm", "other") if c in s.channels)
        programs = {_name(x[0]) for x in s.processes}
        routine = []
        for ch in channels:
            days, known = habits.before(s, ch)
            if days >= int(p["routine_days"]) and programs <= known:
                routine.append(ch)
        if set(channels) <= set(routine):
            return None  # the same programs from the same place by the same account as on other days
        main = channels[0]
        scores = [float(p[f"{main}_score"]) - (0.0 if s.logged else float(p["unlogged_penalty"]))]
        src = f" from {s.src}" if s.src else ""
        logon = "after a network logon" if s.logged else "(its network logon is not in the data)"
        reasons = [
            f"'{s.account}'{src} ran {plural(len(uniq(s.processes)), 'process', 'processes')} on {s.host} through "
            f"{' and '.join(CHANNEL_WORDS[c] for c in channels)} {logon}, in that logon's session: "
            f"{names(uniq(x[0].split(chr(92))[-1] for x in s.processes), 5)}"
        ]
        tools = uniq(_name(x[0]) for x in s.processes if _name(x[0]) in TOOLS)
        if tools:
            scores.append(float(p["tool_score"]))
            lines = uniq(x[2] for x in s.processes if _name(x[0]) in TOOLS and x[2])
            shown = f"; e.g. '{lines[0][:160]}'" if lines else ""
            reasons.append(f"it ran {names(tools)}: a shell or tool, what an operator runs next{shown}")
        if any(re.search(OUTPUT_REDIRECT_RE, x[2]) for x in s.processes):
            scores.append(float(p["output_score"]))
            reasons.append(
                "the command's output is written to \\\\127.0.0.1\\ADMIN$ to be read back over SMB, as "
                "Impacket's wmiexec and dcomexec do"
            )
        if routine:
            reasons.append(
                f"'{s.account}' uses {names(routine)} from here on other days, but not these programs"
            )
        else:
            reasons.append(
                f"not seen from '{s.account}'{src} on the {p['lookback_days']} days before (management "
                "tools repeat the same commands from the same server every day)"
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
            techniques=uniq(CHANNEL_TECHNIQUE[c] for c in channels if c != "other") or ["T1021"],
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
    the data) is a finding too. An account creating tasks remotely from the same source on
    ``routine_days`` of the ``lookback_days`` before, with a task name it used then, is
    routine (software deployment). Score: ``remote_score`` for a remote creation, plus
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
        "routine_days": 1,  # earlier days this account created tasks from this source: deployment
        "lookback_days": 28,
    }

    def score(self, con: Db) -> Iterable[Finding]:
        """One finding per remotely created, or quickly deleted, task."""
        rows = self.rows(con, REMOTE_TASKS_SQL)
        seen: dict[tuple[str, str], list[tuple[Any, str]]] = {}
        for r in rows:
            if r["logon_eid"] is not None:
                seen.setdefault((str(r["account"]).lower(), r["src"] or ""), []).append(
                    (r["ts"].date(), r["task"])
                )
        for r in rows:
            finding = self._finding(r, seen)
            if finding is not None:
                yield finding

    def _finding(
        self, r: dict[str, Any], seen: dict[tuple[str, str], list[tuple[Any, str]]]
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
        if remote and not quick:
            day = r["ts"].date()
            earlier = [
                (d, t)
                for d, t in seen.get((who.lower(), r["src"] or ""), [])
                if 0 < (day - d).days <= int(p["lookback_days"])
            ]
            if len({d for d, _ in earlier}) >= int(p["routine_days"]) and r["task"] in {
                t for _, t in earlier
            }:
                return None  # the deployment task this account pushes from this server every time
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
