"""SQL pieces the network detectors share: connections, sessions across fragments, failed probes.

Everything here is SQL text built from constants; values (gaps, ports, lists) are bound as
``$name`` parameters by the detector that runs the query. A *connection* is a Zeek conn record
or an Argus flow (``event.action = 'connection'``). A *session* is a run of records of one
5-tuple that follow each other within ``$merge_gap`` seconds of the previous one's end: Zeek
writes a long TCP session as several records when it goes quiet, and a connection attempt
retried by the kernel (a SYN sent again) as a second record with the same ports.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from bluebench.detectors.base import Detector, Finding, run_tables, temp_table
from bluebench.detectors.winsql import sql_list, uniq
from bluebench.engines import Db, DuckDBEngine, as_engine

# Zeek states of an attempt that carried no conversation: no answer (S0), refused (REJ), reset
# before data, or only one side seen. Argus states are mapped onto these at ingest.
FAILED_STATES = ("S0", "REJ", "RSTOS0", "RSTRH", "SH", "SHR", "OTH")
# Ports whose services people log in to over the network (brute force targets).
AUTH_PORTS = {22: "SSH", 23: "Telnet", 21: "FTP", 3389: "RDP", 445: "SMB", 139: "SMB", 5900: "VNC"}

CONNECTIONS = """
SELECT "event.id" AS eid, "@timestamp" AS ts, epoch_us("@timestamp") / 1e6 AS t,
       "source.ip" AS src, "source.port" AS sport, "destination.ip" AS dst, "destination.port" AS dport,
       coalesce("network.transport", 'tcp') AS transport, "network.protocol" AS service,
       coalesce("event.duration", 0) / 1e9 AS dur, "source.bytes" AS sent, "destination.bytes" AS recv,
       "zeek.connection.state" AS state, "network.direction" AS direction, "zeek.session_id" AS uid
FROM events
WHERE "event.action" = 'connection' AND "source.ip" IS NOT NULL AND "destination.ip" IS NOT NULL
  AND "@timestamp" IS NOT NULL
"""


def failed(state: str = "state", recv: str = "recv") -> str:
    """SQL: an attempt the responder never answered with data: unanswered, refused or reset.

    A record Zeek saw only part of (OTH, a reset mid-stream) counts only when nothing came back,
    since a long session that began before the capture is also OTH. A reset counts only when
    the bytes that came back are *known* to be none: a flow log with totals alone (Argus
    without ``SrcBytes``) cannot tell a refused probe from a web page closed with a reset.
    """
    return (
        f"(({state} IN {_in(FAILED_STATES)} AND coalesce({recv}, 0) = 0)"
        f" OR ({state} IN ('RSTO', 'RSTR') AND {recv} = 0))"
    )


def _in(values: Iterable[str]) -> str:
    return "(" + sql_list(values)[1:-1] + ")"


# The 5-tuples of ``{source}`` that hold more than one record, by hash (the only ones with fragments to
# merge), with the hash of their source (``hs``: a pass probes only its own sources' 5-tuples).
REPEATED = """SELECT hash(src, sport, dst, dport, transport) AS h, hash(src) AS hs FROM {source}
GROUP BY h, hs HAVING count(*) > 1"""


def _merged(evidence: bool) -> str:
    """SELECT of the sessions of the repeated 5-tuples from ``numbered`` (see :func:`sessions`)."""
    many_eids = ",\n               list(eid ORDER BY t, eid) AS eids" if evidence else ""
    return f"""
        SELECT src, sport, dst, dport, transport, min(t) AS t, max(t + dur) AS t_end,
               max(t + dur) - min(t) AS dur, sum(sent) AS sent, sum(recv) AS recv,
               min(service) AS service,
               arg_min(state, t) AS state, bool_and({failed()}) AS failed,
               min(direction) AS direction, arg_min(uid, t) AS uid, count(*) AS frags{many_eids}
        FROM numbered
        GROUP BY src, sport, dst, dport, transport, sn"""


def _singles(source: str, evidence: bool, where: str) -> str:
    """SELECT of the records of ``source`` that ``where`` says are sessions on their own."""
    one_eid = ", [eid]" if evidence else ""
    return f"""
        SELECT src, sport, dst, dport, transport, t, t + dur, dur, sent, recv, service, state, {failed()},
               direction, uid, 1{one_eid}
        FROM {source} WHERE {where}"""


def _merging(source: str, repeated: str | None) -> str:
    """CTEs ``multi`` to ``numbered``: the records of repeated 5-tuples, numbered by session."""
    multi = f"SELECT h FROM {repeated}" if repeated else REPEATED.format(source=source)
    return f"""
    multi AS NOT MATERIALIZED ({multi}),
    counted AS NOT MATERIALIZED (
        SELECT *, hash(src, sport, dst, dport, transport) IN (SELECT h FROM multi) AS many FROM {source}
    ),
    frag AS (
        SELECT *, lag(t + dur) OVER (PARTITION BY src, sport, dst, dport, transport ORDER BY t, eid) AS prev_end
        FROM counted WHERE many
    ),
    numbered AS (
        SELECT *, sum(CASE WHEN prev_end IS NULL OR t - prev_end > $merge_gap THEN 1 ELSE 0 END)
                  OVER (PARTITION BY src, sport, dst, dport, transport ORDER BY t, eid) AS sn
        FROM frag
    )"""


def sessions(source: str = "conns", evidence: bool = False, tables: RunTables | None = None) -> str:
    """Sessions over the connection rows ``source`` (a CTE name): fragments of one 5-tuple merged.

    Columns: src, sport, dst, dport, transport, t (start), t_end, dur, sent, recv, service,
    state (of the first record), failed (every record failed), direction, uid, frags, and with
    ``evidence`` eids (the records' event ids: lists cost most of the memory, so the scoring
    pass leaves them out and :func:`evidence_rows` fetches them for the few findings kept).
    Binds ``$merge_gap`` (seconds between one record's end and the next one's start).

    Most 5-tuples hold one record (a fresh source port per connection): those are sessions as
    they are, and only the others go through the windows that find the breaks. Which are which
    is told by a hash of the 5-tuple (one integer to group on, and a small table of the repeated
    ones to probe): a collision only sends a lone record through the windows, which give it
    the same session. ``tables`` (scoring only) names the run's table of those hashes and its
    table of their merged sessions (see :func:`session_tables`): then only the lone records are
    read here, in one pass over ``source``, and the merged sessions of this pass's sources added.
    """
    if tables is not None and not evidence:
        # Only this pass's repeated 5-tuples are probed: a hash table of a sixth of them, not all.
        mine = in_pass("hs", hashed=True)
        lone = (
            f"hash(src, sport, dst, dport, transport) NOT IN (SELECT h FROM {tables.repeated} WHERE {mine})"
        )
        return f"""
    sessions AS NOT MATERIALIZED (
        SELECT * FROM {tables.merged} WHERE {in_pass("src")}
        UNION ALL{_singles(source, False, lone)}
    )"""
    return (
        _merging(source, None)
        + f""",
    sessions AS NOT MATERIALIZED ({_merged(evidence)}
        UNION ALL{_singles("counted", evidence, "NOT many")}
    )"""
    )


# Internal addresses as the sensor saw them: Zeek's local flags, else private ranges (the
# direction normalization wrote). An address some connection shows as local is local everywhere,
# so a log without direction (ssl.log, dns.log) still knows which end is the monitored host.
LOCAL_HOSTS = """
local_hosts AS (
    SELECT DISTINCT "source.ip" AS ip FROM events
    WHERE "network.direction" IN ('outbound', 'internal') AND "source.ip" IS NOT NULL
    UNION
    SELECT DISTINCT "destination.ip" FROM events
    WHERE "network.direction" IN ('inbound', 'internal') AND "destination.ip" IS NOT NULL
)"""


def in_pass(address: str, hashed: bool = False) -> str:
    """SQL: ``address`` belongs to pass ``$chunk`` of ``$chunks`` (typed, so the hash stays an integer).

    ``hashed``: ``address`` is already the hash of one (``hs`` of the run's repeated 5-tuples).
    """
    value = address if hashed else f"hash({address})"
    return f"{value} % CAST($chunks AS UBIGINT) = CAST($chunk AS UBIGINT)"


def outbound_conns(which: str, local: str | None = None) -> str:
    """CTEs ``conns``, ``local_hosts`` and ``out_conns``: the outbound connections of the sources ``which`` picks.

    ``local`` is the run's table of local hosts (:func:`session_tables`), if any: else they are
    found in the events again, a scan of every connection.
    """
    hosts = f"\nlocal_hosts AS (SELECT ip FROM {local})" if local else LOCAL_HOSTS
    return (
        "conns AS NOT MATERIALIZED ("
        + CONNECTIONS
        + "),"
        + hosts
        + f""",
    out_conns AS NOT MATERIALIZED (
        SELECT * FROM conns
        WHERE src IN (SELECT ip FROM local_hosts) AND dst NOT IN (SELECT ip FROM local_hosts)
          AND {which}
    )"""
    )


def outbound_sessions(evidence: bool = False, tables: RunTables | None = None) -> str:
    """CTEs ``conns``, ``local_hosts``, ``out_conns`` and ``sessions`` of outbound connections only.

    Sessions are keyed by both addresses, so filtering first gives the same sessions as
    filtering after, without sorting the internal traffic (resolvers, shares, directory).
    Scoring reads the sources of one pass (``$chunk`` of ``$chunks``, by a hash of the
    address: see :func:`passes`), without event ids; ``evidence`` reads only the sources in
    ``$hosts``, with them. Every session is a fact about one source, so both see the same sessions.
    ``tables`` are the run's repeated 5-tuples and their merged sessions (see :func:`session_tables`), if any.
    """
    which = "list_contains($hosts, src)" if evidence else in_pass("src")
    local = tables.local if tables else None
    return outbound_conns(which, local) + "," + sessions("out_conns", evidence, tables)


CONNECTION_COUNT_SQL = """SELECT count(*) AS n FROM events WHERE "event.action" = 'connection'"""
# Per outside destination, how many monitored hosts talked to it, and how many hosts talked to
# any: rarity is a fact about all hosts, so it is counted once, outside the passes.
DESTINATION_HOSTS_SQL = (
    "WITH "
    + LOCAL_HOSTS.strip()
    + """,
outbound AS (
    SELECT DISTINCT "source.ip" AS src, "destination.ip" AS dst FROM events
    WHERE "event.action" = 'connection' AND "@timestamp" IS NOT NULL
      AND coalesce("network.transport", 'tcp') IN ('tcp', 'udp')
      AND "source.ip" IN (SELECT ip FROM local_hosts) AND "destination.ip" NOT IN (SELECT ip FROM local_hosts)
      AND NOT list_contains($allow, "destination.ip")
)
SELECT dst, count(*) AS hosts, (SELECT count(DISTINCT src) FROM outbound) AS all_hosts
FROM outbound GROUP BY dst
"""
)


def passes(
    rows: Callable[[str], list[dict[str, Any]]], per_pass: int, count_sql: str = CONNECTION_COUNT_SQL
) -> int:
    """How many passes over the sources keep one pass near ``per_pass`` connections (rows of ``count_sql``).

    A detector's windows and aggregates hold one pass in memory; every source is in
    exactly one pass and everything these detectors compute is per source, so the passes
    together give the same findings as one (rarity is counted apart, over all hosts).
    Within :func:`shared_sessions` each count is made once for the run. A detector that reads
    a run's sums per pair (:func:`pair_sums`) counts their rows instead: a pass holds those.
    """
    run = _SHARED.get()
    n = run.counts.get(count_sql) if run is not None else None
    if n is None:
        n = int(rows(count_sql)[0]["n"] or 0)
        if run is not None:
            run.counts[count_sql] = n
    return max(1, -(-n // max(int(per_pass), 1)))


def destination_hosts(
    rows: Callable[[str, dict[str, Any]], list[dict[str, Any]]],
    allow: list[str],
    sql: str = DESTINATION_HOSTS_SQL,
    params: dict[str, Any] | None = None,
) -> tuple[dict[str, int], int]:
    """Hosts per outside destination and all hosts with outbound traffic (allowed destinations left out).

    Within :func:`shared_sessions` the answer is kept for the run: long connections and
    exfiltration ask the same question of the same events.
    """
    bound = {"allow": allow, **(params or {})}
    run = _SHARED.get()
    key = (sql, repr(sorted(bound.items())))
    if run is not None and key in run.hosts:
        return run.hosts[key]
    found = rows(sql, bound)
    answer = {str(r["dst"]): int(r["hosts"]) for r in found}, int(found[0]["all_hosts"]) if found else 0
    if run is not None:
        run.hosts[key] = answer
    return answer


#: Connections one pass of beaconing, long connections or exfiltration reads at most (about).
CHUNK_ROWS = 2_000_000


class RunTables(NamedTuple):
    """The temporary tables of a detect run that one detector's scoring query reads (:func:`session_tables`)."""

    repeated: str  # hashes of the outbound 5-tuples that hold several records (h), and of their source (hs)
    merged: str  # those 5-tuples' sessions at the detector's merge gap
    local: str  # the local hosts (LOCAL_HOSTS), found once for the run


@dataclass
class _Run:
    """What one detect run shares between its network detectors (see :func:`shared_sessions`)."""

    shares: bool  # two of its detectors merge outbound sessions
    engine: DuckDBEngine  # where the tables are made
    tables: dict[str, str] = field(default_factory=dict)  # by what they hold: 5-tuples, sessions, sums
    hosts: dict[tuple[str, str], tuple[dict[str, int], int]] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)  # rows to split into passes, by query (see passes)

    def make(self, key: str, name: str, select: str, params: dict[str, Any] | None = None) -> str:
        """The run's table ``key``, made now from ``select`` under ``name`` unless it already is."""
        if key not in self.tables:
            self.tables[key] = temp_table(self.engine, name, select, params or {})
        return self.tables[key]


# The detect run in progress (None outside one).
_SHARED: ContextVar[_Run | None] = ContextVar("bluebench_shared_sessions", default=None)
REPEATED_TABLE = "bluebench_repeated_tuples"  # table names are constants: nothing from the data
LOCAL_TABLE = "bluebench_local_hosts"
RECORDS_TABLE = "bluebench_repeated_records"
MERGED_TABLE = "bluebench_merged_sessions_{n}"
PAIR_TABLE = "bluebench_pair_sums_{n}"


def shares_sessions(detectors: Iterable[Detector]) -> bool:
    """Whether at least two of ``detectors`` merge outbound sessions (``merges_sessions``), at any gaps."""
    return sum(1 for d in detectors if getattr(d, "merges_sessions", False)) > 1


@contextmanager
def shared_sessions(db: Db, detectors: Iterable[Detector]) -> Iterator[None]:
    """A detect run of ``detectors`` in which the fragments of outbound sessions are merged once.

    Beaconing, long connections and exfiltration each merge the fragments of the same outbound
    connections, and finding which 5-tuples have fragments (a count over every connection) was
    most of what merging cost. Within this block the first of them to ask stores those 5-tuples'
    hashes, and their merged sessions at its gap, in small temporary tables (see
    :func:`session_tables`) that the others read; the lone records (nearly all) stay in each
    query, read once per pass (a table of every session held a row per connection and spilled).
    Their sums per pair and port are made once too, in one read of every source (a table of a
    row per pair, not per connection: :func:`pair_sums`): exfiltration's passes read it instead
    of the events, and hosts per destination are counted from its pairs. Hosts per destination
    (:func:`destination_hosts`) are counted once per question. The tables are dropped at the
    end, so a later run (new events ingested) counts afresh. Engines other than DuckDB are left alone.
    """
    engine = as_engine(db)
    if not isinstance(engine, DuckDBEngine):
        yield
        return
    run = _Run(shares_sessions(detectors), engine)
    with run_tables(engine, _SHARED, run, run.tables):
        yield


def session_tables(db: Db, merge_gap: float) -> RunTables | None:
    """The run's tables of repeated outbound 5-tuples (``h``) and of their sessions at ``merge_gap``.

    Built now if this run has none yet; None outside :func:`shared_sessions` or when no other
    detector of the run merges sessions (the detector merges them in its query). Counting
    5-tuples is one hash aggregate over every source (it spills, unlike the windows of a
    detector's pass); the repeated ones' records are then read into a table of their own (a few
    per cent of the connections), which each gap's merge reads instead of every connection.
    """
    run = _SHARED.get()
    if run is None or not run.shares or not isinstance(as_engine(db), DuckDBEngine):
        return None
    local = run.make(LOCAL_TABLE, LOCAL_TABLE, f"WITH {LOCAL_HOSTS.strip()} SELECT ip FROM local_hosts")
    outbound = f"WITH {outbound_conns('true', local)}"
    repeated = run.make(REPEATED_TABLE, REPEATED_TABLE, f"{outbound} {REPEATED.format(source='out_conns')}")
    many = f"hash(src, sport, dst, dport, transport) IN (SELECT h FROM {repeated})"
    records = run.make(RECORDS_TABLE, RECORDS_TABLE, f"{outbound} SELECT * FROM out_conns WHERE {many}")
    gap = repr(float(merge_gap))
    select = f"WITH {_merging(records, repeated).lstrip()} {_merged(False)}"
    merged = run.make(
        gap, MERGED_TABLE.format(n=_count(run, MERGED_TABLE)), select, {"merge_gap": float(merge_gap)}
    )
    return RunTables(repeated, merged, local)


#: Per outbound (source, destination, port, transport), the sums of its sessions: what exfiltration
#: groups, and the pairs that hosts per destination count.
PAIR_SUMS = """
SELECT src, dst, dport, transport, count(*) AS n, sum(CASE WHEN failed THEN 1 ELSE 0 END) AS fails,
       min(t) AS first_t, max(t_end) AS last_t, sum(coalesce(sent, 0)) AS sent, sum(coalesce(recv, 0)) AS recv
FROM sessions GROUP BY src, dst, dport, transport"""


def pair_sums(db: Db, merge_gap: float) -> str | None:
    """The run's table of :data:`PAIR_SUMS` over the outbound sessions at ``merge_gap`` (None as for sessions).

    One hash aggregate over every source (a row per pair and port, not per connection, so it
    stays in memory where a pass's windows would not): a detector that only sums its pairs reads
    this table in its passes instead of every connection once per pass.
    """
    tables = session_tables(db, merge_gap)
    run = _SHARED.get()
    if tables is None or run is None:
        return None
    select = f"WITH {outbound_sessions(False, tables)} {PAIR_SUMS}"
    name = PAIR_TABLE.format(n=_count(run, PAIR_TABLE))
    return run.make(f"pairs {float(merge_gap)!r}", name, select, {"chunks": 1, "chunk": 0})


# Hosts per outside destination and all hosts, from a run's pair sums: the (source, destination)
# pairs of the outbound connections, as DESTINATION_HOSTS_SQL and beaconing's targets (when no
# name was read, a target is the address) count them from the events. Which merge gap the sums
# were made at does not matter: sessions join records of one 5-tuple, so the pairs are the same.
PAIR_HOSTS_SQL = """
WITH outbound AS (
    SELECT DISTINCT src, dst FROM {pairs} WHERE {transports} AND NOT list_contains($allow, dst)
)
SELECT dst, count(*) AS hosts, (SELECT count(DISTINCT src) FROM outbound) AS all_hosts
FROM outbound GROUP BY dst
"""


def pair_hosts_sql(db: Db, merge_gap: float, tcp_udp: bool) -> str | None:
    """SQL for :func:`destination_hosts` over the run's pair sums (any gap; made at ``merge_gap`` if none yet).

    ``tcp_udp`` counts only TCP and UDP pairs (as DESTINATION_HOSTS_SQL does); None outside a
    run that shares sessions, where the hosts are counted from the events.
    """
    run = _SHARED.get()
    made = [name for key, name in (run.tables.items() if run else []) if key.startswith("pairs ")]
    pairs = made[0] if made else pair_sums(db, merge_gap)
    if pairs is None:
        return None
    return PAIR_HOSTS_SQL.format(pairs=pairs, transports="transport IN ('tcp', 'udp')" if tcp_udp else "true")


def _count(run: _Run, pattern: str) -> int:
    """How many of the run's tables are named by ``pattern`` (the next one's number)."""
    prefix = pattern.split("{")[0]
    return sum(1 for name in run.tables.values() if name.startswith(prefix))


def in_passes(
    con: Db,
    rows: Callable[[Db, str, dict[str, Any]], list[dict[str, Any]]],
    sql: str,
    params: dict[str, Any],
    per_pass: int,
    order: tuple[str, ...],
    count_sql: str = CONNECTION_COUNT_SQL,
) -> list[dict[str, Any]]:
    """``sql`` run once per pass over the sources (see :func:`passes`), its rows in one order."""
    n = passes(lambda q: rows(con, q, {}), per_pass, count_sql)
    used = _used(sql, params)
    out: list[dict[str, Any]] = []
    for i in range(n):
        out += rows(con, sql, {**used, "chunks": n, "chunk": i})
    if n > 1:
        out.sort(key=lambda r: tuple((r[k] is None, r[k]) for k in order))
    return out


def _used(sql: str, params: dict[str, Any]) -> dict[str, Any]:
    """The ``params`` that ``sql`` binds: DuckDB refuses unused ones (a session table needs no gap)."""
    return {k: v for k, v in params.items() if re.search(rf"\${k}\b", sql)}


def evidence_rows(
    rows: Callable[[str, dict[str, Any]], list[dict[str, Any]]],
    sql: str,
    params: dict[str, Any],
    hosts: Iterable[str],
    key: tuple[str, ...],
) -> dict[tuple[Any, ...], list[str]]:
    """Event ids per finding key (the ``key`` columns of ``sql``'s rows) for the sources ``hosts``.

    The scoring pass aggregates without evidence lists; this second query runs the same CTEs
    over the kept findings' sources alone (``$hosts``), so the ids are those the findings were
    computed from, at the cost of a few hosts' connections instead of every one's.
    """
    wanted = sorted(set(hosts))
    if not wanted:
        return {}
    found = rows(sql, {**_used(sql, params), "hosts": wanted})
    return {tuple(r[k] for k in key): list(r["eids"]) for r in found}


def with_evidence(
    found: list[tuple[dict[str, Any], Finding]],
    keep: Callable[[float], bool],
    fetch: Callable[[list[str]], dict[tuple[Any, ...], list[str]]],
    key: tuple[str, ...],
) -> Iterator[Finding]:
    """The findings of ``found`` (row, finding), those ``keep`` passes with their event ids.

    Evidence is fetched once, for the sources of the kept findings: a finding below the
    threshold never becomes an alert, so it carries none (its score and reasons are whole).
    """
    kept = [(r, f) for r, f in found if keep(f.score)]
    ids = fetch([str(r[key[0]]) for r, _ in kept]) if kept else {}
    for r, f in found:
        if keep(f.score):
            f.event_ids = uniq(ids.get(tuple(r[k] for k in key), []))
        yield f


#: The network logs bluebench reads, by ``event.code``; flows are Zeek's conn.log or Argus.
NETWORK_LOGS = ("conn", "argus", "dns", "http", "ssl", "ssh", "notice", "weird", "files", "x509")
FLOWS = ("conn", "argus")
LOGS_SQL = f"""SELECT DISTINCT "event.code" AS code FROM events WHERE "event.code" IN {_in(NETWORK_LOGS)}"""
LOG_NAMES = {"conn": "Zeek conn.log", "argus": "Argus flows", "dns": "Zeek dns.log", "ssh": "Zeek ssh.log"}


def note_lacking(detector: Detector, con: Db, needs: tuple[str, ...], without: str) -> None:
    """Add a note to ``detector`` when the workspace holds network logs but none of those ``needs`` names.

    A capture may hold only some logs (http and ssl without conn): the detector still runs on
    what is there, and the note says what it could not see. Workspaces without any network
    log get no note (they are not network data).
    """
    present = {r["code"] for r in detector.rows(con, LOGS_SQL)}
    if not present or present & set(needs):
        return
    wanted = " or ".join(LOG_NAMES.get(n, n) for n in needs)
    detector.notes.append(
        f"{detector.id}: no {wanted} among the network logs read ({', '.join(sorted(present))}): {without}"
    )


def port_list(ports: Iterable[int]) -> list[int]:
    """Ports as a list of ints for a bound parameter (config values may be strings)."""
    return sorted({int(p) for p in ports})


def bytes_text(n: float | int | None) -> str:
    """'1.2 MB', '640 B': sizes in reasons."""
    if n is None:
        return "unknown"
    size = float(n)
    for unit in ("B", "kB", "MB", "GB"):
        if abs(size) < 1000 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    return f"{size:.1f} GB"


def seconds_text(s: float | None) -> str:
    """A period or jitter as a person says it: '0.4 s', '23.0 s', '5.0 min', '2.1 h'."""
    if s is None:
        return "unknown"
    if s < 1:
        return f"{s * 1000:.0f} ms"
    if s < 120:
        return f"{s:.1f} s"
    if s < 7200:
        return f"{s / 60:.1f} min"
    return f"{s / 3600:.1f} h"


def two_way_discount(score: float, sent: float, recv: float, heavy: float, reasons: list[str]) -> float:
    """``score`` x 0.6 when heavy traffic went both ways (each way at least ``heavy`` bytes).

    A command channel is quiet and a theft is one-way (what comes back are acknowledgements);
    a call, a stream or a VPN is heavy both ways. The reason is added to ``reasons``.
    """
    if sent >= heavy and recv >= heavy:
        reasons.append(
            f"heavy traffic both ways ({bytes_text(sent)} sent, {bytes_text(recv)} received): a call, "
            "a stream or a VPN more than a command channel or a theft (score x 0.6)"
        )
        return score * 0.6
    return score
