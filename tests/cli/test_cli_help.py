"""Every help text reaches the terminal whole: Rich markup must not eat a ``[limits]`` or a ``[,source]``."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from bluebench.cli import app

BOX = re.compile(r"[│╭╮╰╯─]")


def _commands(group: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    """Each command of the tree with the words that call it (Typer vendors click, so groups are told by shape)."""
    for name, command in sorted(group.commands.items()):
        yield (*path, name), command
        if hasattr(command, "commands"):
            yield from _commands(command, (*path, name))


def _plain(text: str) -> str:
    """Help as words: box drawing dropped and whitespace folded, so wrapping does not matter."""
    return " ".join(BOX.sub(" ", text).split())


COMMANDS = list(_commands(typer.main.get_group(app)))


def test_the_tree_holds_every_domain() -> None:
    """The walk below reaches the sub-apps, so it checks their help too."""
    top = {path[0] for path, _ in COMMANDS}
    assert {"scan", "mail", "malware", "network", "sigma", "vuln", "drill"} <= top
    assert any(path[:2] == ("mail", "train") for path, _ in COMMANDS)


@pytest.mark.parametrize("path", [p for p, _ in COMMANDS], ids=[" ".join(p) for p, _ in COMMANDS])
def test_help_is_shown_as_written(path: tuple[str, ...]) -> None:
    """The command's first help line and each option's help, brackets included, appear in ``--help``."""
    command = dict(COMMANDS)[path]
    result = CliRunner().invoke(app, [*path, "--help"], terminal_width=400, env={"COLUMNS": "400"})
    assert result.exit_code == 0, result.output
    shown = _plain(result.output)
    texts = [(command.help or "").strip().split("\n\n")[0]]
    texts += [getattr(param, "help", None) or "" for param in command.params]
    for text in filter(None, texts):
        words = _plain(text.replace("\\[", "["))  # an escaped bracket shows as a bracket
        assert words in shown, f"{' '.join(path)}: {words!r} not shown"
