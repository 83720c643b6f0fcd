"""How much of any one input bluebench will read: hostile input is refused, not allowed to exhaust memory.

Every limit is in the ``[limits]`` table of the config file (``bluebench config`` prints
them with their defaults) and every refusal names the setting, the file, the archive
member and the record, so a user with a real file that large knows what to raise.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from bluebench.errors import ConfigError

SECTION = "limits"
KIB = 1024
MIB = 1024 * KIB
GIB = 1024 * MIB


@dataclass(frozen=True)
class Limits:
    """The largest input bluebench reads; see ``LIMITS_TOML`` for what each one bounds and why."""

    record_bytes: int = 1 * MIB
    member_bytes: int = 4 * GIB
    archive_bytes: int = 16 * GIB
    archive_ratio: int = 250
    ratio_floor_bytes: int = 16 * MIB
    archive_members: int = 10_000
    model_bytes: int = 512 * MIB
    model_meta_bytes: int = 8 * MIB
    report_bytes: int = 512 * MIB
    pe_bytes: int = 128 * MIB
    pe_seconds: int = 5

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any], where: str) -> Limits:
        """Defaults overlaid with ``values``; an unknown name or a value that is not a positive
        whole number is an error naming ``where``, never silently ignored."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ConfigError(
                f"{where}: unknown [limits] {', '.join(unknown)}; known: {', '.join(sorted(known))}"
            )
        for name, value in values.items():
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(
                    f"{where}: [limits] {name} must be a whole number of at least 1, got {value!r}"
                )
        return cls(**dict(values))


DEFAULT_LIMITS = Limits()

# What each limit bounds, for the config text (the defaults themselves come from ``Limits``).
_NOTES = {
    "record_bytes": "one line or record (Windows events stay far below)",
    "member_bytes": "one archive member or gzip stream, uncompressed",
    "archive_bytes": "all members of one archive together, uncompressed",
    "archive_ratio": "uncompressed / compressed size of a member (zipped JSON logs stay well below)",
    "ratio_floor_bytes": "... checked once a member is larger than this",
    "archive_members": "members read from one zip; the rest are named and skipped",
    "model_bytes": "a model file (mail, malware), and each of its parts uncompressed",
    "model_meta_bytes": "the model's meta.json, uncompressed",
    "report_bytes": "one scanner report or vulnerability feed file, read whole (vuln)",
    "pe_bytes": "a PE file (or archive member) parsed for malware features; a larger one is not scored",
    "pe_seconds": "time to parse one PE file; steps left when it runs out leave their features missing",
}


def limits_toml(limits: Limits = DEFAULT_LIMITS) -> str:
    """The ``[limits]`` table with every value and what it bounds, to copy into a config file."""
    lines = [
        "[limits]",
        "# How much of one input bluebench reads. A hit is a skipped record or member named with",
        "# file, member and record; the rest of the input is read. Sizes are in bytes, times in seconds.",
    ]
    for f in fields(limits):
        value = getattr(limits, f.name)
        note = _NOTES[f.name] + (f" ({_short(value)})" if f.name.endswith("_bytes") else "")
        lines.append(f"{f.name} = {value}".ljust(32) + "# " + note)
    return "\n".join(lines) + "\n"


def load_limits(path: str | Path | None) -> Limits:
    """The ``[limits]`` of a config file (the detectors read the other tables); defaults without one."""
    if path is None:
        return DEFAULT_LIMITS
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read config: {exc}") from exc
    section = data.get(SECTION, {})
    if not isinstance(section, Mapping):
        raise ConfigError(f"{path}: [limits] must be a table of sizes")
    return Limits.from_mapping(section, str(path))


def bytes_text(n: int) -> str:
    """Bytes as people read them in a refusal: '1,048,576 bytes (1.0 MiB)'."""
    short = _short(n)
    return f"{n:,} bytes" + (f" ({short})" if not short.endswith(" B") else "")


def _short(n: int) -> str:
    for unit, scale in (("GiB", GIB), ("MiB", MIB), ("KiB", KIB)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}".replace(".0 ", " ")
    return f"{n} B"
