"""The sort-based unique gives numpy's answer, dtype and all."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from bluebench.arrays import unique


@given(
    hnp.arrays(
        dtype=st.sampled_from([np.int64, np.int32, np.uint32, np.uint8, np.bool_]),
        shape=st.integers(0, 200),
    )
)
def test_unique_is_numpys_unique(a: np.ndarray) -> None:
    got, want = unique(a), np.unique(a)
    assert got.dtype == want.dtype and np.array_equal(got, want)


def test_floats_and_other_shapes_go_to_numpy() -> None:
    a = np.array([2.0, np.nan, 1.0, np.nan])
    assert np.array_equal(unique(a), np.unique(a), equal_nan=True)  # one NaN, as numpy gives
    m = np.array([[3, 1], [1, 2]])
    assert np.array_equal(unique(m), np.array([1, 2, 3]))
