"""The SQL form of each rule (what other engines run) agrees with the columnar engine,
and pySigma's SQLite backend agrees too once DuckDB compares case-insensitively."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pyarrow as pa
from sigma.backends.sqlite import sqliteBackend
from sigma.collection import SigmaCollection
from sigma_helpers import batch, matched, run, write_rule

from bluebench.sigma import SigmaEngine, compile_rules
from bluebench.sigma.extract import fields_table
from bluebench.sigma.pipeline import windows_pipeline
from bluebench.sigma.source import file_batches

DATA = Path(__file__).parents[1] / "data" / "sigma"


def test_sql_where_matches_the_engine_on_the_shipped_evtx() -> None:
    rs = compile_rules([DATA / "rules"])
    events = pa.concat_tables(list(file_batches([str(DATA / "regression")])))
    eng = SigmaEngine(rs)
    eng.process(events)
    names = sorted({f for r in rs.rules for f in r.fields})
    wide = fields_table(events, names).append_column("rec", pa.array(range(events.num_rows)))
    con = duckdb.connect()
    con.register("events", wide)
    for r in rs.rules:
        by_sql = con.execute(f"SELECT count(*) FROM events WHERE {r.where}").fetchone()
        assert by_sql is not None and by_sql[0] == eng.matches[r.id].count, r.title
    assert sum(m.count for m in eng.matches.values()) > 0


RULE = """title: t
id: 00000000-0000-0000-0000-0000000000aa
status: test
level: high
logsource:
    category: process_creation
    product: windows
detection:
    sel:
        Image|endswith: '\\\\whoami.exe'
    filter:
        ParentImage|endswith: '\\\\explorer.exe'
    condition: sel and not filter
"""


def test_sqlite_backend_sql_on_duckdb_needs_nocase(tmp_path: Path) -> None:
    events = [
        {"Image": r"C:\\Windows\\System32\\WHOAMI.EXE", "ParentImage": r"C:\\x\\cmd.exe"},
        {"Image": r"C:\\Windows\\System32\\whoami.exe", "ParentImage": r"C:\\Windows\\explorer.exe"},
        {"Image": r"C:\\Windows\\System32\\whoami.exe"},  # no parent: NOT filter holds
        {"Image": r"C:\\Windows\\System32\\Whoami.exe", "ParentImage": r"C:\\x\\svc.exe"},
    ]
    rs = compile_rules([write_rule(tmp_path, RULE)])
    ours = matched(run(rs, events), rs.rules[0].id)
    assert ours == [1, 3, 4]
    rule = SigmaCollection.from_yaml(RULE)
    sql = sqliteBackend(processing_pipeline=windows_pipeline()).convert(rule)[0]
    b = batch(events)
    wide = fields_table(b, ["Image", "ParentImage", "Channel", "EventID"])
    wide = wide.append_column("rec", pa.array(range(1, len(events) + 1)))
    con = duckdb.connect()
    con.execute("CREATE TABLE logs AS SELECT * FROM wide")
    table = sql.split(" FROM ", 1)[1].split(" WHERE ", 1)[0]
    if table != "logs":
        con.execute(f"ALTER TABLE logs RENAME TO {table}")
    where = sql.split(" WHERE ", 1)[1]
    q = f"SELECT rec FROM {table} WHERE {where} ORDER BY rec"
    assert [r[0] for r in con.execute(q).fetchall()] != ours  # case-sensitive '=' and LIKE miss some
    con.execute("SET default_collation = 'nocase'")
    assert [r[0] for r in con.execute(q).fetchall()] == ours
