"""The EventData fields detectors filter on, as columns: how ingest and older workspaces fill them.

``bluebench.schema.EVENT_DATA_FIELDS`` names them; each is stored as ``winlog.event_data.<field>``
with the value a detector used to read from the JSON at query time (text, trimmed, Windows'
'-' and '' as NULL), so detectors filter on columns (issue #18).
"""

from __future__ import annotations

from collections.abc import Mapping

from bluebench.schema import EVENT_DATA_FIELDS, EVENT_DATA_PREFIX


def sql_str(value: str) -> str:
    """A SQL string literal for a constant the code itself defines (never for input data)."""
    return "'" + value.replace("'", "''") + "'"


def dash_null(expr: str) -> str:
    """Windows writes '-' or '' for 'no value'; both become NULL."""
    return f"nullif(nullif(trim({expr}), '-'), '')"


#: Shapes whose event data holds a network log's own snake_case fields, never Windows EventData.
NETWORK_SHAPES = ("zeek", "zeek-json", "argus")


def with_event_data_fields(cols: Mapping[str, str], inner: str, dataset: str) -> tuple[dict[str, str], str]:
    """The promoted EventData columns a shape's mapping leaves out, read from its event data.

    One ``json_extract_string`` reads them all; Windows shapes give them already (from the
    EventData they parse anyway), network flows leave them NULL.
    """
    out = dict(cols)
    missing = [f for f in EVENT_DATA_FIELDS if EVENT_DATA_PREFIX + f not in out]
    data = out.get("winlog.event_data")
    if not missing or data is None or dataset in NETWORK_SHAPES:
        return out, inner
    paths = "[" + ", ".join(sql_str("$." + f) for f in missing) + "]"
    inner = (
        f"SELECT *, json_extract_string(CAST({data} AS JSON), {paths}) AS bluebench_ed_fields FROM ({inner})"
    )
    for i, f in enumerate(missing):
        out[EVENT_DATA_PREFIX + f] = dash_null(f"bluebench_ed_fields[{i + 1}]")
    return out, inner


def event_data_fields_sql(data: str, fields: tuple[str, ...] = EVENT_DATA_FIELDS) -> dict[str, str]:
    """Each promoted column as SQL over the JSON column ``data`` (a constant name), as ingest fills it.

    For rows stored before a field was promoted (``Workspace`` fills them on open) and for
    rows written without ingest (tests).
    """
    return {
        EVENT_DATA_PREFIX + f: dash_null(f"json_extract_string({data}, {sql_str('$.' + f)})") for f in fields
    }
