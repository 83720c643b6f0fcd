"""The Typer application, the options every command shares, and terminal-safe text.

Log fields are attacker-controlled: a user name can hold ``ESC ]0;...BEL`` (retitle the
terminal), colour codes, a carriage return that overwrites the line before, or Rich markup.
Every field from input is printed through :func:`show`, and the consoles themselves escape
any control character that reaches them anyway, so a log line can never drive the terminal.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.text import Text
from typer.core import TyperGroup

from bluebench.errors import BluebenchError

# C0 controls, DEL, C1 controls (0x9B is CSI to some terminals) and the bidirectional
# overrides that make text read differently from what it holds ("trojan source").
_BIDI = (0x061C, 0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A))
_CONTROLS = [*range(0x20), 0x7F, *range(0x80, 0xA0)]
_ESCAPES = {c: f"\\x{c:02x}" for c in _CONTROLS} | {c: f"\\u{c:04x}" for c in _BIDI}
#: Kept by the consoles: the line breaks and tabs of bluebench's own layout.
_LAYOUT = {c: e for c, e in _ESCAPES.items() if c not in (0x09, 0x0A)}
#: What JSON written with ``ensure_ascii=False`` still carries raw (it escapes only C0).
_JSON_UNSAFE = {c: f"\\u{c:04x}" for c in (0x7F, *range(0x80, 0xA0), *_BIDI)}


def printable(text: str, lines: bool = False) -> str:
    """``text`` with every control character written as an escape (``\\x1b``); with ``lines``,
    line breaks and tabs are kept (bluebench's own layout), otherwise escaped too."""
    return text.translate(_LAYOUT if lines else _ESCAPES)


def show(value: object, lines: bool = False) -> str:
    """A field from input, ready for Rich markup: control characters and markup escaped."""
    return escape(printable(str(value), lines))


#: One encoder for every line: ``json.dumps`` with options builds a new one per call.
_ENCODER = json.JSONEncoder(default=str, ensure_ascii=False)


def _escaped(text: str) -> str:
    # every character translate escapes is DEL or beyond ASCII: two C scans spare the per-character pass
    return text if text.isascii() and "\x7f" not in text else text.translate(_JSON_UNSAFE)


def json_line(obj: object) -> str:
    """One JSON object per line, keeping non-ASCII text readable yet every control escaped."""
    return _escaped(_ENCODER.encode(obj)) + "\n"


def json_lines(objs: Iterable[object]) -> str:
    """Many objects as ``json_line`` writes each, joined: a block of output in one string."""
    return "".join([_escaped(_ENCODER.encode(o)) + "\n" for o in objs])


class SafeConsole(Console):
    """A console that escapes every control character in the text it renders, layout aside.

    The second line of defence: fields are already passed through :func:`show`, but a
    string that was not (a message naming a file) still cannot reach the terminal raw.
    """

    def render_str(self, text: str, *args: Any, **kwargs: Any) -> Text:
        return super().render_str(printable(text, lines=True), *args, **kwargs)


class _Group(TyperGroup):
    """Turns bluebench's own errors (bad mapping, config, labels) into one line and exit 2.

    Done here rather than only in ``main`` so that every way of running the app, tests with
    ``CliRunner`` included, gets the documented exit code.
    """

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except BluebenchError as exc:
            err.print(f"[red]error:[/red] {show(exc, lines=True)}")
            raise typer.Exit(2) from exc


app = typer.Typer(
    cls=_Group,
    name="bluebench",
    help=(
        "Detect and triage attacks in Windows and Linux logs, network traffic, mail, vulnerability"
        " reports and PE files; every alert explained and measured."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
out = SafeConsole(soft_wrap=False)
err = SafeConsole(stderr=True)

WorkspaceOpt = Annotated[
    str | None,
    typer.Option(
        "--workspace", "-w", help="Workspace folder (default ./.bluebench or $BLUEBENCH_WORKSPACE)."
    ),
]
ConfigOpt = Annotated[
    str | None,
    typer.Option("--config", "-c", help="Detector config TOML (see `bluebench config`)."),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON (one object per line) instead of tables.")]

DbOpt = Annotated[
    str | None,
    typer.Option(
        "--db",
        envvar="BLUEBENCH_DB",
        help="Review database URL, e.g. postgresql://user@host/db (default: review.db in the workspace).",
        show_envvar=True,
    ),
]
RulesOpt = Annotated[
    list[str] | None, typer.Option("--rules", help="Also run these Sigma rule files or folders.")
]
RuleStatusOpt = Annotated[list[str] | None, typer.Option("--rule-status", help="Sigma: keep this status.")]
RuleLevelOpt = Annotated[list[str] | None, typer.Option("--rule-level", help="Sigma: keep this level.")]
