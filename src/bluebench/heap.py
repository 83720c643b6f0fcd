"""Long-lived objects kept out of the cyclic garbage collector while a long run lasts."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

_depth = 0


@contextmanager
def frozen() -> Iterator[None]:
    """Freeze what is alive now (a loaded model, compiled rules) until the block ends.

    Every full collection, set off by a batch's allocations, walks every tracked object; a
    model's vocabulary or a rule set is hundreds of thousands of them, never garbage while
    the run lasts. Garbage is collected first, since frozen garbage would never be freed. A
    nested block freezes what was made since and leaves the unfreezing to the outermost.
    """
    global _depth
    gc.collect()
    gc.freeze()
    _depth += 1
    try:
        yield
    finally:
        _depth -= 1
        if _depth == 0:
            gc.unfreeze()
