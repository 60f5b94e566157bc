"""Keep an index up to date while files change: `semsearch watch` and `semsearch mcp --watch`.

The watcher starts following file-system events (watchfiles: inotify, FSEvents, Windows) before
its first incremental run, so nothing written meanwhile is missed. Events are coalesced until the
folders have been quiet for a moment (a `git checkout` storm is one batch), filtered by the rules
of `index`, and applied with `Index.apply`, which judges each path by what is on disk by then (an
editor's save dance, a file gone before it was read). It holds the index's writer lock for its
whole run; other processes can still query.
"""

from __future__ import annotations

import contextlib
import shutil
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from semsearch.errors import SemsearchError
from semsearch.indexer import DEFAULT_MAX_FILE_BYTES, IndexReport
from semsearch.words import plural

if TYPE_CHECKING:  # pragma: no cover
    from semsearch.index import Index

QUIET_MS = 300  # apply a batch once no relevant event came for this long
MAX_DELAY_S = 10.0  # ...or once its oldest event waited this long (a file written without pause)
STEP_MS = 50  # watchfiles groups events until this much silence
ROOT_CHECK_S = 1.0  # how often a missing (deleted, unmounted) root is looked for again
RETRY_S = (2.0, 60.0)  # first and longest wait before retrying a batch that failed (embedder down)


class Stopped(Exception):
    """Raised inside a run when the watcher was asked to stop (finishes the file in hand)."""


@dataclass
class Batch:
    """What one applied batch (or the first incremental run) did."""

    kind: str  # "initial" or "batch"
    events: int  # file-system events coalesced into it (after filtering)
    paths: int  # distinct paths they named
    report: IndexReport
    finished: float = field(default_factory=time.time)

    def to_dict(self) -> dict:
        data = {"kind": self.kind, "time": _iso(self.finished), "events": self.events, "paths": self.paths}
        data.update(self.report.to_dict())
        return data

    def summary(self) -> str:
        r = self.report
        parts = [f"{r.new} new", f"{r.changed} changed", f"{r.deleted} deleted"]
        if r.failed:
            parts.append(f"{r.failed} failed")
        what = "initial run" if self.kind == "initial" else plural(self.events, "event")
        return f"{', '.join(parts)} ({what}); {plural(r.chunks_embedded, 'chunk')} embedded in {r.seconds:.2f}s"


@dataclass
class WatchState:
    """What the watcher is doing, for a status line or the MCP `status` tool."""

    phase: str = "starting"  # starting, waiting for the writer lock, initial run, watching, waiting for folders, ...
    roots: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    pending: int = 0
    batches: int = 0
    last_batch: Batch | None = None
    error: str | None = None

    def to_dict(self) -> dict:
        last = self.last_batch
        return {
            "phase": self.phase,
            "roots": self.roots,
            "missing_roots": self.missing,
            "pending_changes": self.pending,
            "batches_applied": self.batches,
            "last_update": _iso(last.finished) if last else None,
            "last_batch": last.summary() if last else None,
            "error": self.error,
        }


class Watcher:
    """Follows folders and applies their changes to an index until `stop()`.

    `write_gate` serializes this watcher's writes with other writers of the same `Index` object in
    this process (the MCP `index` tool): the writer lock is per index, not per thread.
    """

    def __init__(
        self,
        index: Index,
        paths: Sequence[str | Path],
        *,
        include: Sequence[str] = (),
        exclude: Sequence[str] = (),
        max_file_bytes: int = DEFAULT_MAX_FILE_BYTES,
        quiet_ms: int = QUIET_MS,
        max_delay_s: float = MAX_DELAY_S,
        on_batch: Callable[[Batch], None] | None = None,
        on_state: Callable[[WatchState], None] | None = None,
        on_warning: Callable[[str], None] | None = None,
        write_gate: threading.Lock | threading.RLock | None = None,
        force_polling: bool | None = None,
        wait_for_writer: bool | None = None,
    ):
        """wait_for_writer: wait for another process's writer lock (default: as the index says)."""
        if not paths:
            raise SemsearchError("nothing to watch: give one or more folders")
        self.index = index
        self.roots = [Path(p).expanduser().resolve() for p in paths]
        for root in self.roots:
            if not root.exists():
                raise SemsearchError(f"no such file or directory: {root}")
        self.include, self.exclude, self.max_file_bytes = tuple(include), tuple(exclude), max_file_bytes
        self.quiet_s = quiet_ms / 1000
        self.max_delay_s = max_delay_s
        self.on_batch = on_batch or (lambda batch: None)
        self.on_state = on_state or (lambda state: None)
        self.on_warning = on_warning or (lambda line: None)
        self.write_gate = write_gate or threading.RLock()
        self.force_polling = force_polling
        self.wait_for_writer = index.collection.wait_for_writer if wait_for_writer is None else wait_for_writer
        self.state = WatchState(roots=[str(r) for r in self.roots])
        self._stop = threading.Event()
        self._index_dir = Path(index.path).resolve()

    # -- control ------------------------------------------------------------------------------------

    def stop(self) -> None:
        """Ask the watcher to stop: it finishes the file in hand, commits, and returns from `run`."""
        self._stop.set()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def _check_stop(self, done: int = 0, total: int = 0) -> None:
        if self._stop.is_set():
            raise Stopped

    def _set(self, **changes) -> None:
        for key, value in changes.items():
            setattr(self.state, key, value)
        self.on_state(self.state)

    # -- the loop -----------------------------------------------------------------------------------

    def run(self) -> None:
        """Hold the writer lock, bring the index up to date, then follow events until stopped."""
        self._set(phase="waiting for the writer lock")

        try:
            with self.index.collection.writer_lock.hold(
                wait=self.wait_for_writer, on_wait=self.index.collection.on_wait or self.on_warning
            ):
                while not self._stop.is_set():
                    present = [r for r in self.roots if r.exists()]
                    self._set(missing=[str(r) for r in self.roots if r not in present])
                    if not present:
                        self._set(phase="waiting for folders to come back")
                        self._stop.wait(ROOT_CHECK_S)
                        continue
                    self._follow(present)
        except Stopped:
            pass
        finally:
            self._set(phase="stopped")

    def _follow(self, present: list[Path]) -> None:
        """Watch the roots that exist until one vanishes or a missing one comes back."""
        import watchfiles

        events = watchfiles.watch(
            *present,
            watch_filter=None,
            debounce=1_600,
            step=STEP_MS,
            stop_event=self._stop,
            rust_timeout=max(1, int(self.quiet_s * 1000)),
            yield_on_timeout=True,
            raise_interrupt=False,
            force_polling=self.force_polling,
            ignore_permission_denied=True,
        )
        pending: dict[str, int] = {}
        counted = 0
        first_at = last_at = 0.0
        retry_at, retry_wait = 0.0, RETRY_S[0]
        try:
            # The first step starts the OS watch; only then the incremental run, so no change falls between.
            try:
                first = next(events, None)
            except (OSError, RuntimeError) as e:  # e.g. the inotify watch limit; polling needs none
                if self.force_polling:
                    raise
                self.on_warning(f"cannot follow file-system events ({e}); polling the folders instead")
                self.force_polling = True
                return
            if first is None:
                return
            self._set(phase="initial run")
            self._apply_initial(present)
            self._set(phase="watching")
            counted += self._collect(first, pending)
            if pending:
                first_at = last_at = time.monotonic()
            for changes in events:
                now = time.monotonic()
                if added := self._collect(changes, pending):
                    counted += added
                    first_at = first_at or now
                    last_at = now
                    self._set(pending=len(pending))
                vanished = [r for r in present if not r.exists()]
                returned = [r for r in self.roots if r not in present and r.exists()]
                for root in vanished:
                    pending[str(root)] = 2  # a deleted root: everything under it leaves the index
                quiet = now - last_at >= self.quiet_s or now - first_at >= self.max_delay_s
                due = pending and (quiet or vanished) and now >= retry_at
                if due:
                    try:
                        self._apply(pending, counted, present)
                    except Stopped:
                        raise
                    except (SemsearchError, OSError) as e:
                        self.on_warning(
                            f"could not apply {plural(len(pending), 'change')}: {e}; retrying in {retry_wait:.0f}s"
                        )
                        self._set(error=str(e))
                        retry_at, retry_wait = now + retry_wait, min(retry_wait * 2, RETRY_S[1])
                        continue
                    pending, counted, first_at, last_at = {}, 0, 0.0, 0.0
                    retry_at, retry_wait = 0.0, RETRY_S[0]
                    self._set(pending=0, error=None)
                if vanished or returned:
                    if vanished:
                        self.on_warning(f"{', '.join(map(str, vanished))} is gone; watching for it to come back")
                    return  # restart with the roots that exist now
        finally:
            events.close()

    def _collect(self, changes: set[tuple[int, str]], pending: dict[str, int]) -> int:
        """Add the events that matter to `pending` (path -> last change); returns how many."""
        from semsearch.ingest.walk import IGNORE_FILES, JUNK_DIRS

        count = 0
        for change, raw in changes:
            path = Path(raw)
            if path == self._index_dir or _is_under(path, self._index_dir):
                continue  # the index's own files, when it lives inside a watched folder
            root = next((r for r in self.roots if path == r or _is_under(path, r)), None)
            if root is None:
                continue
            parts = path.relative_to(root).parts
            if any(p.startswith(".") for p in parts[:-1]) or any(p in JUNK_DIRS for p in parts[:-1]):
                continue
            if parts and parts[-1].startswith(".") and parts[-1] not in IGNORE_FILES:
                continue  # editors' swap and temp files, .git and friends
            pending[str(path)] = int(change)
            count += 1
        return count

    def _apply_initial(self, present: list[Path]) -> None:
        # An index kept inside a watched folder is not a document (events under it are dropped too).
        own = [f"{self._index_dir.relative_to(r).as_posix()}/*" for r in present if _is_under(self._index_dir, r)]
        with self.write_gate:
            self._check_stop()
            report = self.index.add(
                present,
                include=self.include,
                exclude=(*self.exclude, *own),
                max_file_bytes=self.max_file_bytes,
                on_warning=self.on_warning,
                on_progress=self._check_stop,
            )
        self._finish(Batch("initial", 0, 0, report))

    def _apply(self, pending: dict[str, int], events: int, present: list[Path]) -> None:
        with self.write_gate:
            self._check_stop()
            report = self.index.apply(
                pending,
                roots=present,
                include=self.include,
                exclude=self.exclude,
                max_file_bytes=self.max_file_bytes,
                on_warning=self.on_warning,
                on_progress=self._check_stop,
            )
        if report.new or report.changed or report.deleted or report.failed:
            self._finish(Batch("batch", events, len(pending), report))

    def _finish(self, batch: Batch) -> None:
        self.state.batches += 1
        self._set(last_batch=batch)
        self.on_batch(batch)


# -- the command line ---------------------------------------------------------------------------------


def watch_command(
    index: Index,
    paths: Sequence[str],
    *,
    as_json: bool = False,
    include: Sequence[str] = (),
    exclude: Sequence[str] = (),
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES,
    quiet_ms: int = QUIET_MS,
    say: Callable[[str], None] = print,
) -> int | None:
    """`semsearch watch`: run a Watcher in this thread until SIGINT or SIGTERM; returns that signal.

    The first signal stops it after the file in hand (committed, the vector cache saved); a second
    one interrupts at once (the batch in flight rolls back).
    """
    import signal

    printer = WatchPrinter(index, as_json=as_json)
    watcher = Watcher(
        index,
        paths,
        include=include,
        exclude=exclude,
        max_file_bytes=max_file_bytes,
        quiet_ms=quiet_ms,
        on_batch=printer.batch,
        on_state=printer.state,
        on_warning=printer.warning,
    )

    signals: list[int] = []

    def on_signal(signum, frame) -> None:
        signals.append(signum)
        if watcher.stopping:
            raise KeyboardInterrupt
        watcher.stop()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    announced = False

    def announce(batch: Batch) -> None:
        nonlocal announced
        printer.batch(batch)
        if not announced:
            announced = True
            roots = ", ".join(str(r) for r in watcher.roots)
            printer.say(f"semsearch: watching {roots} (Ctrl-C to stop)")
            printer.state(watcher.state)

    watcher.on_batch = announce
    try:
        watcher.run()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        printer.close()
    pending = watcher.state.pending
    left = f"; {plural(pending, 'change')} not applied yet (the next run picks them up)" if pending else ""
    say(f"semsearch: stopped watching; the index is consistent{left}")
    return signals[0] if signals else None


# -- the command line's output ------------------------------------------------------------------------


class WatchPrinter:
    """One status line on a terminal, else one line per batch; `as_json`: one JSON object per batch."""

    def __init__(self, index: Index, *, as_json: bool = False, stream=None, interactive: bool | None = None):
        import sys

        self.index = index
        self.as_json = as_json
        self.stream = stream or sys.stdout
        self.interactive = (not as_json) and (self.stream.isatty() if interactive is None else interactive)
        self._lock = threading.Lock()
        self._shown = ""

    def batch(self, batch: Batch) -> None:
        import json

        with self._lock:
            if self.as_json:
                self._write(json.dumps(batch.to_dict()) + "\n")
            elif not self.interactive:
                self._write(f"{time.strftime('%H:%M:%S', time.localtime(batch.finished))} {batch.summary()}\n")

    def state(self, state: WatchState) -> None:
        if not self.interactive:
            return
        with self._lock:
            line = fit_line(self._status_line(state), shutil.get_terminal_size().columns)
            if line != self._shown:
                self._shown = line
                self._write("\r\x1b[K" + line)

    def warning(self, line: str) -> None:
        self.say(f"warning: {line}")

    def say(self, line: str) -> None:
        """A line on stderr, clearing the status line first (it is drawn again on the next update)."""
        import sys

        with self._lock:
            if self.interactive and self._shown:
                self._write("\r\x1b[K")
                self._shown = ""
            print(line, file=sys.stderr, flush=True)

    def close(self) -> None:
        if self.interactive and self._shown:
            self._write("\n")

    def _status_line(self, state: WatchState) -> str:
        text = f"{state.phase}: {plural(len(state.roots), 'folder')}"
        with contextlib.suppress(Exception):  # the counts are a courtesy; never fail the line for them
            text += f", {plural(self.index.collection.file_count(), 'file')} indexed"
        if state.pending:
            text += f", {plural(state.pending, 'change')} pending"
        if state.last_batch:
            last = state.last_batch
            text += f" · last update {time.strftime('%H:%M:%S', time.localtime(last.finished))}: {last.summary()}"
        if state.missing:
            text += f" · missing: {', '.join(state.missing)}"
        return text

    def _write(self, text: str) -> None:
        self.stream.write(text)
        self.stream.flush()


def fit_line(text: str, columns: int) -> str:
    """A status line cut to the terminal's width (one column spare), so it never wraps and leaves stale lines.

    Widths are the terminal's (wcwidth): a CJK character in a path takes two columns.
    """
    from wcwidth import wcswidth, wcwidth

    width = max(columns - 1, 1)
    if 0 <= wcswidth(text) <= width:
        return text
    kept, used = [], 0
    for char in text:
        used += max(wcwidth(char), 0)
        if used > width - 1:
            break
        kept.append(char)
    return "".join(kept) + "…"


def _is_under(path: Path, root: Path) -> bool:
    return root in path.parents


def _iso(seconds: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(seconds))
