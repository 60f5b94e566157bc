"""A progress bar for long runs (indexing, eval), drawn on stderr only when stderr is a terminal."""

from __future__ import annotations

import sys

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
        if self.bar is not None:
            self.bar.__exit__(None, None, None)
