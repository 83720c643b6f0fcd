"""Line layouts: each template is one Winlogbeat record or auth.log line with %(field) placeholders.

``TEMPLATES`` maps a name to its stream (``win`` or ``linux``) and layout; an event's ``tpl``
column is the template's position (``TPL[name]``). Constants are JSON-escaped once here; the
placeholders are filled per column by ``format.Formatter``. A new event type is a new entry at
the end (positions are what the columns store) and, if it needs one, a new placeholder in the
formatter.
"""

from __future__ import annotations

import re

import numpy as np

from bluebench.datagen.columns import json_escaped
from bluebench.datagen.names import DOMAIN, DOMAIN_SID, REALM

PRIVILEGES = (
    "SeSecurityPrivilege\n\t\t\tSeBackupPrivilege\n\t\t\tSeRestorePrivilege\n\t\t\t"
    "SeTakeOwnershipPrivilege\n\t\t\tSeDebugPrivilege\n\t\t\tSeSystemEnvironmentPrivilege\n\t\t\t"
    "SeLoadDriverPrivilege\n\t\t\tSeImpersonatePrivilege\n\t\t\tSeDelegateSessionUserImpersonatePrivilege"
)

SEC_PROVIDER = ("Microsoft-Windows-Security-Auditing", "{54849625-5478-4994-a5ba-3e3b0328c30d}")
EVENTLOG_PROVIDER = ("Microsoft-Windows-Eventlog", "{fc65ddd8-d6ef-4962-83d5-6e5cfe9ce148}")
SCM_PROVIDER = ("Service Control Manager", "{555908d1-a6d7-4695-8e1e-26931d2012f4}")
FIELD = re.compile(r"%\((\w+)\)")


def _ed(**fields: str) -> str:
    """EventData as JSON members; values may hold %(field) placeholders, constants are escaped."""
    parts = []
    for k, v in fields.items():
        pieces = FIELD.split(v)
        text = "".join(json_escaped(p) if i % 2 == 0 else f"%({p})" for i, p in enumerate(pieces))
        parts.append(f'"{k}":"{text}"')
    return ",".join(parts)


def _win(
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


def _logon(
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
    return _win(
        "4624",
        "Logon",
        "logged-in",
        "success",
        "An account was successfully logged on.",
        _ed(
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


def _failed(
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
    return _win(
        "4625",
        "Logon",
        "logon-failed",
        "failure",
        "An account failed to log on.",
        _ed(
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


def _linux(program: str, message: str) -> str:
    """An auth.log line: RFC 3339 time, short host name, program[pid]."""
    return f"%(lts) %(hshort) {program}[%(pid)]: {message}\n"


# name: (stream, layout); the position is the ``tpl`` column's value, so append only
TEMPLATES: dict[str, tuple[str, str]] = {
    "logon_interactive": (
        "win",
        _logon(SUBJ_MACHINE, "%(aux)", "User32 ", "Negotiate", "%(hshort)", "127.0.0.1", "0", SVCHOST),
    ),
    "logon_net_krb": ("win", _logon(SUBJ_NULL, "3", "Kerberos", "Kerberos", "-", "%(ip)", "%(port)", "-")),
    "logon_net_ntlm": (
        "win",
        _logon(
            SUBJ_NULL,
            "3",
            "NtLmSsp ",
            "NTLM",
            "%(src)",
            "%(ip)",
            "%(port)",
            "-",
            keylen="%(aux)",
            lm="NTLM V2",
        ),
    ),
    "logon_service": (
        "win",
        _logon(
            SUBJ_MACHINE | {"SubjectUserSid": "S-1-5-18"},
            "5",
            "Advapi  ",
            "Negotiate",
            "-",
            "-",
            "-",
            SERVICES_EXE,
        ),
    ),
    "logon_rdp": (
        "win",
        _logon(SUBJ_MACHINE, "10", "User32 ", "Negotiate", "%(hshort)", "%(ip)", "%(port)", SVCHOST),
    ),
    "logon_cleartext": (
        "win",
        _logon(
            SUBJ_MACHINE,
            "8",
            "Advapi  ",
            "Negotiate",
            "%(hshort)",
            "%(ip)",
            "%(port)",
            "C:\\Windows\\System32\\inetsrv\\w3wp.exe",
        ),
    ),
    "logon_newcreds": (
        "win",
        _logon(
            SUBJ_USER,
            "9",
            "seclogo",
            "Negotiate",
            "-",
            "::1",
            "0",
            SVCHOST,
            TargetOutboundUserName="%(oacct)",
            TargetOutboundDomainName=DOMAIN,
        ),
    ),
    "failed_interactive": (
        "win",
        _failed(SUBJ_MACHINE, "2", "User32 ", "Negotiate", "%(hshort)", "127.0.0.1", "0", SVCHOST),
    ),
    "failed_net": ("win", _failed(SUBJ_NULL, "3", "NtLmSsp ", "NTLM", "%(src)", "%(ip)", "%(port)", "-")),
    "failed_cleartext": (
        "win",
        _failed(
            SUBJ_MACHINE,
            "8",
            "Advapi  ",
            "Negotiate",
            "%(hshort)",
            "%(ip)",
            "%(port)",
            "C:\\Windows\\System32\\inetsrv\\w3wp.exe",
        ),
    ),
    "logoff": (
        "win",
        _win(
            "4634",
            "Logoff",
            "logged-out",
            "success",
            "An account was logged off.",
            _ed(**TARGET, TargetLogonId="%(lid)", LogonType="%(aux)"),
        ),
    ),
    "user_logoff": (
        "win",
        _win(
            "4647",
            "Logoff",
            "logged-out",
            "success",
            "User initiated logoff:",
            _ed(**TARGET, TargetLogonId="%(lid)"),
        ),
    ),
    "special": (
        "win",
        _win(
            "4672",
            "Special Logon",
            "logged-in-special",
            "success",
            "Special privileges assigned to new logon.",
            _ed(**SUBJ_USER, PrivilegeList=PRIVILEGES),
        ),
    ),
    "tgt": (
        "win",
        _win(
            "4768",
            "Kerberos Authentication Service",
            "kerberos-authentication-ticket-requested",
            "success",
            "A Kerberos authentication ticket (TGT) was requested.",
            _ed(
                TargetUserName="%(user)",
                TargetDomainName=REALM,
                TargetSid="%(usid)",
                ServiceName="krbtgt",
                ServiceSid=DOMAIN_SID + "-502",
                TicketOptions="0x40810010",
                Status="%(kst)",
                TicketEncryptionType="%(enc)",
                PreAuthType="%(aux)",
                IpAddress="::ffff:%(ip)",
                IpPort="%(port)",
                CertIssuerName="",
                CertSerialNumber="",
                CertThumbprint="",
            ),
        ),
    ),
    "tgt_failed": (
        "win",
        _win(
            "4768",
            "Kerberos Authentication Service",
            "kerberos-authentication-ticket-requested",
            "failure",
            "A Kerberos authentication ticket (TGT) was requested.",
            _ed(
                TargetUserName="%(user)",
                TargetDomainName=REALM,
                TargetSid="S-1-0-0",
                ServiceName="krbtgt/" + REALM,
                ServiceSid="S-1-0-0",
                TicketOptions="0x40810010",
                Status="%(kst)",
                TicketEncryptionType="0xffffffff",
                PreAuthType="-",
                IpAddress="::ffff:%(ip)",
                IpPort="%(port)",
                CertIssuerName="",
                CertSerialNumber="",
                CertThumbprint="",
            ),
        ),
    ),
    "tgs": (
        "win",
        _win(
            "4769",
            "Kerberos Service Ticket Operations",
            "kerberos-service-ticket-requested",
            "success",
            "A Kerberos service ticket was requested.",
            _ed(
                TargetUserName="%(uupn)",
                TargetDomainName=REALM,
                ServiceName="%(svc)",
                ServiceSid="%(svcsid)",
                TicketOptions="%(topt)",
                TicketEncryptionType="%(enc)",
                IpAddress="::ffff:%(ip)",
                IpPort="%(port)",
                Status="%(kst)",
                LogonGuid="{%(guid)}",
                TransmittedServices="-",
            ),
        ),
    ),
    "preauth_failed": (
        "win",
        _win(
            "4771",
            "Kerberos Authentication Service",
            "kerberos-preauth-failed",
            "failure",
            "Kerberos pre-authentication failed.",
            _ed(
                TargetUserName="%(user)",
                TargetSid="%(usid)",
                ServiceName="krbtgt/" + REALM,
                TicketOptions="0x40810010",
                Status="%(kst)",
                PreAuthType="2",
                IpAddress="::ffff:%(ip)",
                IpPort="%(port)",
                CertIssuerName="",
                CertSerialNumber="",
                CertThumbprint="",
            ),
        ),
    ),
    "ntlm": (
        "win",
        _win(
            "4776",
            "Credential Validation",
            "credential-validated",
            "%(nout)",
            "The computer attempted to validate the credentials for an account.",
            _ed(
                PackageName="MICROSOFT_AUTHENTICATION_PACKAGE_V1_0",
                TargetUserName="%(user)",
                Workstation="%(src)",
                Status="%(nst)",
            ),
        ),
    ),
    "explicit": (
        "win",
        _win(
            "4648",
            "Logon",
            "logged-in-explicit",
            "success",
            "A logon was attempted using explicit credentials.",
            _ed(
                **SUBJ_SUBJ,
                LogonGuid="{00000000-0000-0000-0000-000000000000}",
                TargetUserName="%(user)",
                TargetDomainName="%(udom)",
                TargetLogonGuid="{%(guid)}",
                TargetServerName="%(ohost)",
                TargetInfo="%(ohost)",
                ProcessId="0x1f4c",
                ProcessName=SVCHOST,
                IpAddress="-",
                IpPort="-",
            ),
        ),
    ),
    "share": (
        "win",
        _win(
            "5140",
            "File Share",
            "network-share-object-accessed",
            "success",
            "A network share object was accessed.",
            _ed(
                **SUBJ_USER,
                ObjectType="File",
                IpAddress="%(ip)",
                IpPort="%(port)",
                ShareName="%(oshare)",
                ShareLocalPath="%(osharepath)",
                AccessMask="0x1",
                AccessList="%%4416\n\t\t\t\t",
            ),
        ),
    ),
    "service_installed": (
        "win",
        _win(
            "7045",
            "None",
            "service-installed",
            "",
            "A service was installed in the system.",
            _ed(
                ServiceName="%(osvc)",
                ImagePath="%(oimage)",
                ServiceType="user mode service",
                StartType="%(ostart)",
                AccountName="%(oaccount)",
            ),
            provider=SCM_PROVIDER,
            channel="System",
        ),
    ),
    "process": (
        "win",
        _win(
            "4688",
            "Process Creation",
            "created-process",
            "success",
            "A new process has been created.",
            _ed(
                **SUBJ_USER,
                NewProcessId="%(npid)",
                NewProcessName="%(oproc)",
                TokenElevationType="%%1938",
                ProcessId="0x1a8c",
                CommandLine="",
                TargetUserSid="S-1-0-0",
                TargetUserName="-",
                TargetDomainName="-",
                TargetLogonId="0x0",
                ParentProcessName="C:\\Windows\\explorer.exe",
                MandatoryLabel="S-1-16-8192",
            ),
        ),
    ),
    "user_created": (
        "win",
        _win(
            "4720",
            "User Account Management",
            "added-user-account",
            "success",
            "A user account was created.",
            _ed(
                TargetUserName="%(user)",
                TargetDomainName="%(udom)",
                TargetSid="%(usid)",
                **SUBJ_SUBJ,
                PrivilegeList="-",
                SamAccountName="%(user)",
                DisplayName="%(user)",
                UserPrincipalName="%(uupn)",
                HomeDirectory="-",
                HomePath="-",
                ScriptPath="-",
                ProfilePath="-",
                UserWorkstations="-",
                PasswordLastSet="%%1794",
                AccountExpires="%%1794",
                PrimaryGroupId="513",
                AllowedToDelegateTo="-",
                OldUacValue="0x0",
                NewUacValue="0x15",
                UserAccountControl="\n\t\t%%2080\n\t\t%%2082\n\t\t%%2084",
                UserParameters="%%1793",
                SidHistory="-",
                LogonHours="%%1797",
            ),
        ),
    ),
    "user_enabled": (
        "win",
        _win(
            "4722",
            "User Account Management",
            "enabled-user-account",
            "success",
            "A user account was enabled.",
            _ed(TargetUserName="%(user)", TargetDomainName="%(udom)", TargetSid="%(usid)", **SUBJ_SUBJ),
        ),
    ),
    "password_reset": (
        "win",
        _win(
            "4724",
            "User Account Management",
            "reset-password",
            "success",
            "An attempt was made to reset an account's password.",
            _ed(TargetUserName="%(user)", TargetDomainName="%(udom)", TargetSid="%(usid)", **SUBJ_SUBJ),
        ),
    ),
    "user_changed": (
        "win",
        _win(
            "4738",
            "User Account Management",
            "modified-user-account",
            "success",
            "A user account was changed.",
            _ed(
                TargetUserName="%(user)",
                TargetDomainName="%(udom)",
                TargetSid="%(usid)",
                **SUBJ_SUBJ,
                PrivilegeList="-",
            ),
        ),
    ),
    "group_add_local": (
        "win",
        _win(
            "4732",
            "Security Group Management",
            "added-member-to-group",
            "success",
            "A member was added to a security-enabled local group.",
            _ed(
                MemberName="%(udn)",
                MemberSid="%(usid)",
                TargetUserName="%(ogroup)",
                TargetDomainName="%(ogroupdom)",
                TargetSid="%(ogroupsid)",
                **SUBJ_SUBJ,
                PrivilegeList="-",
            ),
        ),
    ),
    "group_add_global": (
        "win",
        _win(
            "4728",
            "Security Group Management",
            "added-member-to-group",
            "success",
            "A member was added to a security-enabled global group.",
            _ed(
                MemberName="%(udn)",
                MemberSid="%(usid)",
                TargetUserName="%(ogroup)",
                TargetDomainName="%(ogroupdom)",
                TargetSid="%(ogroupsid)",
                **SUBJ_SUBJ,
                PrivilegeList="-",
            ),
        ),
    ),
    "log_cleared": (
        "win",
        _win(
            "1102",
            "Log clear",
            "audit-log-cleared",
            "",
            "The audit log was cleared.",
            _ed(
                SubjectUserSid="%(usid)",
                SubjectUserName="%(user)",
                SubjectDomainName="%(udom)",
                SubjectLogonId="%(lid)",
            ),
            provider=EVENTLOG_PROVIDER,
            user_data=True,
        ),
    ),
    # Linux auth.log lines (RFC 3339 time stamps, as rsyslog writes them by default today)
    "ssh_accept_key": (
        "linux",
        _linux("sshd", "Accepted publickey for %(user) from %(ip) port %(port) ssh2: ED25519 SHA256:%(fp)"),
    ),
    "ssh_accept_pw": ("linux", _linux("sshd", "Accepted password for %(user) from %(ip) port %(port) ssh2")),
    "ssh_failed_pw": ("linux", _linux("sshd", "Failed password for %(user) from %(ip) port %(port) ssh2")),
    "ssh_failed_invalid": (
        "linux",
        _linux("sshd", "Failed password for invalid user %(user) from %(ip) port %(port) ssh2"),
    ),
    "ssh_invalid_user": ("linux", _linux("sshd", "Invalid user %(user) from %(ip) port %(port)")),
    "ssh_pam_failure": (
        "linux",
        _linux(
            "sshd",
            "pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=%(ip)  user=%(user)",
        ),
    ),
    "ssh_session_open": (
        "linux",
        _linux("sshd", "pam_unix(sshd:session): session opened for user %(user)(uid=%(uid)) by (uid=0)"),
    ),
    "ssh_session_close": ("linux", _linux("sshd", "pam_unix(sshd:session): session closed for user %(user)")),
    "ssh_disconnect": ("linux", _linux("sshd", "Disconnected from user %(user) %(ip) port %(port)")),
    "ssh_closed_preauth": (
        "linux",
        _linux("sshd", "Connection closed by authenticating user %(user) %(ip) port %(port) [preauth]"),
    ),
    "sudo_cmd": (
        "linux",
        _linux("sudo", "   %(user) : TTY=pts/0 ; PWD=/home/%(user) ; USER=root ; COMMAND=%(osudo)"),
    ),
    "sudo_session": (
        "linux",
        _linux("sudo", "pam_unix(sudo:session): session opened for user root(uid=0) by %(user)(uid=%(uid))"),
    ),
    "cron_open": (
        "linux",
        _linux("CRON", "pam_unix(cron:session): session opened for user root(uid=0) by (uid=0)"),
    ),
    "cron_close": ("linux", _linux("CRON", "pam_unix(cron:session): session closed for user root")),
    "useradd": (
        "linux",
        _linux(
            "useradd",
            "new user: name=%(user), UID=%(uid), GID=%(uid), home=/home/%(user), shell=/bin/bash, from=/dev/pts/1",
        ),
    ),
    "usermod_group": ("linux", _linux("usermod", "add '%(user)' to group 'sudo'")),
}
TPL = {name: i for i, name in enumerate(TEMPLATES)}
STREAMS = ("win", "linux")
TPL_STREAM = np.array([STREAMS.index(s) for s, _ in TEMPLATES.values()], np.int8)
