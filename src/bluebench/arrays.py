"""numpy helpers any stage may use, where numpy's own call is measurably slow for our data."""

from __future__ import annotations

from typing import Any

import numpy as np


def unique(a: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    """``np.unique(a)`` of a 1-D integer or boolean array (sorted distinct values), by sorting.

    From numpy 2.3, ``np.unique`` without index, inverse or counts finds the distinct values
    by hashing. On this project's arrays (row numbers, n-gram keys) that was far slower than
    sorting on numpy 2.4.6: 16,000 row numbers 3.0 ms against 0.3-0.5 ms, 4.4 million keys
    9.2 s against 0.12 s. Other dtypes (floats, where NaNs need numpy's care) go to numpy.
    """
    if a.dtype.kind not in "iub" or a.ndim != 1:
        return np.unique(a)
    s = np.sort(a)
    if len(s) < 2:
        return s
    keep = np.empty(len(s), dtype=bool)
    keep[0] = True
    np.not_equal(s[1:], s[:-1], out=keep[1:])
    return s[keep]
