"""Loading: broken rules are reported with file and reason and the rest run; filters; ATT&CK tags."""

from __future__ import annotations

from pathlib import Path

from sigma_helpers import proc_rule, run, write_rule

from bluebench.sigma import compile_rules


def test_broken_rules_are_reported_and_the_rest_run(tmp_path: Path) -> None:
    good = write_rule(
        tmp_path, proc_rule("    sel:\n        Image|endswith: '\\a.exe'\n    condition: sel"), "good.yml"
    )
    write_rule(tmp_path, "title: [unclosed\n", "bad_yaml.yml")
    write_rule(
        tmp_path,
        proc_rule(
            "    sel:\n        Image|re: '(unclosed'\n    condition: sel",
            "00000000-0000-0000-0000-000000000002",
        ),
        "bad_re.yml",
    )
    write_rule(
        tmp_path,
        proc_rule(
            "    sel:\n        Image: x\n    condition: sel and missing",
            "00000000-0000-0000-0000-000000000003",
        ),
        "bad_cond.yml",
    )
    write_rule(
        tmp_path,
        "title: linux\nid: 00000000-0000-0000-0000-000000000004\nlogsource:\n    product: linux\n"
        "detection:\n    sel:\n        a: b\n    condition: sel\n",
        "linux.yml",
    )
    rs = compile_rules([tmp_path])
    assert [r.file for r in rs.rules] == [str(good)]
    failed = {Path(f.file).name: f.reason for f in rs.failures}
    assert set(failed) == {"bad_yaml.yml", "bad_re.yml", "bad_cond.yml", "linux.yml"}
    assert "log source not mapped: product=linux" in failed["linux.yml"]
    assert "regular expression" in failed["bad_re.yml"].lower()
    groups = rs.failures_by_reason()
    assert sum(len(v) for v in groups.values()) == 4
    eng = run(rs, [{"Image": r"C:\a.exe"}])
    assert eng.matches[rs.rules[0].id].count == 1


def test_filters_by_status_level_and_tag(tmp_path: Path) -> None:
    body = proc_rule("    sel:\n        Image: x\n    condition: sel")
    write_rule(tmp_path, body.replace("level: high", "level: low"), "low.yml")
    write_rule(
        tmp_path,
        body.replace("0001", "0002").replace(
            "status: test", "status: stable\ntags:\n    - attack.execution\n    - attack.t1059.001"
        ),
        "high.yml",
    )
    assert len(compile_rules([tmp_path]).rules) == 2
    only_high = compile_rules([tmp_path], levels=["high"])
    assert [Path(r.file).name for r in only_high.rules] == ["high.yml"] and only_high.filtered == 1
    assert [Path(r.file).name for r in compile_rules([tmp_path], status=["test"]).rules] == ["low.yml"]
    tagged = compile_rules([tmp_path], tags=["attack.t1059.001"]).rules
    assert [(r.techniques, r.tactics) for r in tagged] == [(["T1059.001"], ["TA0002"])]


def test_security_4688_fields_alias_sysmon_names(tmp_path: Path) -> None:
    rs = compile_rules(
        [write_rule(tmp_path, proc_rule("    sel:\n        Image|endswith: '\\a.exe'\n    condition: sel"))]
    )
    eng = run(rs, [{"NewProcessName": r"C:\a.exe", "_channel": "Security", "_code": "4688"}])
    assert eng.matches[rs.rules[0].id].count == 1


def test_smb_server_connectivity_maps_to_its_channel_and_etw_categories_say_why_not(
    tmp_path: Path,
) -> None:
    from sigma_helpers import matched

    write_rule(
        tmp_path,
        "title: smb\nid: 00000000-0000-0000-0000-000000000010\nlogsource:\n    product: windows\n"
        "    service: smbserver-connectivity\ndetection:\n    sel:\n        EventID: 4000\n"
        "        ShareName|contains: 'ADMIN$'\n    condition: sel\n",
        "smb.yml",
    )
    for n, category in enumerate(("file_access", "file_rename")):
        write_rule(
            tmp_path,
            f"title: {category}\nid: 00000000-0000-0000-0000-00000000002{n}\nlogsource:\n"
            f"    product: windows\n    category: {category}\ndetection:\n    sel:\n"
            "        FileName|endswith: '.kdbx'\n    condition: sel\n",
            f"{category}.yml",
        )
    rs = compile_rules([tmp_path])
    failed = {Path(f.file).name: f.reason for f in rs.failures}
    assert set(failed) == {"file_access.yml", "file_rename.yml"}
    for name in failed:
        assert "ETW provider Microsoft-Windows-Kernel-File, which writes no event log" in failed[name]
    smb = "Microsoft-Windows-SMBServer/Connectivity"
    eng = run(
        rs,
        [
            {"_channel": smb, "_code": "4000", "ShareName": "\\\\*\\ADMIN$"},
            {"_channel": "Security", "_code": "4000", "ShareName": "\\\\*\\ADMIN$"},  # other channel
            {"_channel": smb, "_code": "4000", "ShareName": "\\\\*\\data"},
        ],
    )
    assert matched(eng, "00000000-0000-0000-0000-000000000010") == [1]
