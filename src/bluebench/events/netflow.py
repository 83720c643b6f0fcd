"""Network records (Zeek TSV and JSON logs, Argus flows) as event columns, in SQL.

Each function returns the event columns as SQL expressions over an inner SELECT of the raw
batch; ``normalize`` wraps them with the provenance columns every shape shares. Field names
read from a file's header only choose *positions*: the SQL holds the integer positions of the
Zeek fields this module names, never a name or value taken from the file. Separators and the
unset/empty markers a header declares travel as columns of the batch, so they stay data.

A connection's direction is Zeek's ``local_orig``/``local_resp`` where Zeek knew the local
networks; an address Zeek did not mark is local when it is private, link-local, loopback,
shared (CGNAT) or multicast, so a capture without ``Site::local_nets`` still tells inbound
from outbound.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from bluebench.schema import EVENT_COLUMNS
from bluebench.sources.zeek import ZEEK_LOGS

# Addresses that are never on the Internet: RFC 1918, loopback, link-local, CGNAT, multicast,
# broadcast, IPv6 unique-local, link-local and multicast.
LOCAL_ADDRESS = (
    r"^(10\.|192\.168\.|172\.(1[6-9]|2[0-9]|3[01])\.|127\.|169\.254\.|"
    r"100\.(6[4-9]|[7-9][0-9]|1[01][0-9]|12[0-7])\.|22[4-9]\.|23[0-9]\.|255\.255\.255\.255$|"
    r"0\.0\.0\.0$|::1?$|[fF][cCdD]|[fF][eE][89aAbB]|[fF][fF])"
)
MAC_ADDRESS = r"^([0-9a-fA-F]{2}:){5}[0-9a-fA-F]{2}$"

#: Zeek fields each log maps onto event columns (JSON reads exactly these paths).
FIELDS: dict[str, tuple[str, ...]] = {
    "conn": (
        "proto", "service", "duration", "orig_bytes", "resp_bytes", "conn_state", "history",
        "local_orig", "local_resp",
    ),
    "dns": ("proto", "query", "qtype_name", "rcode_name", "answers", "rejected"),
    "http": (
        "host", "user_agent", "method", "uri", "referrer", "status_code", "version",
        "request_body_len", "response_body_len",
    ),
    "ssl": (
        "server_name", "version", "cipher", "validation_status", "subject", "issuer", "established",
        "resumed", "ja3",
    ),
    "ssh": ("auth_success", "auth_attempts", "direction", "client", "server"),
    "notice": ("note", "msg", "sub", "src", "dst", "p", "proto"),
    "weird": ("name", "addl", "peer"),
    "files": (
        "fuid", "tx_hosts", "rx_hosts", "conn_uids", "source", "mime_type", "filename", "seen_bytes",
        "total_bytes", "md5", "sha1", "sha256",
    ),
    "x509": (
        "id", "certificate.subject", "certificate.issuer", "certificate.not_valid_before",
        "certificate.not_valid_after", "san.dns",
    ),
}  # fmt: skip
COMMON = ("ts", "uid", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p")
#: Fields kept in ``winlog.event_data`` (the record's other fields, as logged) per log.
DATA: dict[str, tuple[str, ...]] = {
    "dns": ("answers", "rejected"),
    "http": ("method", "uri", "referrer", "status_code", "version", "request_body_len", "response_body_len"),
    "ssl": ("version", "cipher", "validation_status", "subject", "issuer", "established", "resumed", "ja3"),
    "ssh": ("auth_success", "auth_attempts", "direction", "client", "server"),
    "notice": ("note", "msg", "sub"),
    "weird": ("name", "addl", "peer"),
    "files": (
        "fuid", "source", "mime_type", "filename", "seen_bytes", "total_bytes", "md5", "sha1", "sha256",
    ),
    "x509": (
        "certificate.subject", "certificate.issuer", "certificate.not_valid_before",
        "certificate.not_valid_after", "san.dns",
    ),
}  # fmt: skip
ACTIONS = {
    "conn": "connection",
    "dns": "dns-query",
    "http": "http-request",
    "ssl": "tls-handshake",
    "ssh": "ssh-login",
    "weird": "weird",
    "files": "file-transfer",
    "x509": "certificate",
}
TRUE_WORDS = "('T', 'true', '1')"
FALSE_WORDS = "('F', 'false', '0')"

Value = Callable[[str], str]  # a Zeek field name -> SQL for its text (NULL when unset)


def _lit(value: str) -> str:
    """A SQL string literal for a constant this module defines (never for input data)."""
    return "'" + value.replace("'", "''") + "'"


def _int(expr: str, typ: str = "INTEGER") -> str:
    return f"try_cast({expr} AS {typ})"


def epoch_time(expr: str) -> str:
    """Zeek's epoch seconds (text) as a naive UTC TIMESTAMP, to the microsecond."""
    return f"make_timestamp(CAST(try_cast({expr} AS DOUBLE) * 1000000 AS BIGINT))"


def any_time(expr: str) -> str:
    """Epoch seconds or an ISO 8601 time (Zeek's JSON may write either) as naive UTC."""
    return f"""CASE WHEN regexp_matches({expr}, '^[0-9]+(\\.[0-9]*)?$') THEN {epoch_time(expr)}
        ELSE timezone('UTC', try_cast({expr} AS TIMESTAMPTZ)) END"""


def seconds_ns(expr: str) -> str:
    """Seconds (text) as ECS ``event.duration`` nanoseconds."""
    return f"CAST(try_cast({expr} AS DOUBLE) * 1e9 AS BIGINT)"


def is_local(address: str, zeek_flag: str | None = None) -> str:
    """SQL: the address is local (Zeek said so, or its range is never on the Internet)."""
    ranges = f"coalesce(regexp_matches({address}, {_lit(LOCAL_ADDRESS)}), false)"
    if zeek_flag is None:
        return ranges
    return f"(coalesce({zeek_flag} IN {TRUE_WORDS}, false) OR {ranges})"


def direction(src: str, dst: str, src_flag: str | None = None, dst_flag: str | None = None) -> str:
    """ECS ``network.direction`` from where each end is."""
    a, b = is_local(src, src_flag), is_local(dst, dst_flag)
    return f"""CASE WHEN {src} IS NULL OR {dst} IS NULL THEN NULL
        WHEN {a} AND {b} THEN 'internal' WHEN {a} THEN 'outbound' WHEN {b} THEN 'inbound'
        ELSE 'external' END"""


def _data(kind: str, val: Value) -> str:
    """The record's other fields, as logged, in ``winlog.event_data`` (NULL for conn)."""
    keys = DATA.get(kind)
    if not keys:
        return "NULL"
    return "to_json({" + ", ".join(f"{_lit(k)}: {val(k)}" for k in keys) + "})"


def _first(expr: str, separator: str) -> str:
    """The first element of a Zeek set written as text (``separator`` is SQL, e.g. a column)."""
    return f"nullif(split_part({expr}, {separator}, 1), '')"


def zeek_columns(kind: str, val: Value, first: Callable[[str], str]) -> dict[str, str]:
    """Event columns of one Zeek log; ``val`` reads a field, ``first`` a set's first element."""
    if kind not in ZEEK_LOGS:
        raise ValueError(f"not a Zeek log bluebench reads: {kind!r}")
    flags = (val("local_orig"), val("local_resp")) if kind == "conn" else (None, None)
    cols = {
        "@timestamp": "ts",
        "event.code": _lit(kind),
        "event.provider": "'zeek'",
        "event.action": val("note") if kind == "notice" else _lit(ACTIONS[kind]),
        "event.category": "'intrusion_detection'" if kind == "notice" else "'network'",
        "source.ip": "src_ip",
        "source.address": "src_ip",
        "source.port": _int(val("id.orig_p")),
        "destination.ip": "dst_ip",
        "destination.address": "dst_ip",
        "destination.port": _int(
            val("id.resp_p") if kind != "notice" else f"coalesce({val('id.resp_p')}, {val('p')})"
        ),
        "network.direction": direction("src_ip", "dst_ip", *flags),
        "zeek.session_id": val("uid") if kind != "files" else f"coalesce({val('uid')}, {first('conn_uids')})",
        "winlog.event_data": _data(kind, val),
    }
    if kind in ("conn", "dns", "notice"):
        cols["network.transport"] = val("proto")
    cols.update(_kind_columns(kind, val))
    return cols


def _kind_columns(kind: str, val: Value) -> dict[str, str]:
    """The columns only one log fills."""
    if kind == "conn":
        return {
            "network.protocol": val("service"),
            "event.duration": seconds_ns(val("duration")),
            "source.bytes": _int(val("orig_bytes"), "BIGINT"),
            "destination.bytes": _int(val("resp_bytes"), "BIGINT"),
            "zeek.connection.state": val("conn_state"),
            "zeek.connection.history": val("history"),
        }
    if kind == "dns":
        return {
            "network.protocol": "'dns'",
            "dns.question.name": val("query"),
            "dns.question.type": val("qtype_name"),
            "dns.response_code": val("rcode_name"),
        }
    if kind == "http":
        return {
            "network.protocol": "'http'",
            "url.domain": val("host"),
            "user_agent.original": val("user_agent"),
        }
    if kind == "ssl":
        return {"network.protocol": "'ssl'", "tls.server_name": val("server_name")}
    if kind == "ssh":
        ok = val("auth_success")
        return {
            "network.protocol": "'ssh'",
            "event.outcome": f"CASE WHEN {ok} IN {TRUE_WORDS} THEN 'success' WHEN {ok} IN {FALSE_WORDS} THEN 'failure' END",
        }
    if kind == "notice":
        return {"event.reason": val("msg")}
    if kind == "weird":
        return {"event.reason": val("name")}
    if kind == "x509":
        return {"zeek.session_id": val("id")}
    return {}


def _needed(kind: str) -> list[str]:
    return list(dict.fromkeys(COMMON + FIELDS[kind]))


# ------------------------------------------------------------------ TSV


def zeek_tsv(params: Mapping[str, object]) -> tuple[dict[str, str], str]:
    """Columns and inner SELECT for a batch of one Zeek TSV header block.

    ``params['fields']`` are the header's field names; only the positions of the fields this
    module names are used. The batch carries ``sep``, ``set_sep``, ``unset`` and ``empty``
    columns: the header's separators and markers, as data.
    """
    kind = str(params["kind"])
    names = params["fields"]
    assert isinstance(names, Sequence)
    position = {str(n): i + 1 for i, n in enumerate(names)}

    def val(name: str) -> str:
        i = position.get(name)
        return "NULL" if i is None else f"nullif(nullif(f[{i}], unset), empty)"

    def first(name: str) -> str:
        return _first(val(name), "set_sep")

    cols = zeek_columns(kind, val, first)
    inner = f"""SELECT record, raw, file, f, unset, empty, set_sep, {epoch_time(val("ts"))} AS ts,
                  {val("id.orig_h")} AS src0, {val("id.resp_h")} AS dst0
           FROM (SELECT record, raw, file, string_split(raw, sep) AS f, unset, empty, set_sep FROM raw_batch)"""
    return cols, _with_addresses(kind, inner, val, first)


def _with_addresses(kind: str, inner: str, val: Value, first: Callable[[str], str]) -> str:
    """``inner`` plus the two addresses under the names every column expression uses."""
    src, dst = "src0", "dst0"
    if kind == "notice":
        src, dst = f"coalesce(src0, {val('src')})", f"coalesce(dst0, {val('dst')})"
    elif kind == "files":
        src, dst = f"coalesce(src0, {first('tx_hosts')})", f"coalesce(dst0, {first('rx_hosts')})"
    return f"SELECT *, {src} AS src_ip, {dst} AS dst_ip FROM ({inner})"


# ------------------------------------------------------------------ JSON


def _json_path(name: str) -> str:
    return '$."' + name + '"'


def zeek_json(params: Mapping[str, object], checked: bool) -> tuple[dict[str, str], str]:
    """Columns and inner SELECT for Zeek JSON lines of one log (``params['kind']``).

    One ``json_extract_string`` reads every field the log maps; a line whose ``_path`` names
    another log is left out (``unstored_json_sql`` names it). ``checked`` first drops lines that
    are not JSON; unchecked, such a line fails the query and the caller runs it checked.
    """
    kind = str(params["kind"])
    if kind not in ZEEK_LOGS:
        raise ValueError(f"not a Zeek log bluebench reads: {kind!r}")
    names = [*_needed(kind), "_path"]
    paths = "[" + ", ".join(_lit(_json_path(n)) for n in names) + "]"
    index = {n: i + 1 for i, n in enumerate(names)}

    def val(name: str) -> str:
        i = index.get(name)
        return "NULL" if i is None else f"nullif(x[{i}], '')"

    def first(name: str) -> str:
        return f"json_extract_string(raw, {_lit(_json_path(name) + '[0]')})"

    cols = zeek_columns(kind, val, first)
    where = "WHERE json_valid(raw)" if checked else ""
    inner = f"""SELECT *, {any_time(val("ts"))} AS ts, {val("id.orig_h")} AS src0, {val("id.resp_h")} AS dst0
        FROM (SELECT record, raw, file, json_extract_string(raw, {paths}) AS x FROM raw_batch {where})
        WHERE x[{index["_path"]}] IS NULL OR lower(x[{index["_path"]}]) = {_lit(kind)}"""
    return cols, _with_addresses(kind, inner, val, first)


def unstored_json_sql(params: Mapping[str, object]) -> str:
    """(record, why, first characters) of the Zeek JSON lines of ``bad_batch`` left out."""
    kind = str(params.get("kind", ""))
    if kind not in ZEEK_LOGS:
        raise ValueError(f"not a Zeek log bluebench reads: {kind!r}")
    other = f"a record of another Zeek log ('_path' is not {kind!r})"
    return f"""
        SELECT record, CASE WHEN NOT json_valid(raw) THEN 'not valid JSON (truncated?)' ELSE {_lit(other)} END,
               left(raw, 60)
        FROM bad_batch
        WHERE NOT json_valid(raw) OR coalesce(lower(json_extract_string(raw, '$._path')) <> {_lit(kind)}, false)
        ORDER BY record
    """


# ------------------------------------------------------------------ Argus

ARGUS_TIME_FORMATS = (
    "['%Y/%m/%d %H:%M:%S.%f', '%Y/%m/%d %H:%M:%S', '%Y-%m-%d %H:%M:%S.%f', '%Y-%m-%d %H:%M:%S']"
)


def argus_state(state: str, proto: str) -> str:
    """An Argus flow state (``S_RA``, ``FSPA_FSPA``, ``CON``, ``INT``) in Zeek's conn_state words.

    TCP states are the flags each side sent (source ``_`` destination): nothing back is S0, a
    reset to a bare SYN is REJ, FINs both ways SF, a reset from either side RSTO/RSTR.
    """
    src = f"split_part({state}, '_', 1)"
    dst = f"split_part({state}, '_', 2)"
    return f"""CASE
        WHEN {state} IS NULL THEN NULL
        WHEN {proto} = 'tcp' AND contains({state}, '_') THEN CASE
            WHEN {dst} = '' THEN CASE WHEN contains({src}, 'S') THEN 'S0' ELSE 'OTH' END
            WHEN contains({dst}, 'R') AND NOT contains({dst}, 'P') AND NOT contains({src}, 'A') THEN 'REJ'
            WHEN contains({src}, 'F') AND contains({dst}, 'F') THEN 'SF'
            WHEN contains({src}, 'R') THEN 'RSTO'
            WHEN contains({dst}, 'R') THEN 'RSTR'
            ELSE 'S1' END
        WHEN {state} IN ('INT', 'REQ') THEN 'S0'
        WHEN {state} IN ('CON', 'ACC', 'FIN') THEN 'SF'
        WHEN {state} IN ('URP', 'URH', 'URN', 'URF', 'RST') THEN 'REJ'
        ELSE 'OTH' END"""


def argus(params: Mapping[str, object]) -> tuple[dict[str, str], str]:
    """Columns and inner SELECT for Argus CSV rows with the header ``params['fields']``."""
    names = params["fields"]
    assert isinstance(names, Sequence)
    position = {str(n).strip(): i + 1 for i, n in enumerate(names)}

    def val(name: str) -> str:
        i = position.get(name)
        return "NULL" if i is None else f"nullif(trim(f[{i}]), '')"

    def port(name: str) -> str:
        v = val(name)
        hexa = f"CASE WHEN starts_with({v}, '0x') THEN try_cast(('0' || substr({v}, 2)) AS INTEGER) END"
        return f"coalesce(try_cast({v} AS INTEGER), {hexa})"

    def address(name: str) -> str:
        v = val(name)
        return f"CASE WHEN NOT regexp_matches({v}, {_lit(MAC_ADDRESS)}) THEN {v} END"

    total, sent = _int(val("TotBytes"), "BIGINT"), _int(val("SrcBytes"), "BIGINT")
    cols = {
        "@timestamp": "ts",
        "event.code": "'argus'",
        "event.provider": "'argus'",
        "event.action": "'connection'",
        "event.category": "'network'",
        "event.reason": val("State"),
        "source.ip": "src_ip",
        "source.address": "src_ip",
        "source.port": port("Sport"),
        "destination.ip": "dst_ip",
        "destination.address": "dst_ip",
        "destination.port": port("Dport"),
        "network.transport": f"lower({val('Proto')})",
        "network.direction": direction("src_ip", "dst_ip"),
        "event.duration": seconds_ns(val("Dur")),
        "source.bytes": sent,
        "destination.bytes": f"CASE WHEN {total} >= {sent} THEN {total} - {sent} END",
        "zeek.connection.state": argus_state(val("State"), f"lower({val('Proto')})"),
    }
    start = val("StartTime")
    ts = f"coalesce(try_strptime({start}, {ARGUS_TIME_FORMATS}), {epoch_time(start)})"
    inner = f"""SELECT *, {ts} AS ts, {address("SrcAddr")} AS src_ip, {address("DstAddr")} AS dst_ip
        FROM (SELECT record, raw, file, string_split(raw, ',') AS f FROM raw_batch)"""
    return cols, inner


def _filled() -> frozenset[str]:
    """Every event column some network log fills (``events.storage`` keeps network records in these)."""
    columns = set(argus({"fields": ()})[0])
    for kind in ZEEK_LOGS:
        columns |= set(zeek_columns(kind, lambda name: name, lambda name: name))
    return frozenset(columns)


#: The event columns Zeek and Argus records fill, besides the provenance every shape fills.
FILLED = _filled()
#: Columns every shape fills the same way (``normalize._final_select``).
PROVENANCE = ("event.id", "event.dataset", "log.file.path", "log.record", "event.original")
#: Columns every network log fills with another column's value (the address is the IP): the flow
#: table stores that one alone and the events view repeats it under this name (``events.storage``).
FLOW_ALIASES = {"source.address": "source.ip", "destination.address": "destination.ip"}
#: The columns of a network record: those of its log (``FILLED``) and the provenance, less the
#: aliases. Network records are stored with these alone (``events.storage``), in schema order.
FLOW_COLUMNS = tuple(
    c for c in EVENT_COLUMNS if (c[0] in FILLED or c[0] in PROVENANCE) and c[0] not in FLOW_ALIASES
)


def without_aliases(cols: Mapping[str, str], shape: str) -> dict[str, str]:
    """A network shape's columns less those the flow table leaves to the view (``FLOW_ALIASES``).

    An alias is left out only where it holds the very value of its column; else it is refused.
    """
    stored = {c for c, _, _ in FLOW_COLUMNS}
    out = dict(cols)
    for alias, same in FLOW_ALIASES.items():
        if alias in stored:
            continue
        if out.get(alias) != out.get(same):
            raise ValueError(f"{shape}: {alias} is not {same}, so the flow table cannot leave it to the view")
        out.pop(alias, None)
    return out
