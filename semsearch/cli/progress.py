"""A progress bar for long runs (indexing, eval), drawn on stderr only when stderr is a terminal."""

from __future__ import annotations

import sys
import time

import click


class ProgressBar:
    """on_progress(done, total) callback drawing a bar on stderr, only when stderr is a terminal."""

    def __init__(self, label: str):
        self.label = label
        self.bar = None

    def __call__(self, done: int, total: int) -> None:
        if not sys.stderr.isatty() or not total:
            return
        if self.bar is None:
            self.bar = click.progressbar(length=total, label=self.label, file=sys.stderr, show_pos=True)
            self.bar.__enter__()
        self.bar.update(done - self.bar.pos)

    def __enter__(self) -> ProgressBar:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        """Finish the bar's line (once): the next bar starts on a line of its own."""
        if self.bar is not None:
            self.bar.__exit__(None, None, None)
            self.bar = None


class DelayedProgress(ProgressBar):
    """A progress bar that shows only once the work has taken more than `delay_s` (and stderr is a terminal)."""

    def __init__(self, label: str, delay_s: float = 1.0):
        super().__init__(label)
        self.started = time.monotonic()
        self.delay_s = delay_s

    def __call__(self, done: int, total: int) -> None:
        if self.bar is not None or time.monotonic() - self.started > self.delay_s:
            super().__call__(done, total)
