"""Templates of remote execution, scheduled tasks, RPC pipes and unusual logons (appended after ``templates``).

Positions continue after the first table's, so every earlier template keeps its ``tpl`` value.
Processes, tasks, pipes and logon processes are looked up in the catalog's ``TREES``,
``TASKS``, ``PIPES`` and ``LOGON_PROCS`` by the ``obj`` column.
"""

from __future__ import annotations

from bluebench.datagen.layout import (
    SUBJ_MACHINE,
    SUBJ_SUBJ,
    SUBJ_USER,
    TARGET,
    event_data,
    failed_layout,
    logon_layout,
    win_record,
)

ANONYMOUS_SUBJECT = {
    "SubjectUserSid": "S-1-5-7",
    "SubjectUserName": "ANONYMOUS LOGON",
    "SubjectDomainName": "NT AUTHORITY",
    "SubjectLogonId": "0x3e6",
}


def _process(subject: dict[str, str], target_logon: str) -> str:
    """A 4688 whose image, parent and command line come from ``TREES``."""
    target = (
        {**TARGET, "TargetLogonId": "%(lid)"}
        if target_logon == "%(lid)"
        else {
            "TargetUserSid": "S-1-0-0",
            "TargetUserName": "-",
            "TargetDomainName": "-",
            "TargetLogonId": "0x0",
        }
    )
    return win_record(
        "4688",
        "Process Creation",
        "created-process",
        "success",
        "A new process has been created.",
        event_data(
            **subject,
            NewProcessId="%(npid)",
            NewProcessName="%(cimage)",
            TokenElevationType="%%1936",
            ProcessId="0x1a8c",
            CommandLine="%(ccmd)",
            **target,
            ParentProcessName="%(cparent)",
            MandatoryLabel="S-1-16-12288",
        ),
    )


def _task(code: str, message: str) -> str:
    """A 4698/4699 by the user of the ``lid`` session, the task from ``TASKS``."""
    content = (
        '<?xml version="1.0" encoding="UTF-16"?><Task version="1.2"><Principals><Principal id="Author">'
        "<UserId>S-1-5-18</UserId><RunLevel>HighestAvailable</RunLevel></Principal></Principals><Actions "
        'Context="Author"><Exec><Command>%(otaskcmd)</Command></Exec></Actions></Task>'
    )
    fields = {**SUBJ_USER, "TaskName": "%(otask)"}
    if code == "4698":
        fields["TaskContent"] = content
    return win_record(code, "Other Object Access Events", "", "success", message, event_data(**fields))


def _computer_changed(subject: dict[str, str]) -> str:
    """A 4742 setting a computer account's password (``user``), by ``subject``."""
    return win_record(
        "4742",
        "Computer Account Management",
        "changed-computer-account",
        "success",
        "A computer account was changed.",
        event_data(
            ComputerAccountChange="-",
            TargetUserName="%(user)",
            TargetDomainName="%(udom)",
            TargetSid="%(usid)",
            **subject,
            PrivilegeList="-",
            SamAccountName="-",
            PasswordLastSet="%(ts)",
        ),
    )


EXEC_TEMPLATES: dict[str, tuple[str, str]] = {
    # a process created by another account (WMI's host, the DCOM launcher) in the ``lid`` session
    "process_session": ("win", _process(SUBJ_SUBJ, "%(lid)")),
    # a process the user of the ``lid`` session started
    "process_in_session": ("win", _process(SUBJ_USER, "0x0")),
    "task_created": ("win", _task("4698", "A scheduled task was created.")),
    "task_deleted": ("win", _task("4699", "A scheduled task was deleted.")),
    "pipe": (
        "win",
        win_record(
            "5145",
            "Detailed File Share",
            "network-share-object-access-checked",
            "success",
            "A network share object was checked to see whether client can be granted desired access.",
            event_data(
                **SUBJ_USER,
                ObjectType="File",
                IpAddress="%(ip)",
                IpPort="%(port)",
                ShareName="\\\\*\\IPC$",
                ShareLocalPath="",
                RelativeTargetName="%(opipe)",
                AccessMask="0x3",
                AccessList="%%1538\n\t\t\t\t%%1541\n\t\t\t\t%%4416\n\t\t\t\t%%4417\n\t\t\t\t",
                AccessReason="-",
            ),
        ),
    ),
    "computer_changed_anonymous": ("win", _computer_changed(ANONYMOUS_SUBJECT)),
    "computer_changed": ("win", _computer_changed(SUBJ_SUBJ)),
    # explicit credentials presented by a program (``TREES`` image) for the ``user`` account
    "explicit_tool": (
        "win",
        win_record(
            "4648",
            "Logon",
            "logged-in-explicit",
            "success",
            "A logon was attempted using explicit credentials.",
            event_data(
                **SUBJ_SUBJ,
                LogonGuid="{00000000-0000-0000-0000-000000000000}",
                TargetUserName="%(user)",
                TargetDomainName="%(udom)",
                TargetLogonGuid="{00000000-0000-0000-0000-000000000000}",
                TargetServerName="localhost",
                TargetInfo="localhost",
                ProcessId="0x2a10",
                ProcessName="%(cimage)",
                IpAddress="::1",
                IpPort="0",
            ),
        ),
    ),
    # logons through a program's own logon process (``LOGON_PROCS``), type in ``aux``
    "logon_custom": (
        "win",
        logon_layout(
            SUBJ_MACHINE, "%(aux)", "%(olp)", "Negotiate", "%(hshort)", "127.0.0.1", "0", "%(olpexe)"
        ),
    ),
    "failed_custom": (
        "win",
        failed_layout(
            SUBJ_MACHINE, "%(aux)", "%(olp)", "Negotiate", "%(hshort)", "127.0.0.1", "0", "%(olpexe)"
        ),
    ),
}
