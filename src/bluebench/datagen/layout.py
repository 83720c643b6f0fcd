"""Layout helpers the templates are written with: a Winlogbeat record, EventData, logon layouts, subjects.

Constants are JSON-escaped once here; ``%(field)`` placeholders are filled per column by
``format.Formatter``. Two template tables use them: ``templates`` (authentication, accounts,
shares, services, Linux) and ``templates_exec`` (remote execution, tasks, pipes).
"""

from __future__ import annotations

import re

from bluebench.datagen.columns import json_escaped
from bluebench.datagen.names import DOMAIN

PRIVILEGES = (
    "SeSecurityPrivilege\n\t\t\tSeBackupPrivilege\n\t\t\tSeRestorePrivilege\n\t\t\t"
    "SeTakeOwnershipPrivilege\n\t\t\tSeDebugPrivilege\n\t\t\tSeSystemEnvironmentPrivilege\n\t\t\t"
    "SeLoadDriverPrivilege\n\t\t\tSeImpersonatePrivilege\n\t\t\tSeDelegateSessionUserImpersonatePrivilege"
)

SEC_PROVIDER = ("Microsoft-Windows-Security-Auditing", "{54849625-5478-4994-a5ba-3e3b0328c30d}")
EVENTLOG_PROVIDER = ("Microsoft-Windows-Eventlog", "{fc65ddd8-d6ef-4962-83d5-6e5cfe9ce148}")
SCM_PROVIDER = ("Service Control Manager", "{555908d1-a6d7-4695-8e1e-26931d2012f4}")
FIELD = re.compile(r"%\((\w+)\)")


def event_data(**fields: str) -> str:
    """EventData as JSON members; values may hold %(field) placeholders, constants are escaped."""
    parts = []
    for k, v in fields.items():
        pieces = FIELD.split(v)
        text = "".join(json_escaped(p) if i % 2 == 0 else f"%({p})" for i, p in enumerate(pieces))
        parts.append(f'"{k}":"{text}"')
    return ",".join(parts)


def win_record(
    code: str,
    task: str,
    action: str,
    outcome: str,
    message: str,
    event_data: str,
    provider: tuple[str, str] = SEC_PROVIDER,
    channel: str = "Security",
    user_data: bool = False,
) -> str:
    """A Winlogbeat 8 record (one line) with the given EventData members."""
    keywords = '"Audit Failure"' if outcome == "failure" else '"Audit Success"'
    if outcome.startswith("%("):
        keywords = '"%(nkw)"'
    if channel != "Security":
        keywords = '"Classic"'
    out = f',"outcome":"{outcome}"' if outcome else ""
    data = (
        f'"user_data":{{{event_data},"xml_name":"LogFileCleared"}}'
        if user_data
        else f'"event_data":{{{event_data}}}'
    )
    return (
        '{"@timestamp":"%(ts)","agent":{"type":"winlogbeat","version":"8.17.0","name":"%(hshort)"},'
        '"ecs":{"version":"8.0.0"},"host":{"name":"%(hlower)"},'
        f'"event":{{"code":"{code}","kind":"event","provider":"{provider[0]}","action":"{action}"{out}}},'
        '"log":{"level":"information"},'
        f'"winlog":{{"api":"wineventlog","channel":"{channel}","computer_name":"%(host)","event_id":"{code}",'
        f'"provider_name":"{provider[0]}","provider_guid":"{provider[1]}","record_id":%(rec),"task":"{task}",'
        f'"keywords":[{keywords}],"opcode":"Info","process":{{"pid":%(hpid),"thread":{{"id":%(thread)}}}},{data}}},'
        f'"message":"{json_escaped(message)}"}}\n'
    )


SUBJ_MACHINE = {
    "SubjectUserSid": "%(hmsid)",
    "SubjectUserName": "%(hmacc)",
    "SubjectDomainName": DOMAIN,
    "SubjectLogonId": "0x3e7",
}
SUBJ_NULL = {
    "SubjectUserSid": "S-1-0-0",
    "SubjectUserName": "-",
    "SubjectDomainName": "-",
    "SubjectLogonId": "0x0",
}
SUBJ_USER = {
    "SubjectUserSid": "%(usid)",
    "SubjectUserName": "%(user)",
    "SubjectDomainName": "%(udom)",
    "SubjectLogonId": "%(lid)",
}
SUBJ_SUBJ = {
    "SubjectUserSid": "%(ssid)",
    "SubjectUserName": "%(subj)",
    "SubjectDomainName": "%(sdom)",
    "SubjectLogonId": "%(slid)",
}
TARGET = {"TargetUserSid": "%(usid)", "TargetUserName": "%(user)", "TargetDomainName": "%(udom)"}


def logon_layout(
    subject: dict[str, str],
    logon_type: str,
    process: str,
    package: str,
    ws: str,
    ip: str,
    port: str,
    proc: str,
    keylen: str = "0",
    lm: str = "-",
    **extra: str,
) -> str:
    """A 4624 layout; the subject, logon type and process are what tell the logon kinds apart."""
    return win_record(
        "4624",
        "Logon",
        "logged-in",
        "success",
        "An account was successfully logged on.",
        event_data(
            **subject,
            **TARGET,
            TargetLogonId="%(lid)",
            LogonType=logon_type,
            LogonProcessName=process,
            AuthenticationPackageName=package,
            WorkstationName=ws,
            LogonGuid="{00000000-0000-0000-0000-000000000000}",
            TransmittedServices="-",
            LmPackageName=lm,
            KeyLength=keylen,
            ProcessId="0x0" if proc == "-" else "0x2c4",
            ProcessName=proc,
            IpAddress=ip,
            IpPort=port,
            ImpersonationLevel="%%1833",
            RestrictedAdminMode="-",
            VirtualAccount="%%1843",
            ElevatedToken="%%1842",
            **extra,
        ),
    )


def failed_layout(
    subject: dict[str, str],
    logon_type: str,
    process: str,
    package: str,
    ws: str,
    ip: str,
    port: str,
    proc: str,
) -> str:
    """A 4625 layout: the target SID is always null, status and reason come from the ``st`` column."""
    return win_record(
        "4625",
        "Logon",
        "logon-failed",
        "failure",
        "An account failed to log on.",
        event_data(
            **subject,
            TargetUserSid="S-1-0-0",
            TargetUserName="%(user)",
            TargetDomainName="%(udom)",
            Status="%(wst)",
            FailureReason="%(wreason)",
            SubStatus="%(wsub)",
            LogonType=logon_type,
            LogonProcessName=process,
            AuthenticationPackageName=package,
            WorkstationName=ws,
            TransmittedServices="-",
            LmPackageName="-",
            KeyLength="0",
            ProcessId="0x0" if proc == "-" else "0x2c4",
            ProcessName=proc,
            IpAddress=ip,
            IpPort=port,
        ),
    )


SVCHOST = "C:\\Windows\\System32\\svchost.exe"
LSASS = "C:\\Windows\\System32\\lsass.exe"
SERVICES_EXE = "C:\\Windows\\System32\\services.exe"


def linux_line(program: str, message: str) -> str:
    """An auth.log line: RFC 3339 time, short host name, program[pid]."""
    return f"%(lts) %(hshort) {program}[%(pid)]: {message}\n"
