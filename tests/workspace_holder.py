"""Another process holding a workspace, as a second user's command does: to write, to read, or
through DuckDB directly (a tool other than bluebench)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import bluebench

HOLD = """
import sys, time
from bluebench.events.workspace import Workspace
if sys.argv[3] == "duckdb":
    import duckdb
    con = duckdb.connect(sys.argv[1] + "/bluebench.duckdb")
else:
    kind = {"read": {"read_only": True}, "write": {}}[sys.argv[3]]
    try:
        ws = Workspace(sys.argv[1], command=sys.argv[2], **kind)
    except TypeError:  # a bluebench without commands and read-only opening: as it read
        import duckdb
        con = duckdb.connect(sys.argv[1] + "/bluebench.duckdb", read_only=bool(kind))
print("held", flush=True)
time.sleep(120)
"""


class Holder:
    """A process holding the workspace at ``folder`` until :meth:`stop`."""

    def __init__(self, folder: Path, command: str, mode: str) -> None:
        env = dict(os.environ, PYTHONPATH=str(Path(bluebench.__file__).parents[1]))
        self.proc = subprocess.Popen(
            [sys.executable, "-c", HOLD, str(folder), command, mode],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        assert line.strip() == "held", self.proc.stderr.read() if self.proc.stderr else line

    @property
    def pid(self) -> int:
        return self.proc.pid

    def stop(self) -> None:
        self.proc.kill()
        self.proc.wait()
