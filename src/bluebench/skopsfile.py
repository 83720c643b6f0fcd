"""Model files for every domain: a skops part loaded only when every type it would build is allowed, and written whole."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Collection, Mapping
from pathlib import Path
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


def write_model_zip(path: str | Path, meta: dict[str, Any], parts: Mapping[str, bytes | str]) -> None:
    """Write a model file whole or not at all: zipped in memory, written beside it, moved into place.

    The folder is made first, so ``--out out/new.model`` works on a fresh clone.
    """
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("meta.json", json.dumps(meta, indent=2, default=str))
        for name, data in parts.items():
            z.writestr(name, data)
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(str(target) + ".tmp")
    tmp.write_bytes(buf.getvalue())
    tmp.replace(target)
