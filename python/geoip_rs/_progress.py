"""Progress bars for long work: loads (the Rust loaders call back with (done, total)
bytes) and downloads (several at once, one bar)."""

from __future__ import annotations

import os
import threading
import warnings
from collections.abc import Callable
from typing import Any


def _tqdm() -> Any:
    """``tqdm.auto``'s bar class (a widget in Jupyter, text in a terminal), or None
    without tqdm.

    In a Jupyter kernel without ipywidgets, tqdm.auto warns ("IProgress not found")
    on its first import and falls back to the text bar. The text bar is the right
    answer there (ipywidgets is an optional extra), so the warning would only be
    noise in the user's cell output."""
    try:
        from tqdm.std import TqdmWarning
    except ImportError:
        return None
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="IProgress not found", category=TqdmWarning)
        from tqdm.auto import tqdm
    return tqdm


def bar(desc: str) -> Callable[[int, int], None]:
    """A callback that drives a ``tqdm.auto`` bar (a widget in Jupyter, text in a
    terminal). Without tqdm installed, progress is silently not shown."""
    tqdm = _tqdm()
    if tqdm is None:
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


class DownloadBar:
    """One progress bar over every download (tqdm.auto: a widget in Jupyter); the
    total grows as each response says its length."""

    def __init__(self, show: bool):
        self.bar: Any = None
        self.lock = threading.Lock()
        tqdm = _tqdm() if show else None
        if tqdm is not None:
            self.bar = tqdm(total=0, unit="B", unit_scale=True, desc="downloading")

    def update(self, done: int, total: int) -> None:
        if self.bar is None:
            return
        with self.lock:
            if total:
                self.bar.total += total
                self.bar.refresh()
            self.bar.update(done)

    def __enter__(self) -> DownloadBar:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.close()
