"""Progress bars for long loads: the Rust loaders call back with (done, total) bytes."""

from __future__ import annotations

import os
from collections.abc import Callable


def bar(desc: str) -> Callable[[int, int], None]:
    """A callback that drives a ``tqdm.auto`` bar (a widget in Jupyter, text in a
    terminal). Without tqdm installed, progress is silently not shown."""
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return lambda done, total: None
    state: dict = {}

    def update(done: int, total: int) -> None:
        if "bar" not in state:
            state["bar"] = tqdm(total=total, unit="B", unit_scale=True, desc=os.path.basename(desc))
        b = state["bar"]
        b.update(done - b.n)
        if done >= total:
            b.close()

    return update
