"""Model files for every domain: written whole, into a folder that may not exist yet."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

from bluebench.skopsfile import Refused, load_allowed, write_model_zip


def test_a_model_file_is_written_whole_into_a_new_folder(tmp_path: Path) -> None:
    target = tmp_path / "out" / "nested" / "new.model"  # as on a fresh clone: no out/ yet
    write_model_zip(target, {"format": "test", "n": 1}, {"model.skops": b"\x00\x01", "vocabulary.json": "[]"})
    with zipfile.ZipFile(target) as z:
        assert sorted(z.namelist()) == ["meta.json", "model.skops", "vocabulary.json"]
        assert json.loads(z.read("meta.json")) == {"format": "test", "n": 1}
        assert z.read("model.skops") == b"\x00\x01"
    assert list(target.parent.iterdir()) == [target]  # nothing half-written left beside it


def test_a_rewrite_replaces_the_file(tmp_path: Path) -> None:
    target = tmp_path / "m.model"
    write_model_zip(target, {"v": 1}, {})
    write_model_zip(target, {"v": 2}, {})
    with zipfile.ZipFile(target) as z:
        assert json.loads(z.read("meta.json")) == {"v": 2}


def test_a_blob_that_is_not_skops_is_refused() -> None:
    with pytest.raises(Refused, match="cannot be inspected"):
        load_allowed(b"not a skops file", allowed=())
