"""SQL that turns raw batches of each shape into rows of the event schema.

Everything here runs inside DuckDB over a registered Arrow batch called ``raw_batch``
(columns ``record``, ``raw``), so normalization is vectorised: no Python per event.
Windows shapes (EVTX, Winlogbeat, OTRF) first reduce to one intermediate relation
(time, code, channel, provider, host, EventData JSON) and then share one field mapping.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from typing import Any

from bluebench.events import netflow
from bluebench.events.eventdata import dash_null as _dash_null
from bluebench.events.eventdata import sql_str as _sql_str
from bluebench.events.eventdata import with_event_data_fields
from bluebench.registry import Registry
from bluebench.schema import EVENT_COLUMNS, EVENT_DATA_FIELDS, EVENT_DATA_PREFIX, q

# ---------------------------------------------------------------- Windows ----

# What a Windows event code means, for the columns a detector filters on.
WINDOWS_ACTIONS: dict[str, tuple[str, str]] = {
    # code: (event.action, event.category)
    "4624": ("logon", "authentication"),
    "4625": ("logon-failed", "authentication"),
    "4634": ("logoff", "authentication"),
    "4647": ("logoff", "authentication"),
    "4648": ("explicit-credential-logon", "authentication"),
    "4672": ("special-privileges-assigned", "authentication"),
    "4768": ("kerberos-tgt-request", "authentication"),
    "4769": ("kerberos-service-ticket", "authentication"),
    "4770": ("kerberos-service-ticket-renewed", "authentication"),
    "4771": ("kerberos-preauth-failed", "authentication"),
    "4776": ("ntlm-credential-validation", "authentication"),
    "4778": ("session-reconnected", "authentication"),
    "4779": ("session-disconnected", "authentication"),
    "4720": ("user-created", "iam"),
    "4722": ("user-enabled", "iam"),
    "4724": ("password-reset", "iam"),
    "4726": ("user-deleted", "iam"),
    "4738": ("user-changed", "iam"),
    "4728": ("group-member-added", "iam"),
    "4732": ("group-member-added", "iam"),
    "4756": ("group-member-added", "iam"),
    "4729": ("group-member-removed", "iam"),
    "4733": ("group-member-removed", "iam"),
    "4757": ("group-member-removed", "iam"),
    "1102": ("log-cleared", "configuration"),
    "5140": ("share-accessed", "file"),
    "5145": ("share-object-checked", "file"),
    "4697": ("service-installed", "configuration"),
    "4688": ("process-created", "process"),
    "4723": ("password-change", "iam"),
    "4725": ("user-disabled", "iam"),
    "4741": ("computer-created", "iam"),
    "4742": ("computer-changed", "iam"),
    "4743": ("computer-deleted", "iam"),
    "4781": ("account-renamed", "iam"),
    "5136": ("directory-object-modified", "iam"),
    "5142": ("share-created", "file"),
    "5143": ("share-modified", "file"),
}
# Codes whose meaning depends on the provider: (code, provider substring) -> action, category.
WINDOWS_PROVIDER_ACTIONS: dict[tuple[str, str], tuple[str, str]] = {
    ("104", "eventlog"): ("log-cleared", "configuration"),
    ("7045", "service control manager"): ("service-installed", "configuration"),
    ("1", "sysmon"): ("process-created", "process"),
    ("800", "powershell"): ("powershell-pipeline", "process"),
    ("4103", "powershell"): ("powershell-pipeline", "process"),
    ("4104", "powershell"): ("powershell-script-block", "process"),
    # SQL Server "Login failed" in the Application log (provider MSSQLSERVER or MSSQL$<instance>).
    ("18456", "mssql"): ("logon-failed", "authentication"),
}
# SQL Server audit records (Application log, event 33205) are one "key:value" text whose
# action_id (with class_type where one id means several things) says what happened.
MSSQL_AUDIT_ACTIONS: dict[str, tuple[str, str]] = {
    # action_id or action_id/class_type: (event.action, event.category)
    "LGIF": ("logon-failed", "authentication"),
    "LGIS": ("logon", "authentication"),
    "CR/SL": ("user-created", "iam"),  # CREATE LOGIN
    "CR/SU": ("database-user-created", "iam"),  # CREATE USER ... FOR LOGIN
    "DR/SL": ("user-deleted", "iam"),
    "LGEA": ("user-enabled", "iam"),  # ALTER LOGIN ... ENABLE
    "LGDA": ("user-disabled", "iam"),
    "APRL": ("group-member-added", "iam"),  # ALTER [SERVER] ROLE ... ADD MEMBER
    "DPRL": ("group-member-removed", "iam"),
    "PWR": ("password-reset", "iam"),
    "PWC": ("password-change", "iam"),
}
# OpenSSH for Windows (OpenSSH/Operational, event 4) logs sshd's own lines as "payload":
# (pattern, event.action, event.outcome, event.reason); groups are user, source, port.
OPENSSH_PATTERNS: tuple[tuple[str, str, str, str | None], ...] = (
    (r"^Failed \S+ for invalid user (.*?) from (\S+) port (\d+)", "logon-failed", "failure", "invalid user"),
    (r"^Failed \S+ for (\S*) from (\S+) port (\d+)", "logon-failed", "failure", None),
    (r"^Accepted \S+ for (\S+) from (\S+) port (\d+)", "logon", "success", None),
)
# Codes where the account that authenticated is the Target*, not the Subject*.
TARGET_IS_USER = ("4624", "4625", "4634", "4768", "4769", "4770", "4771", "4776", "4778", "4779")
# Codes where the Subject acts on another account (user.target.name) or a group.
ACCOUNT_CHANGE = (
    "4720", "4722", "4723", "4724", "4725", "4726", "4738", "4648", "4741", "4742", "4743",
)  # fmt: skip
GROUP_CHANGE = ("4728", "4732", "4756", "4729", "4733", "4757")

EVENT_DATA_KEYS = [
    "TargetUserName",
    "TargetDomainName",
    "TargetUserSid",
    "SubjectUserName",
    "SubjectDomainName",
    "SubjectUserSid",
    "IpAddress",
    "IpPort",
    "WorkstationName",
    "Workstation",
    "LogonType",
    "Status",
    "SubStatus",
    "FailureCode",
    "ServiceName",
    "TargetServerName",
    "MemberName",
    "MemberSid",
    "ProcessName",
    "NewProcessName",
    "Image",
    "CommandLine",
    "AccountName",
    "ProcessId",
    "NewProcessId",
    "User",
    "SourceIp",
    "Hostname",
    "NewTargetUserName",
    "payload",
    'Data."#text"',
]
DATA_TEXT = 'Data."#text"'  # EventData written as one text (SQL Server audit) or a list of texts

WINDOWS_PATHS: dict[str, dict[str, str]] = {
    # shape: intermediate field -> JSON path into the raw record
    "evtx": {
        "code": "$.Event.System.EventID",
        "time": '$.Event.System.TimeCreated."#attributes".SystemTime',
        "channel": "$.Event.System.Channel",
        "host": "$.Event.System.Computer",
        "provider": '$.Event.System.Provider."#attributes".Name',
        "event_data": "$.Event.EventData",
        "user_data": "$.Event.UserData",
    },
    "winlogbeat": {
        "code": "$.winlog.event_id",
        "code2": "$.event.code",
        "time": '$."@timestamp"',
        "channel": "$.winlog.channel",
        "host": "$.winlog.computer_name",
        "host2": "$.host.name",
        "provider": "$.winlog.provider_name",
        "event_data": "$.winlog.event_data",
        "user_data": "$.winlog.user_data",
    },
    "otrf": {
        "code": "$.EventID",
        "time": "$.TimeCreated",
        "time2": '$."@timestamp"',
        "channel": "$.Channel",
        "host": "$.Hostname",
        "provider": "$.SourceName",
    },
}


# The MAP variable (file -> source key) the workspace sets before it inserts; see _final_select.
SOURCES_VARIABLE = "bluebench_sources"


def _utc(expr: str) -> str:
    """Parse a timestamp string with or without offset into a naive UTC TIMESTAMP."""
    return f"timezone('UTC', try_cast({expr} AS TIMESTAMPTZ))"


def _json_scalar(x: str) -> str:
    """A JSON value as text: strings unquoted, XML-ish objects reduced to their ``#text``.

    Plain strings without escapes (nearly all) are unquoted by position; only numbers,
    escaped strings and objects ({"#text": 4625, "#attributes": ...}) are parsed again.
    """
    t = f"{x}::VARCHAR"
    return (
        f"CASE WHEN {t} LIKE '\"%' AND NOT contains({t}, '\\') THEN substr({t}, 2, length({t}) - 2) "
        f"WHEN {t} LIKE '{{%' THEN coalesce(json_extract_string({x}, '$.\"#text\"'), json_extract_string({x}, '$')) "
        f"ELSE json_extract_string({x}, '$') END"
    )


#: The fields of which a Windows record must have one to be an event (not just any JSON).
EVENT_MARKS = ("code", "channel", "provider")
#: Intermediate fields read as JSON (objects kept whole); the others are read as text.
JSON_FIELDS = ("event_data", "user_data")


def _path_keys(path: str) -> list[str]:
    """The keys of a JSON path of our own (``$.a."#b".c``), in order."""
    keys: list[str] = []
    for part in re.findall(r'"[^"]*"|[^.]+', path.removeprefix("$.")):
        keys.append(part[1:-1] if part.startswith('"') else part)
    return keys


def _structure(paths: Mapping[str, str], json_fields: tuple[str, ...] = JSON_FIELDS) -> str:
    """The ``json_transform`` structure that reads every path of a shape in one parse."""
    tree: dict[str, Any] = {}
    for name, path in paths.items():
        *parents, leaf = _path_keys(path)
        node = tree
        for key in parents:
            node = node.setdefault(key, {})
        node[leaf] = "JSON" if name in json_fields else "VARCHAR"
    return json.dumps(tree, separators=(",", ":"))


def _field(paths: Mapping[str, str], name: str, struct: str = "j") -> str:
    """The transformed record's member for one field (``struct`` names the transformed value)."""
    return struct + "".join(f"[{_sql_str(k)}]" for k in _path_keys(paths[name]))


def _windows_intermediate(shape: str, checked: bool = True) -> str:
    """SELECT producing (record, raw, file, code, ts, channel, provider, host, ed) for one shape.

    One ``json_transform`` with the shape's structure reads every path in one parse, text
    fields as text. A text that starts with ``{`` (an EVTX value with attributes, or a
    string that looks like one) is read again from the record by the exact path of
    ``_json_scalar``; so is a line where no event mark was found as text, since a JSON null
    still marks an event. Both are rare, so nearly every line is parsed once. ``checked``
    leaves out lines that are not JSON at the price of a second parse; unchecked, a
    malformed line makes the query fail and the caller runs it again checked (see
    ``Workspace``).
    """
    paths = WINDOWS_PATHS[shape]

    def text(n: str) -> str:
        x = _field(paths, n)
        slow = _json_scalar(f"json_extract(raw, {_sql_str(paths[n])})")
        return f"CASE WHEN starts_with({x}, '{{') THEN {slow} ELSE {x} END"

    def either(n: str) -> str:
        return text(n) if f"{n}2" not in paths else f"coalesce({text(n)}, {text(n + '2')})"

    if shape == "otrf":
        ed = "raw::JSON"
    else:
        # EventData when it is an object; else UserData: Winlogbeat flattens it (with an
        # "xml_name" member), the EVTX parser nests it one level ({"LogFileCleared": {...}}).
        e, u = _field(paths, "event_data"), _field(paths, "user_data")
        ed = f"""CASE WHEN starts_with({e}::VARCHAR, '{{') THEN {e}
            WHEN json_exists({u}, '$.xml_name') THEN {u} ELSE (json_extract({u}, '$.*'))[1] END"""
    where = "WHERE json_valid(raw)" if checked else ""
    # A line that is JSON but names no event (no id, channel or provider of its own shape) is
    # not stored as an empty event; ingest names it with ``unstored_sql``.
    marks = ", ".join(_sql_str(paths[n]) for n in EVENT_MARKS)
    found = " OR ".join(f"{_field(paths, n)} IS NOT NULL" for n in EVENT_MARKS)
    is_event = f"{found} OR list_count(json_extract(raw, [{marks}])) > 0"
    return f"""
        SELECT record, raw, file, {either("code")} AS code, {_utc(either("time"))} AS ts,
               {text("channel")} AS channel, {text("provider")} AS provider, {either("host")} AS host, {ed} AS ed
        FROM (SELECT record, raw, file, json_transform(raw, {_sql_str(_structure(paths))}) AS j
              FROM raw_batch {where})
        WHERE {is_event}
    """


def unstored_sql(shape: str, params: Mapping[str, object] | None = None) -> str | None:
    """(record, why, first characters) of the lines of ``bad_batch`` that normalizing leaves out.

    None for shapes whose query keeps every line. Only a batch that stored fewer events than
    it had lines pays for this second look.
    """
    if shape == "zeek-json":
        return netflow.unstored_json_sql(params or {})
    if shape not in WINDOWS_PATHS and shape != "mapped-jsonl":
        return None
    if shape == "mapped-jsonl":
        missing = "false"
    else:
        paths = ", ".join(_sql_str(WINDOWS_PATHS[shape][n]) for n in EVENT_MARKS)
        missing = f"list_count(json_extract(raw, [{paths}])) = 0"
    not_event = f"no event id, channel or provider where a {shape} event has them"
    return f"""
        SELECT record, CASE WHEN NOT json_valid(raw) THEN 'not valid JSON (truncated?)'
                            ELSE {_sql_str(not_event)} END, left(raw, 60)
        FROM bad_batch
        WHERE CASE WHEN json_valid(raw) THEN {missing} ELSE true END
        ORDER BY record
    """


def _in_list(codes: tuple[str, ...]) -> str:
    """A SQL IN list of code-defined constants."""
    return "(" + ", ".join(_sql_str(c) for c in codes) + ")"


def _mssql_audit_columns(text: str) -> dict[str, str]:
    """SQL Server audit (33205) fields as SQL over its "key:value" text ``text``."""

    def kv(key: str) -> str:
        return f"nullif(trim(regexp_extract({text}, {_sql_str('(?m)^' + key + ':(.*)$')}, 1)), '')"

    action_id, class_type = kv("action_id"), kv("class_type")

    def when(key: str) -> str:
        aid, _, cls = key.partition("/")
        cond = f"{action_id} = {_sql_str(aid)}"
        return cond + (f" AND {class_type} = {_sql_str(cls)}" if cls else "")

    action = " ".join(f"WHEN {when(k)} THEN {_sql_str(a)}" for k, (a, _) in MSSQL_AUDIT_ACTIONS.items())
    category = " ".join(f"WHEN {when(k)} THEN {_sql_str(c)}" for k, (_, c) in MSSQL_AUDIT_ACTIONS.items())
    principal = kv("server_principal_name")
    statement = kv("statement")
    return {
        "action": f"CASE {action} END",
        "category": f"CASE {category} END",
        "outcome": f"CASE {kv('succeeded')} WHEN 'true' THEN 'success' WHEN 'false' THEN 'failure' END",
        "user": f"regexp_extract({principal}, '([^\\\\]+)$', 1)",
        "domain": f"nullif(regexp_extract({principal}, '^([^\\\\]+)\\\\', 1), '')",
        "target": f"""CASE WHEN {action_id} NOT IN ('LGIF', 'LGIS') THEN coalesce(
            {kv("target_server_principal_name")}, {kv("target_database_principal_name")}, {kv("object_name")}) END""",
        "group": f"CASE WHEN {action_id} IN ('APRL', 'DPRL') THEN {kv('object_name')} END",
        "ip": f"""coalesce(nullif(regexp_extract({text}, '<address>([^<]+)</address>', 1), ''),
            nullif(regexp_extract({text}, '\\[CLIENT: ([^\\]]+)\\]', 1), ''))""",
        "reason": _mssql_reason(statement),
        "statement": statement,
    }


def _mssql_reason(text: str) -> str:
    """'invalid user' where SQL Server found no such login (as sshd says it), else its reason."""
    return f"""CASE WHEN {text} LIKE '%Could not find a login matching%' THEN 'invalid user'
        ELSE nullif(lower(regexp_extract({text}, 'Reason: ([^\\[\\]"]*?)\\.?\\s*(\\[CLIENT|"|$)', 1)), '') END"""


def _openssh_columns(msg: str) -> dict[str, str]:
    """OpenSSH for Windows event 4 fields as SQL over its sshd line ``msg``."""

    def pick(i: int) -> str:
        cases = " ".join(
            f"WHEN regexp_matches({msg}, {_sql_str(p[0])}) THEN "
            f"nullif(regexp_extract({msg}, {_sql_str(p[0])}, {i}), '')"
            for p in OPENSSH_PATTERNS
        )
        return f"CASE {cases} END"

    def const(i: int) -> str:
        cases = " ".join(
            f"WHEN regexp_matches({msg}, {_sql_str(p[0])}) THEN "
            + (_sql_str(str(p[i])) if p[i] is not None else "NULL")
            for p in OPENSSH_PATTERNS
        )
        return f"CASE {cases} END"

    return {
        "action": const(1),
        "outcome": const(2),
        "reason": const(3),
        "user": pick(1),
        "ip": pick(2),
        "port": pick(3),
    }


def _windows_columns() -> dict[str, str]:
    """Event columns as SQL over the intermediate relation (with f = extracted EventData keys)."""
    f = {k: _ed_column(k) for k in EVENT_DATA_KEYS}
    target_user = _in_list(TARGET_IS_USER)
    account, group = _in_list(ACCOUNT_CHANGE), _in_list(GROUP_CHANGE)
    # The generic meaning of a code is one lookup in a constant map, not a chain of WHENs
    # every row walks; a lookup keeps each row where it is (a join would not).
    action_cases = f"ELSE {_code_map(0)}[code]"
    category_cases = f"ELSE {_code_map(1)}[code]"
    for (c, prov), (a, k) in WINDOWS_PROVIDER_ACTIONS.items():
        cond = f"code = {_sql_str(c)} AND lprovider LIKE {_sql_str('%' + prov + '%')}"
        action_cases = f"WHEN {cond} THEN {_sql_str(a)} " + action_cases
        category_cases = f"WHEN {cond} THEN {_sql_str(k)} " + category_cases
    is_audit, is_sqlfail, is_ssh = "is_audit", "is_sqlfail", "is_ssh"
    audit = _mssql_audit_columns(f"CASE WHEN {is_audit} THEN {f[DATA_TEXT]} END")
    ssh = _openssh_columns(f"CASE WHEN {is_ssh} THEN {f['payload']} END")
    sqlfail_text = f"CASE WHEN {is_sqlfail} THEN {f[DATA_TEXT]} END"
    sqlfail_user = """nullif(trim(json_extract_string(ed, '$.Data."#text"[0]')), '')"""
    sqlfail_ip = f"nullif(regexp_extract({sqlfail_text}, '\\[CLIENT: ([^\\]]+)\\]', 1), '')"
    action_cases = (
        f"WHEN {is_audit} THEN {audit['action']} WHEN {is_ssh} THEN {ssh['action']} " + action_cases
    )
    category_cases = (
        f"WHEN {is_audit} THEN {audit['category']} "
        f"WHEN {is_ssh} THEN CASE WHEN {ssh['action']} IS NOT NULL THEN 'authentication' END "
        + category_cases
    )
    # "DOMAIN\\user" as Sysmon writes it.
    sysmon_user = f"regexp_extract({f['User']}, '([^\\\\]+)$', 1)"
    sysmon_domain = f"nullif(regexp_extract({f['User']}, '^([^\\\\]+)\\\\', 1), '')"
    ip_raw = f"coalesce({f['IpAddress']}, {f['SourceIp']})"
    ip_win = f"nullif(regexp_replace({ip_raw}, '^::ffff:', ''), '-')"
    ip = f"""CASE WHEN {is_audit} THEN {audit["ip"]} WHEN {is_sqlfail} THEN {sqlfail_ip}
        WHEN {is_ssh} THEN {ssh["ip"]} ELSE {ip_win} END"""
    workstation = f"nullif(ltrim(coalesce({f['WorkstationName']}, {f['Workstation']}), '\\\\'), '')"
    status = f"lower(coalesce({f['Status']}, {f['FailureCode']}))"
    outcome = f"""CASE
        WHEN {is_audit} THEN {audit["outcome"]}
        WHEN {is_sqlfail} THEN 'failure'
        WHEN {is_ssh} THEN {ssh["outcome"]}
        WHEN code IN ('4624', '4648', '4778') THEN 'success'
        WHEN code IN ('4625', '4771') THEN 'failure'
        WHEN code IN ('4768', '4769', '4776') THEN
            CASE WHEN {status} IN ('0x0', '0', '0x00000000') THEN 'success'
                 WHEN {status} IS NULL THEN NULL ELSE 'failure' END
        END"""
    proc = f"coalesce({f['NewProcessName']}, {f['Image']}, {f['ProcessName']})"
    return {
        "@timestamp": "ts",
        "event.code": "code",
        "event.provider": "provider",
        "event.action": f"CASE {action_cases} END",
        "event.category": f"CASE {category_cases} END",
        "event.outcome": outcome,
        "event.reason": f"""CASE WHEN {is_audit} THEN {audit["reason"]}
            WHEN {is_sqlfail} THEN {_mssql_reason(sqlfail_text)} WHEN {is_ssh} THEN {ssh["reason"]}
            ELSE coalesce(nullif(lower({f["SubStatus"]}), '0x0'), {status}) END""",
        "winlog.channel": "channel",
        "host.name": "host",
        "user.name": f"""CASE WHEN {is_audit} THEN {audit["user"]} WHEN {is_sqlfail} THEN {sqlfail_user}
            WHEN {is_ssh} THEN {ssh["user"]} WHEN code IN {target_user} THEN {f["TargetUserName"]}
            ELSE coalesce({f["SubjectUserName"]}, {f["AccountName"]}, {sysmon_user}, {f["TargetUserName"]}) END""",
        "user.domain": f"""CASE WHEN {is_audit} THEN {audit["domain"]} WHEN code IN {target_user} THEN {f["TargetDomainName"]}
            ELSE coalesce({f["SubjectDomainName"]}, {sysmon_domain}, {f["TargetDomainName"]}) END""",
        "user.id": f"""CASE WHEN code IN {target_user} THEN {f["TargetUserSid"]}
            ELSE coalesce({f["SubjectUserSid"]}, {f["TargetUserSid"]}) END""",
        "user.target.name": f"""CASE WHEN {is_audit} THEN {audit["target"]}
            WHEN code IN {account} THEN {f["TargetUserName"]}
            WHEN code = '4781' THEN {f["NewTargetUserName"]}
            WHEN code IN {group} THEN coalesce({f["MemberName"]}, {f["MemberSid"]}) END""",
        "group.name": f"""CASE WHEN {is_audit} THEN {audit["group"]}
            WHEN code IN {group} THEN {f["TargetUserName"]} END""",
        "service.name": f["ServiceName"],
        "source.ip": f"CASE WHEN regexp_matches({ip}, '^[0-9a-fA-F.:]+$') THEN {ip} END",
        "source.address": f"coalesce({ip}, {workstation})",
        "source.port": f"""nullif(try_cast(CASE WHEN {is_ssh} THEN {ssh["port"]} ELSE {f["IpPort"]} END
            AS INTEGER), 0)""",
        "destination.address": f"CASE WHEN code = '4648' THEN {f['TargetServerName']} END",
        "winlog.logon.type": f"try_cast({f['LogonType']} AS INTEGER)",
        "process.name": f"""CASE WHEN {is_ssh} THEN 'sshd'
            ELSE nullif(regexp_extract({proc}, '([^\\\\/]+)$', 1), '') END""",
        "process.pid": f"try_cast(coalesce({f['NewProcessId']}, {f['ProcessId']}) AS INTEGER)",
        "process.command_line": f"CASE WHEN {is_audit} THEN {audit['statement']} ELSE {f['CommandLine']} END",
        "winlog.event_data": "ed",
    }


def _ed_column(key: str) -> str:
    """The column of the inner query that holds one EventData key, '-' and '' already NULL."""
    return q("ed." + key)


def _code_map(i: int) -> str:
    """A MAP literal from Windows event code to its action (``i`` 0) or category (1)."""
    return "MAP {" + ", ".join(f"{_sql_str(c)}: {_sql_str(v[i])}" for c, v in WINDOWS_ACTIONS.items()) + "}"


def windows_sql(shape: str, checked: bool = True) -> str:
    """Full normalization query for a Windows shape over ``raw_batch``.

    The EventData keys and the provider tests are computed once per row in an inner query,
    since the column expressions use each of them many times.
    """
    # One json_transform reads every EventData key into a struct: the object is walked once,
    # where a list of paths looked each key up in turn (the values are the same text).
    paths = {k: "$." + k for k in dict.fromkeys([*EVENT_DATA_KEYS, *EVENT_DATA_FIELDS])}
    fields = ", ".join(f"{_dash_null(_field(paths, k, 'f'))} AS {_ed_column(k)}" for k in paths)
    # Records that carry their fields in one text: SQL Server audit and login failures,
    # OpenSSH for Windows. Each is recognised by code and provider before the generic mapping.
    flags = """lower(provider) AS lprovider,
        (code = '33205' AND lower(provider) LIKE 'mssql%') AS is_audit,
        (code = '18456' AND lower(provider) LIKE 'mssql%') AS is_sqlfail,
        (code = '4' AND lower(provider) = 'openssh') AS is_ssh"""
    structure = _sql_str(_structure(paths, json_fields=()))
    parsed = f"SELECT *, json_transform(ed, {structure}) AS f FROM ({_windows_intermediate(shape, checked)})"
    inner = f"SELECT *, {fields}, {flags} FROM ({parsed})"
    promoted = {EVENT_DATA_PREFIX + k: _ed_column(k) for k in EVENT_DATA_FIELDS}
    return _final_select({**_windows_columns(), **promoted}, inner, shape)


# ------------------------------------------------------------ Linux syslog ----

SYSLOG_RE = r"^(\w{3} +\d{1,2} \d\d:\d\d:\d\d|\d{4}-\d\d-\d\dT\S+) (\S+) ([^\[:\s]+)(?:\[(\d+)\])?: (.*)$"
# (pattern, action, category, outcome, user group, source group, port group, target group)
AUTH_PATTERNS: tuple[tuple[str, str, str, str | None, int, int, int, int], ...] = (
    (
        r"^Failed \S+ for invalid user (.*?) from (\S+) port (\d+)",
        "logon-failed",
        "authentication",
        "failure",
        1,
        2,
        3,
        0,
    ),
    (
        r"^Failed \S+ for (\S*) from (\S+) port (\d+)",
        "logon-failed",
        "authentication",
        "failure",
        1,
        2,
        3,
        0,
    ),
    (
        r"^Accepted \S+ for (\S+) from (\S+) port (\d+)",
        "logon",
        "authentication",
        "success",
        1,
        2,
        3,
        0,
    ),
    (
        r"^[Ii]nvalid user (.*?) from (\S+)(?: port (\d+))?\s*$",
        "invalid-user",
        "authentication",
        "failure",
        1,
        2,
        3,
        0,
    ),
    (
        r"(?:pam_unix\(\w+:auth\): )?authentication failure;.*rhost=(\S*)(?:\s+user=(\S+))?",
        "pam-auth-failure",
        "authentication",
        "failure",
        2,
        1,
        0,
        0,
    ),
    (
        r"^PAM \d+ more authentication failures?;.*rhost=(\S*)(?:\s+user=(\S+))?",
        "pam-auth-failure-summary",
        "authentication",
        "failure",
        2,
        1,
        0,
        0,
    ),
    (
        r"^\s*(\S+) : user NOT in sudoers ; .*USER=(\S+) ;",
        "sudo",
        "authentication",
        "failure",
        1,
        0,
        0,
        2,
    ),
    (
        r"^\s*(\S+) : (?:\d+ incorrect password attempts? ; )?.*USER=(\S+) ; COMMAND=",
        "sudo",
        "process",
        "success",
        1,
        0,
        0,
        2,
    ),
    (r"FAILED su for (\S+) by (\S+)", "su", "authentication", "failure", 2, 0, 0, 1),
    (
        r"session opened for user (\S+?)(?:\(uid=\d+\))? by (\S*?)(?:\(uid=\d+\))?\s*$",
        "session-opened",
        "session",
        "success",
        2,
        0,
        0,
        1,
    ),
    (r"new user: name=([^,\s]+)", "user-created", "iam", "success", 0, 0, 0, 1),
    (
        r"add '([^']+)' to (?:shadow )?group '([^']+)'",
        "group-member-added",
        "iam",
        "success",
        0,
        0,
        0,
        1,
    ),
    (
        r"^Disconnecting:? (?:authenticating user (\S+) )?(\S+) port (\d+): Too many authentication failures",
        "too-many-failures",
        "authentication",
        "failure",
        1,
        2,
        3,
        0,
    ),
    (
        r"reverse mapping checking getaddrinfo for \S+ \[(\S+)\] failed",
        "reverse-mapping-failed",
        "network",
        None,
        0,
        1,
        0,
        0,
    ),
)


def authlog_sql(ref_iso: str) -> str:
    """Normalization of syslog lines; ``ref_iso`` is the latest time an event may have."""
    ref = f"TIMESTAMP {_sql_str(ref_iso)}"
    parts = "['ts', 'host', 'prog', 'pid', 'msg']"
    stamp = "regexp_replace(p.ts, ' +', ' ')"
    guess = f"try_strptime(year({ref})::VARCHAR || ' ' || {stamp}, '%Y %b %d %H:%M:%S')"
    ts = f"""CASE WHEN p.ts LIKE '____-__-__T%' THEN {_utc("p.ts")}
        WHEN {guess} > {ref} + INTERVAL 1 DAY THEN {guess} - INTERVAL 1 YEAR ELSE {guess} END"""

    def pick(group_idx: str) -> str:
        cases = " ".join(
            f"WHEN regexp_matches(p.msg, {_sql_str(pat)}) THEN "
            + (
                f"nullif(regexp_extract(p.msg, {_sql_str(pat)}, {g[group_idx]}), '')"
                if g[group_idx]
                else "NULL"
            )
            for pat, *_rest in AUTH_PATTERNS
            for g in [dict(zip(("user", "src", "port", "target"), _rest[3:], strict=True))]
        )
        return f"CASE {cases} END"

    def const(i: int) -> str:
        cases = " ".join(
            f"WHEN regexp_matches(p.msg, {_sql_str(p[0])}) THEN "
            + (_sql_str(str(p[i])) if p[i] is not None else "NULL")
            for p in AUTH_PATTERNS
        )
        return f"CASE {cases} END"

    src = pick("src")
    cols = {
        "@timestamp": ts,
        "event.provider": "p.prog",
        "event.action": const(1),
        "event.category": const(2),
        "event.outcome": const(3),
        "event.reason": "CASE WHEN regexp_matches(p.msg, 'invalid user') THEN 'invalid user' END",
        "host.name": "p.host",
        "user.name": pick("user"),
        "user.target.name": pick("target"),
        "source.ip": f"CASE WHEN regexp_matches({src}, '^[0-9a-fA-F.:]+$') THEN {src} END",
        "source.address": src,
        "source.port": f"try_cast({pick('port')} AS INTEGER)",
        "process.name": "regexp_extract(p.prog, '^([^(]+)', 1)",
        "process.pid": "try_cast(p.pid AS INTEGER)",
        "winlog.event_data": "to_json({'message': p.msg})",
    }
    inner = f"""SELECT record, raw, file, regexp_extract(raw, {_sql_str(SYSLOG_RE)}, {parts}) AS p
                FROM raw_batch"""
    return _final_select(cols, inner, "authlog")


# ------------------------------------------------------------- user mapped ----

OUTCOME_WORDS = {
    "success": ("success", "succeeded", "ok", "accepted", "allow", "allowed", "true", "1", "pass"),
    "failure": ("failure", "failed", "fail", "denied", "deny", "rejected", "false", "0", "error"),
}


def mapped_sql(mapping: Mapping[str, str], fmt: str) -> str:
    """Normalization for CSV or JSON lines through the user's mapping (source names are data)."""
    types = {c: t for c, t, _ in EVENT_COLUMNS}

    def source(field: str) -> str:
        if fmt == "csv":
            return q(field)
        path = field if field.startswith("$") else "$." + '"' + field.replace('"', '\\"') + '"'
        return f"json_extract_string(raw, {_sql_str(path)})"

    cols: dict[str, str] = {}
    for column, field in mapping.items():
        expr = source(field)
        if column == "@timestamp":
            cols[column] = f"""CASE WHEN regexp_matches({expr}, '^\\d{{9,10}}(\\.\\d+)?$')
                THEN timezone('UTC', to_timestamp(try_cast({expr} AS DOUBLE)))
                WHEN regexp_matches({expr}, '^\\d{{12,13}}$')
                THEN timezone('UTC', to_timestamp(try_cast({expr} AS DOUBLE) / 1000))
                ELSE {_utc(expr)} END"""
        elif column == "event.outcome":
            cases = " ".join(
                f"WHEN lower(trim({expr})) IN ({', '.join(_sql_str(w) for w in words)}) THEN {_sql_str(o)}"
                for o, words in OUTCOME_WORDS.items()
            )
            cols[column] = f"CASE {cases} ELSE lower(trim({expr})) END"
        elif types[column] in ("INTEGER", "BIGINT"):
            cols[column] = f"try_cast({expr} AS {types[column]})"
        else:
            cols[column] = f"nullif(trim({expr}), '')"
    if "source.address" not in cols and "source.ip" in cols:
        cols["source.address"] = cols["source.ip"]
    if "source.ip" in cols:
        cols["source.ip"] = (
            f"CASE WHEN regexp_matches({cols['source.ip']}, '^[0-9a-fA-F.:]+$') THEN {cols['source.ip']} END"
        )
    if fmt == "csv":
        names = [c for c in mapping.values()]
        pack = ", ".join(f"{_sql_str(n)}: {q(n)}" for n in dict.fromkeys(names))
        inner = f"SELECT *, to_json({{{pack}}})::VARCHAR AS raw FROM raw_batch"
    else:
        inner = "SELECT * FROM raw_batch WHERE json_valid(raw)"
    return _final_select(cols, inner, f"mapped-{fmt}")


# ------------------------------------------------------------------- mail ----


def mail_sql() -> str:
    """Messages from the mail reader: ECS ``email.*`` fields in the event data, one event each.

    The parsed fields arrive as the batch's ``email`` JSON column; the raw message stays
    the record (``event.original``). ``user.name`` is the first recipient (the mailbox
    that received it) and ``source.address`` the From address, the entities alerts and
    incidents group mail by.
    """
    cols = {
        "@timestamp": "try_cast(json_extract_string(email, '$.email.origination_timestamp') AS TIMESTAMP)",
        "event.action": "'email-message'",
        "event.category": "'email'",
        "event.provider": "json_extract_string(email, '$.email.x_mailer')",
        "user.name": "json_extract_string(email, '$.email.to.address[0]')",
        "source.address": "json_extract_string(email, '$.email.from.address[0]')",
        "winlog.event_data": "email",
    }
    return _final_select(cols, "SELECT * FROM raw_batch", "mail")


# -------------------------------------------------------------------- PE ----


def pe_sql() -> str:
    """PE files from the PE reader: one event per file, its ECS ``file.*`` fields and features.

    The record is JSON made at ingest (``sources/pe.py``): ``file.path``, ``file.hash.sha256``,
    ``file.mtime`` (the event's time: when the file was last written), ``file.pe.*``, and the
    features the ``malware_file`` detector scores. ``event.original`` and the event data both
    hold it; the file itself is never stored.
    """
    cols = {
        "@timestamp": "try_cast(json_extract_string(raw, '$.file.mtime') AS TIMESTAMP)",
        "event.action": "'pe-file'",
        "event.category": "'file'",
        "winlog.event_data": "raw",
    }
    return _final_select(cols, "SELECT * FROM raw_batch", "pe")


# ------------------------------------------------------------------ common ----


def _final_select(
    cols: Mapping[str, str],
    inner: str,
    dataset: str,
    columns: tuple[tuple[str, str, str], ...] = EVENT_COLUMNS,
) -> str:
    """Fill ``columns`` (every event column) in storage order; provenance is the same for all shapes.

    The file name comes from the batch's ``file`` column: names are user data, never SQL text.
    ``event.id`` hashes the reader, the record number and the source key the workspace sets
    for the file (its content fingerprint and zip member, bound as a MAP variable), so the
    id is unique and stable without hashing the whole record. A shape that fills a column
    outside ``columns`` is refused: the value would be lost.
    """
    cols, inner = with_event_data_fields(cols, inner, dataset)
    lost = set(cols) - {c for c, _, _ in columns}
    if lost:
        raise ValueError(f"{dataset}: fills columns its store does not hold: {sorted(lost)}")
    source = f"coalesce(getvariable({_sql_str(SOURCES_VARIABLE)})[file], file)"
    fixed = {
        "event.id": f"md5({_sql_str(dataset)} || '|' || {source} || '|' || record::VARCHAR)",
        "event.dataset": _sql_str(dataset),
        "log.file.path": "file",
        "log.record": "record",
        "event.original": "raw",
    }
    select = []
    for column, typ, _ in columns:
        expr = fixed.get(column) or cols.get(column) or "NULL"
        select.append(f"CAST({expr} AS {typ}) AS {q(column)}")
    return f"SELECT {', '.join(select)} FROM ({inner})"


#: How a batch of each shape (a reader's ``RawBatch.shape``) becomes event rows: the SQL for
#: its parameters and whether to keep the JSON validity check. A new source registers its shape here.
Normalizer = Callable[[Mapping[str, object], bool], str]
NORMALIZERS: Registry[Normalizer] = Registry("normalizer")


def _mapped(fmt: str) -> Normalizer:
    def sql(params: Mapping[str, object], checked: bool) -> str:
        mapping = params["mapping"]
        assert isinstance(mapping, Mapping)
        return mapped_sql(mapping, fmt)

    return sql


def _windows(shape: str) -> Normalizer:
    return lambda _params, checked: windows_sql(shape, checked)


for _shape in WINDOWS_PATHS:
    NORMALIZERS.register(_shape, _windows(_shape))
NORMALIZERS.register("authlog", lambda params, _checked: authlog_sql(str(params["ref"])))
NORMALIZERS.register("mail", lambda _params, _checked: mail_sql())
NORMALIZERS.register("pe", lambda _params, _checked: pe_sql())
NORMALIZERS.register("mapped-csv", _mapped("csv"))
NORMALIZERS.register("mapped-jsonl", _mapped("jsonl"))


# ---------------------------------------------------------------- network ----


def _network(shape: str) -> Normalizer:
    """Zeek TSV, Zeek JSON and Argus batches: ``events.netflow`` columns, the shared provenance."""

    def sql(params: Mapping[str, object], checked: bool) -> str:
        if shape == "zeek":
            cols, inner = netflow.zeek_tsv(params)
        elif shape == "zeek-json":
            cols, inner = netflow.zeek_json(params, checked)
        else:
            cols, inner = netflow.argus(params)
        return _final_select(netflow.without_aliases(cols, shape), inner, shape, netflow.FLOW_COLUMNS)

    return sql


for _shape in ("zeek", "zeek-json", "argus"):
    NORMALIZERS.register(_shape, _network(_shape))


def normalize_sql(shape: str, params: Mapping[str, object], checked: bool = True) -> str:
    """The normalization query for a batch of ``shape``.

    ``checked=False`` skips the JSON validity filter of the Windows shapes: faster, but the
    query fails on a line that is not JSON (see ``_windows_intermediate``).
    """
    if shape not in NORMALIZERS:
        raise ValueError(f"no normalizer for shape {shape!r}")
    return NORMALIZERS.get(shape)(params, checked)


def windows_intermediate_sql(shape: str, checked: bool = True) -> str:
    """(record, raw, file, code, ts, channel, provider, host, ed) of a Windows shape over ``raw_batch``.

    Public for stages that read the raw Windows fields (Sigma) instead of the event columns.
    """
    return _windows_intermediate(shape, checked)
