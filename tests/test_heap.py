"""frozen(): long-lived objects leave the GC's passes for a block, and come back after it."""

from __future__ import annotations

import gc

import pytest

from bluebench.heap import frozen


def test_frozen_for_the_block_nested_blocks_leave_unfreezing_to_the_outermost() -> None:
    assert gc.get_freeze_count() == 0
    with frozen():
        outer = gc.get_freeze_count()
        assert outer > 0
        kept = [[i] for i in range(100)]  # containers, which the GC tracks: frozen by the inner block
        with frozen():
            assert gc.get_freeze_count() >= outer + len(kept)
        assert gc.get_freeze_count() >= outer  # the inner exit leaves the outer's objects frozen
    assert gc.get_freeze_count() == 0


def test_an_error_in_the_block_still_unfreezes() -> None:
    with pytest.raises(RuntimeError, match="boom"), frozen():
        raise RuntimeError("boom")
    assert gc.get_freeze_count() == 0
