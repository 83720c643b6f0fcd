"""The generator's defaults can be named without loading it; ``generate`` still comes from the package."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import bluebench
import bluebench.datagen
from bluebench.datagen import driver

SRC = str(Path(bluebench.__file__).resolve().parents[1])


def test_naming_the_defaults_loads_no_numpy() -> None:
    code = (
        f"import sys; sys.path.insert(0, {SRC!r})\n"
        "from bluebench.datagen import DEFAULT_DAYS\n"
        "print(DEFAULT_DAYS, 'numpy' in sys.modules, 'bluebench.datagen.driver' in sys.modules)"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert res.stdout.split() == [str(bluebench.datagen.DEFAULT_DAYS), "False", "False"]


def test_the_package_hands_out_the_generator_itself() -> None:
    assert bluebench.datagen.generate is driver.generate
    assert bluebench.datagen.DEFAULT_START == driver.DEFAULT_START


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no_such_name"):
        getattr(bluebench.datagen, "no_such_name")  # noqa: B009
