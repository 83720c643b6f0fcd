"""One writer per workspace, many readers, and a refusal that says who is in the way.

DuckDB lets one process open a database file to write, or any number to read, never both;
a second process gets "Could not set lock on file". bluebench takes its own lock first, on
``<workspace>/lock`` (``flock``: released by the kernel when a process dies, so it is never
stale), and writes who holds it there, so the refusal can say "a scan started at 14:02 by
pid 4711 holds the workspace". A reader also leaves a note in ``readers/``, so a writer
refused by ``serve`` is told so. Within one process the lock is shared, as DuckDB shares one
database instance per process.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import sys
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

from bluebench.errors import BluebenchError

if sys.platform != "win32":
    import fcntl

LOCK_FILE = "lock"
READERS_DIR = "readers"
HINT = "wait for it to finish, or use another workspace (-w)"
#: How a sentence names a command that holds a workspace, where "a <command>" reads badly.
NAMES = {"serve": "the review UI (bluebench serve)"}


class WorkspaceBusy(BluebenchError):
    """Another process uses the workspace in a way that excludes this one; the message says who."""


@dataclass(frozen=True)
class Holder:
    """Who holds a workspace: the command, its process and when it started."""

    command: str
    pid: int
    started: datetime
    host: str

    @classmethod
    def me(cls, command: str) -> Holder:
        return cls(command, os.getpid(), datetime.now(UTC), socket.gethostname())

    def to_json(self) -> str:
        return json.dumps(
            {"command": self.command, "pid": self.pid, "started": self.started.isoformat(), "host": self.host}
        )

    @classmethod
    def from_json(cls, text: str) -> Holder | None:
        """The holder a lock or reader note names; None for an empty or damaged note."""
        try:
            d = json.loads(text)
            return cls(str(d["command"]), int(d["pid"]), datetime.fromisoformat(d["started"]), str(d["host"]))
        except (ValueError, KeyError, TypeError):
            return None

    def text(self) -> str:
        """'a scan started at 14:02 by pid 4711' (local time; the date when not today)."""
        local = self.started.astimezone()
        when = f"{local:%H:%M}" if local.date() == datetime.now().date() else f"{local:%Y-%m-%d %H:%M}"
        where = "" if self.host == socket.gethostname() else f" on {self.host}"
        name = NAMES.get(self.command) or ("an " if self.command[:1] in "aeiou" else "a ") + self.command
        return f"{name} started at {when} by pid {self.pid}{where}"


@dataclass
class _Held:
    """This process's hold on one workspace's lock: the open lock file, its mode, its users."""

    file: IO[str]
    write: bool
    users: int
    note: Path | None = None  # this process's reader note


_HELD: dict[Path, _Held] = {}
_GUARD = threading.Lock()


class WorkspaceLock:
    """Held while a command uses a workspace: exclusively to write, shared to read.

    ``acquire`` raises :class:`WorkspaceBusy` at once (it never waits) naming the holder.
    A folder this process cannot write (a read-only copy) is read without a lock.
    """

    def __init__(self, folder: Path, command: str, write: bool) -> None:
        self.folder = Path(folder)
        self.command = command
        self.write = write
        self._key = self.folder.resolve()
        self._held = False

    def __enter__(self) -> WorkspaceLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()

    def acquire(self) -> None:
        if sys.platform == "win32":  # no flock: DuckDB's own lock still refuses, less helpfully
            return
        with _GUARD:
            held = _HELD.get(self._key)
            if held is not None:
                if self.write and not held.write:
                    try:
                        self._lock(held.file, write=True)
                    except WorkspaceBusy:
                        # flock may drop the shared lock while failing to convert it: take it back.
                        fcntl.flock(held.file.fileno(), fcntl.LOCK_SH | fcntl.LOCK_NB)
                        raise
                    held.write = True
                    self._announce(held.file)
                held.users += 1
                self._held = True
                return
            try:
                file = (self.folder / LOCK_FILE).open("a+", encoding="utf-8")
            except OSError:
                if self.write:
                    raise
                return  # a read-only copy of a workspace: nothing can write it meanwhile
            try:
                self._lock(file, self.write)
            except BaseException:
                file.close()
                raise
            held = _Held(file, self.write, 1)
            if self.write:
                self._announce(file)
            else:
                held.note = self._leave_note()
            _HELD[self._key] = held
            self._held = True

    def release(self) -> None:
        if not self._held:
            return
        self._held = False
        with _GUARD:
            held = _HELD.get(self._key)
            if held is None:
                return
            held.users -= 1
            if held.users > 0:
                return
            del _HELD[self._key]
            if held.note is not None:
                with contextlib.suppress(OSError):
                    held.note.unlink()
                _NOTES.pop(held.note).close()
            if held.write:
                with contextlib.suppress(OSError):
                    held.file.truncate(0)
            held.file.close()  # closing the file releases the flock

    def _lock(self, file: IO[str], write: bool) -> None:
        try:
            fcntl.flock(file.fileno(), (fcntl.LOCK_EX if write else fcntl.LOCK_SH) | fcntl.LOCK_NB)
        except BlockingIOError:
            raise WorkspaceBusy(self._refusal(file)) from None

    def _announce(self, file: IO[str]) -> None:
        """Write who holds the workspace to write it, for the next process to be refused."""
        file.seek(0)
        file.truncate(0)
        file.write(Holder.me(self.command).to_json())
        file.flush()

    def _leave_note(self) -> Path | None:
        """A reader's note, locked while it lives, so a writer can tell live readers from stale notes."""
        folder = self.folder / READERS_DIR
        try:
            folder.mkdir(exist_ok=True)
            note = folder / f"{os.getpid()}-{id(self):x}.json"
            fh = note.open("w", encoding="utf-8")
        except OSError:
            return None
        fh.write(Holder.me(self.command).to_json())
        fh.flush()
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        _NOTES[note] = fh
        return note

    def _refusal(self, file: IO[str]) -> str:
        """Who is in the way, as a sentence: the writer named in the lock file, or the readers."""
        where = f"the workspace {self.folder}"
        readers = live_readers(self.folder) if self.write else []
        if readers:
            names = "; ".join(h.text() for h in readers[:3])
            verb = "is" if len(readers) == 1 else "are"
            return f"{names} {verb} reading {where}; stop it, or use another workspace (-w)"
        file.seek(0)
        holder = Holder.from_json(file.read())
        if holder is None:
            return f"another bluebench process is using {where}; {HINT}"
        if self.write:
            return f"{holder.text()} holds {where}; {HINT}"
        return (
            f"{holder.text()} is writing {where}, and DuckDB lets no other process open it meanwhile; {HINT}"
        )


_NOTES: dict[Path, IO[str]] = {}  # reader notes this process holds open (and locked)


def live_readers(folder: Path) -> list[Holder]:
    """The readers whose notes are still locked by a live process; stale notes are removed."""
    found: list[Holder] = []
    for note in sorted((Path(folder) / READERS_DIR).glob("*.json")):
        if note in _NOTES:
            continue
        try:
            with note.open("r+", encoding="utf-8") as fh:
                try:
                    fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    holder = Holder.from_json(fh.read())
                    if holder is not None:
                        found.append(holder)
                    continue
            note.unlink()  # its process is gone
        except OSError:
            continue
    return found


def busy_from_duckdb(folder: Path, exc: BaseException) -> WorkspaceBusy | None:
    """DuckDB's "Could not set lock" as a WorkspaceBusy naming the holder where it is known.

    Reached when something outside bluebench's lock (another tool, an older bluebench)
    holds the file; None for any other error.
    """
    text = str(exc)
    if "Could not set lock" not in text and "Conflicting lock" not in text:
        return None
    detail = text.split("Conflicting lock is held in", 1)[-1].strip() if "Conflicting" in text else text
    return WorkspaceBusy(
        f"another process holds the workspace {folder} (DuckDB: conflicting lock held in {detail[:200]}); {HINT}"
    )
