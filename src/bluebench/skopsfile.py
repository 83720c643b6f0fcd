"""Loading a skops part only when every type it would build is allowed: one check for every model file."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any


class Refused(Exception):
    """Why a skops part was not loaded; the model file's loader names the file around it."""


def load_allowed(blob: bytes, allowed: Collection[str], part: str = "model part") -> Any:
    """The object in ``blob``, after skops lists the types it would build and all are in ``allowed``."""
    import skops.io as sio

    try:
        untrusted = sio.get_untrusted_types(data=blob)
    except Exception as exc:
        raise Refused(f"the {part} cannot be inspected ({type(exc).__name__}: {exc})") from exc
    refused = sorted(set(untrusted) - set(allowed))
    if refused:
        raise Refused(f"the {part} would build types bluebench does not trust: {', '.join(refused)}")
    try:
        return sio.loads(blob, trusted=list(untrusted))
    except Exception as exc:
        raise Refused(f"the {part} cannot be loaded ({type(exc).__name__}: {exc})") from exc
