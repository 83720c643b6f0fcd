"""Line layouts: each template is one Winlogbeat record or auth.log line with %(field) placeholders.

``TEMPLATES`` maps a name to its stream (``win`` or ``linux``) and layout; an event's ``tpl``
column is the template's position (``TPL[name]``). Layouts are written with the helpers of
``layout``; the placeholders are filled per column by ``format.Formatter``. A new event type is
a new entry at the end (positions are what the columns store; ``templates_exec`` holds the
later ones, appended after this table) and, if it needs one, a new placeholder in the
formatter.
"""

from __future__ import annotations

import numpy as np

from bluebench.datagen.layout import (
    EVENTLOG_PROVIDER,
    FIELD,
    PRIVILEGES,
    SCM_PROVIDER,
    SERVICES_EXE,
    SUBJ_MACHINE,
    SUBJ_NULL,
    SUBJ_SUBJ,
    SUBJ_USER,
    SVCHOST,
    TARGET,
    event_data,
    failed_layout,
    linux_line,
    logon_layout,
    win_record,
)
from bluebench.datagen.names import DOMAIN, DOMAIN_SID, REALM
from bluebench.datagen.templates_exec import EXEC_TEMPLATES

# name: (stream, layout); the position is the ``tpl`` column's value, so append only
TEMPLATES: dict[str, tuple[str, str]] = {
    "logon_interactive": (
        "win",
        logon_layout(SUBJ_MACHINE, "%(aux)", "User32 ", "Negotiate", "%(hshort)", "127.0.0.1", "0", SVCHOST),
    ),
    "logon_net_krb": (
        "win",
        logon_layout(SUBJ_NULL, "3", "Kerberos", "Kerberos", "-", "%(ip)", "%(port)", "-"),
    ),
    "logon_net_ntlm": (
        "win",
        logon_layout(
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
        logon_layout(
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
        logon_layout(SUBJ_MACHINE, "10", "User32 ", "Negotiate", "%(hshort)", "%(ip)", "%(port)", SVCHOST),
    ),
    "logon_cleartext": (
        "win",
        logon_layout(
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
        logon_layout(
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
        failed_layout(SUBJ_MACHINE, "2", "User32 ", "Negotiate", "%(hshort)", "127.0.0.1", "0", SVCHOST),
    ),
    "failed_net": (
        "win",
        failed_layout(SUBJ_NULL, "3", "NtLmSsp ", "NTLM", "%(src)", "%(ip)", "%(port)", "-"),
    ),
    "failed_cleartext": (
        "win",
        failed_layout(
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
        win_record(
            "4634",
            "Logoff",
            "logged-out",
            "success",
            "An account was logged off.",
            event_data(**TARGET, TargetLogonId="%(lid)", LogonType="%(aux)"),
        ),
    ),
    "user_logoff": (
        "win",
        win_record(
            "4647",
            "Logoff",
            "logged-out",
            "success",
            "User initiated logoff:",
            event_data(**TARGET, TargetLogonId="%(lid)"),
        ),
    ),
    "special": (
        "win",
        win_record(
            "4672",
            "Special Logon",
            "logged-in-special",
            "success",
            "Special privileges assigned to new logon.",
            event_data(**SUBJ_USER, PrivilegeList=PRIVILEGES),
        ),
    ),
    "tgt": (
        "win",
        win_record(
            "4768",
            "Kerberos Authentication Service",
            "kerberos-authentication-ticket-requested",
            "success",
            "A Kerberos authentication ticket (TGT) was requested.",
            event_data(
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
        win_record(
            "4768",
            "Kerberos Authentication Service",
            "kerberos-authentication-ticket-requested",
            "failure",
            "A Kerberos authentication ticket (TGT) was requested.",
            event_data(
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
        win_record(
            "4769",
            "Kerberos Service Ticket Operations",
            "kerberos-service-ticket-requested",
            "success",
            "A Kerberos service ticket was requested.",
            event_data(
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
        win_record(
            "4771",
            "Kerberos Authentication Service",
            "kerberos-preauth-failed",
            "failure",
            "Kerberos pre-authentication failed.",
            event_data(
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
        win_record(
            "4776",
            "Credential Validation",
            "credential-validated",
            "%(nout)",
            "The computer attempted to validate the credentials for an account.",
            event_data(
                PackageName="MICROSOFT_AUTHENTICATION_PACKAGE_V1_0",
                TargetUserName="%(user)",
                Workstation="%(src)",
                Status="%(nst)",
            ),
        ),
    ),
    "explicit": (
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
        win_record(
            "5140",
            "File Share",
            "network-share-object-accessed",
            "success",
            "A network share object was accessed.",
            event_data(
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
        win_record(
            "7045",
            "None",
            "service-installed",
            "",
            "A service was installed in the system.",
            event_data(
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
        win_record(
            "4688",
            "Process Creation",
            "created-process",
            "success",
            "A new process has been created.",
            event_data(
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
        win_record(
            "4720",
            "User Account Management",
            "added-user-account",
            "success",
            "A user account was created.",
            event_data(
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
        win_record(
            "4722",
            "User Account Management",
            "enabled-user-account",
            "success",
            "A user account was enabled.",
            event_data(
                TargetUserName="%(user)", TargetDomainName="%(udom)", TargetSid="%(usid)", **SUBJ_SUBJ
            ),
        ),
    ),
    "password_reset": (
        "win",
        win_record(
            "4724",
            "User Account Management",
            "reset-password",
            "success",
            "An attempt was made to reset an account's password.",
            event_data(
                TargetUserName="%(user)", TargetDomainName="%(udom)", TargetSid="%(usid)", **SUBJ_SUBJ
            ),
        ),
    ),
    "user_changed": (
        "win",
        win_record(
            "4738",
            "User Account Management",
            "modified-user-account",
            "success",
            "A user account was changed.",
            event_data(
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
        win_record(
            "4732",
            "Security Group Management",
            "added-member-to-group",
            "success",
            "A member was added to a security-enabled local group.",
            event_data(
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
        win_record(
            "4728",
            "Security Group Management",
            "added-member-to-group",
            "success",
            "A member was added to a security-enabled global group.",
            event_data(
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
        win_record(
            "1102",
            "Log clear",
            "audit-log-cleared",
            "",
            "The audit log was cleared.",
            event_data(
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
        linux_line(
            "sshd", "Accepted publickey for %(user) from %(ip) port %(port) ssh2: ED25519 SHA256:%(fp)"
        ),
    ),
    "ssh_accept_pw": (
        "linux",
        linux_line("sshd", "Accepted password for %(user) from %(ip) port %(port) ssh2"),
    ),
    "ssh_failed_pw": (
        "linux",
        linux_line("sshd", "Failed password for %(user) from %(ip) port %(port) ssh2"),
    ),
    "ssh_failed_invalid": (
        "linux",
        linux_line("sshd", "Failed password for invalid user %(user) from %(ip) port %(port) ssh2"),
    ),
    "ssh_invalid_user": ("linux", linux_line("sshd", "Invalid user %(user) from %(ip) port %(port)")),
    "ssh_pam_failure": (
        "linux",
        linux_line(
            "sshd",
            "pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=%(ip)  user=%(user)",
        ),
    ),
    "ssh_session_open": (
        "linux",
        linux_line("sshd", "pam_unix(sshd:session): session opened for user %(user)(uid=%(uid)) by (uid=0)"),
    ),
    "ssh_session_close": (
        "linux",
        linux_line("sshd", "pam_unix(sshd:session): session closed for user %(user)"),
    ),
    "ssh_disconnect": ("linux", linux_line("sshd", "Disconnected from user %(user) %(ip) port %(port)")),
    "ssh_closed_preauth": (
        "linux",
        linux_line("sshd", "Connection closed by authenticating user %(user) %(ip) port %(port) [preauth]"),
    ),
    "sudo_cmd": (
        "linux",
        linux_line("sudo", "   %(user) : TTY=pts/0 ; PWD=/home/%(user) ; USER=root ; COMMAND=%(osudo)"),
    ),
    "sudo_session": (
        "linux",
        linux_line(
            "sudo", "pam_unix(sudo:session): session opened for user root(uid=0) by %(user)(uid=%(uid))"
        ),
    ),
    "cron_open": (
        "linux",
        linux_line("CRON", "pam_unix(cron:session): session opened for user root(uid=0) by (uid=0)"),
    ),
    "cron_close": ("linux", linux_line("CRON", "pam_unix(cron:session): session closed for user root")),
    "useradd": (
        "linux",
        linux_line(
            "useradd",
            "new user: name=%(user), UID=%(uid), GID=%(uid), home=/home/%(user), shell=/bin/bash, from=/dev/pts/1",
        ),
    ),
    "usermod_group": ("linux", linux_line("usermod", "add '%(user)' to group 'sudo'")),
}
# Appended after the first table, so every earlier position stays what it was.
TEMPLATES.update(EXEC_TEMPLATES)
TPL = {name: i for i, name in enumerate(TEMPLATES)}
__all__ = ["FIELD", "STREAMS", "TEMPLATES", "TPL", "TPL_STREAM"]
STREAMS = ("win", "linux")
TPL_STREAM = np.array([STREAMS.index(s) for s, _ in TEMPLATES.values()], np.int8)
