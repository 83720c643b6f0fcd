"""Each Sigma modifier and condition form on tiny events, through the engine and the SQL form."""

from __future__ import annotations

import base64
from pathlib import Path

from sigma_helpers import check

CMD = "CommandLine"


def test_contains_startswith_endswith_equal_case_insensitive(tmp_path: Path) -> None:
    events = [
        {"Image": r"C:\Windows\System32\CMD.EXE", CMD: "cmd /c WHOAMI /all"},
        {"Image": r"C:\Tools\cmd.exe.bak", CMD: "whoami"},
        {"Image": r"D:\x\cmd.exe", CMD: "nothing"},
    ]
    assert check(tmp_path, "    sel:\n        Image|endswith: '\\cmd.exe'\n    condition: sel", events) == [
        1,
        3,
    ]
    assert check(
        tmp_path, "    sel:\n        Image|startswith: 'c:\\windows\\'\n    condition: sel", events
    ) == [1]
    assert check(
        tmp_path, "    sel:\n        CommandLine|contains: 'WhoAmI'\n    condition: sel", events
    ) == [1, 2]
    assert check(tmp_path, "    sel:\n        CommandLine: 'WHOAMI'\n    condition: sel", events) == [2]


def test_all_and_wildcards(tmp_path: Path) -> None:
    events = [{CMD: "net user admin /add"}, {CMD: "net user"}, {CMD: "netsh add"}]
    det = "    sel:\n        CommandLine|contains|all:\n            - 'net '\n            - ' /add'\n    condition: sel"
    assert check(tmp_path, det, events) == [1]
    assert check(tmp_path, "    sel:\n        CommandLine: 'net*admin?/add'\n    condition: sel", events) == [
        1
    ]
    assert check(tmp_path, "    sel:\n        CommandLine: 'net?user'\n    condition: sel", events) == [2]


def test_regex_case_sensitive_unless_flagged(tmp_path: Path) -> None:
    events = [{CMD: "Invoke-Mimikatz"}, {CMD: "invoke-mimikatz"}]
    assert check(tmp_path, "    sel:\n        CommandLine|re: 'Invoke-\\w+'\n    condition: sel", events) == [
        1
    ]
    assert check(
        tmp_path, "    sel:\n        CommandLine|re|i: 'INVOKE-\\w+'\n    condition: sel", events
    ) == [1, 2]


def test_base64_and_base64offset_and_wide(tmp_path: Path) -> None:
    plain = base64.b64encode(b"http://evil").decode()
    shifted = base64.b64encode(b"xhttp://evil").decode()
    wide = base64.b64encode("IEX (".encode("utf-16-le")).decode()
    events = [{CMD: f"ps -e {plain}"}, {CMD: f"ps -e {shifted}"}, {CMD: f"powershell -enc {wide}"}]
    assert check(
        tmp_path, "    sel:\n        CommandLine|base64|contains: 'http://evil'\n    condition: sel", events
    ) == [1]
    assert check(
        tmp_path,
        "    sel:\n        CommandLine|base64offset|contains: 'http://evil'\n    condition: sel",
        events,
    ) == [1, 2]
    assert check(
        tmp_path,
        "    sel:\n        CommandLine|wide|base64offset|contains: 'IEX ('\n    condition: sel",
        events,
    ) == [3]


def test_cidr(tmp_path: Path) -> None:
    events = [
        {"DestinationIp": "10.1.2.3"},
        {"DestinationIp": "192.168.1.5"},
        {"DestinationIp": "10.200.0.1"},
    ]
    det = "    sel:\n        DestinationIp|cidr: '10.0.0.0/9'\n    condition: sel"
    assert check(tmp_path, det, events) == [1]


def test_windash(tmp_path: Path) -> None:
    events = [{CMD: "ping -n 1"}, {CMD: "ping /n 1"}, {CMD: "ping \u2013n 1"}, {CMD: "ping n 1"}]
    assert check(
        tmp_path, "    sel:\n        CommandLine|windash|contains: ' -n '\n    condition: sel", events
    ) == [
        1,
        2,
        3,
    ]


def test_fieldref_exists_cased_null(tmp_path: Path) -> None:
    events = [
        {"Image": r"C:\a.exe", "ParentImage": r"c:\A.EXE"},
        {"Image": r"C:\a.exe", "ParentImage": r"C:\b.exe"},
        {"Image": r"C:\a.exe"},
    ]
    assert check(tmp_path, "    sel:\n        Image|fieldref: ParentImage\n    condition: sel", events) == [1]
    assert check(tmp_path, "    sel:\n        ParentImage|exists: true\n    condition: sel", events) == [1, 2]
    assert check(tmp_path, "    sel:\n        ParentImage|exists: false\n    condition: sel", events) == [3]
    assert check(tmp_path, "    sel:\n        ParentImage: null\n    condition: sel", events) == [3]
    assert check(
        tmp_path, "    sel:\n        ParentImage|cased|endswith: 'A.EXE'\n    condition: sel", events
    ) == [1]


def test_numeric_comparisons(tmp_path: Path) -> None:
    events = [{"LogonType": "2"}, {"LogonType": "10"}, {"LogonType": "x"}]
    assert check(tmp_path, "    sel:\n        LogonType|gt: 3\n    condition: sel", events) == [2]
    assert check(tmp_path, "    sel:\n        LogonType|lte: 2\n    condition: sel", events) == [1]
    assert check(tmp_path, "    sel:\n        LogonType|gte: 2\n    condition: sel", events) == [1, 2]
    assert check(tmp_path, "    sel:\n        LogonType|lt: 10\n    condition: sel", events) == [1]


def test_keywords_search_the_whole_event(tmp_path: Path) -> None:
    events = [{CMD: r"C:\Temp\MimiKatz.exe"}, {CMD: "notepad"}]
    assert check(tmp_path, "    keywords:\n        - 'mimikatz'\n    condition: keywords", events) == [1]


def test_condition_grammar(tmp_path: Path) -> None:
    events = [
        {"Image": r"C:\x\a.exe", CMD: "one"},
        {"Image": r"C:\x\b.exe", CMD: "two"},
        {"Image": r"C:\x\a.exe", CMD: "two"},
        {"Image": r"C:\x\c.exe", CMD: "three"},
    ]
    det = (
        "    sel_a:\n        Image|endswith: '\\a.exe'\n"
        "    sel_b:\n        Image|endswith: '\\b.exe'\n"
        "    two:\n        CommandLine: 'two'\n"
    )
    assert check(tmp_path, det + "    condition: 1 of sel_*", events) == [1, 2, 3]
    assert check(tmp_path, det + "    condition: all of sel_*", events) == []
    assert check(tmp_path, det + "    condition: 1 of them", events) == [1, 2, 3]
    assert check(tmp_path, det + "    condition: all of them", events) == []
    assert check(tmp_path, det + "    condition: (sel_a or sel_b) and not two", events) == [1]
    assert check(tmp_path, det + "    condition: sel_a and two or sel_b", events) == [2, 3]
    assert check(tmp_path, det + "    condition: not (sel_a or sel_b)", events) == [4]
    assert check(tmp_path, det + "    condition: not 1 of sel_*", events) == [4]


def test_not_matches_when_the_field_is_missing(tmp_path: Path) -> None:
    """The trap of the published DuckDB backend: NOT must keep events that lack the field."""
    events = [
        {"Image": r"C:\x\a.exe", "ParentImage": r"C:\good.exe"},
        {"Image": r"C:\x\a.exe", "ParentImage": r"C:\other.exe"},
        {"Image": r"C:\x\a.exe"},
    ]
    det = (
        "    sel:\n        Image|endswith: '\\a.exe'\n"
        "    filter:\n        ParentImage|endswith: '\\good.exe'\n"
        "    condition: sel and not filter"
    )
    assert check(tmp_path, det, events) == [2, 3]


def test_logsource_restricts_events(tmp_path: Path) -> None:
    events = [
        {"Image": r"C:\a.exe"},
        {"Image": r"C:\a.exe", "_code": "11"},
        {"Image": r"C:\a.exe", "_channel": "Security", "_code": "4688"},
        {"NewProcessName": r"C:\a.exe", "_channel": "Security", "_code": "4688"},
    ]
    got = check(tmp_path, "    sel:\n        Image|endswith: '\\a.exe'\n    condition: sel", events[:3])
    assert got == [1, 3]
