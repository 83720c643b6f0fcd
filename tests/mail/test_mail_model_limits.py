"""The model file's size limits come from the config's [limits] (the bomb itself: test_mail_modelfile)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bluebench.mail.modelfile import load_model
from bluebench.mail.spec import ModelError
from bluebench.sources.limits import Limits


def test_model_size_limits_come_from_the_config(model_file: Path) -> None:
    size = model_file.stat().st_size
    with pytest.raises(ModelError, match=r"the file has .*more than \[limits\] model_bytes"):
        load_model(model_file, Limits(model_bytes=size - 1))
    with pytest.raises(ModelError, match=r"model\.skops unpacks to .*model_bytes"):
        load_model(model_file, Limits(model_bytes=size + 1))  # the parts unpack to more than the file
    assert load_model(model_file, Limits()).threshold == load_model(model_file).threshold
