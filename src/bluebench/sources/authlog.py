"""Linux authentication logs (auth.log, secure, syslog), plain or gzip.

Classic syslog dates carry no year. The year is taken so that no event lies after the
file's last modification (or after the end of ``--year`` when the user gives one), which
also places a December-to-January rollover in the right years.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import ClassVar

from bluebench.sources.base import RawBatch, ReadOptions, Skipped
from bluebench.sources.lines import iter_line_blocks, open_members

SYSLOG_LINE = re.compile(
    rb"^(?:[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d|\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\S*) \S+ [\w\-./()]+(?:\[\d+\])?: "
)


class AuthLogReader:
    """sshd, PAM, sudo and su lines from syslog files."""

    name: ClassVar[str] = "authlog"

    def sniff(self, head: bytes, path: Path) -> bool:
        """Most of the first lines look like syslog lines."""
        lines = [ln for ln in head.split(b"\n")[:20] if ln.strip()]
        if len(lines) > 1:
            lines = lines[:-1]  # the last line of the head may be cut
        hits = sum(1 for ln in lines if SYSLOG_LINE.match(ln))
        return bool(lines) and hits >= max(1, len(lines) // 2)

    def read(
        self, path: Path, display: str, skipped: list[Skipped], options: ReadOptions
    ) -> Iterator[RawBatch]:
        """Yield batches of (line number, line) with the reference time for year inference."""
        if options.year is not None:
            ref = datetime(options.year, 12, 31, 23, 59, 59)
        else:
            ref = datetime.fromtimestamp(path.stat().st_mtime, tz=UTC).replace(tzinfo=None)
        lim = options.limits
        for name, stream in open_members(path, display, skipped, lim):
            blocks = iter_line_blocks(stream, name, skipped, options.batch_bytes, True, lim.record_bytes)
            for table in blocks:
                yield RawBatch(self.name, table, name, {"ref": ref})
