"""One root exception for the package, so callers can catch bluebench's own failures."""

from __future__ import annotations


class BluebenchError(ValueError):
    """Generic bluebench error and super-class of all bluebench exceptions."""


class InputError(BluebenchError):
    """A file or record could not be read; names the file and, where known, the record."""

    def __init__(self, file: str, reason: str, record: int | None = None) -> None:
        self.file = file
        self.record = record
        self.reason = reason
        where = f"{file}, record {record}" if record is not None else file
        super().__init__(f"{where}: {reason}")


class ConfigError(BluebenchError):
    """A configuration, mapping or labels file is wrong; the message says where."""


class RegistryError(BluebenchError):
    """A plugin name was registered twice or looked up but never registered."""
