"""One writer per index: a lock file beside index.db, held by `index`, `rm` and `watch`.

Readers never take it (SQLite's WAL gives them the last committed state). A second writer
either waits, after saying who holds the lock, or gives up at once with IndexBusyError.
The lock is an OS file lock (flock), so a crashed writer never leaves it held.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from semsearch.errors import IndexBusyError

LOCK_FILE = "index.lock"
OWNER_FILE = "index.lock.pid"  # who holds the lock; filelock truncates the lock file itself on every try


class WriterLock:
    """Re-entrant within one process object: `watch` holds it while each batch takes it again."""

    def __init__(self, folder: Path):
        self.folder = folder
        self._file_lock = None  # made on first use: a process that only reads never imports filelock (12 ms)
        self._making = threading.Lock()  # one FileLock per object, whichever thread uses it first
        self._owner = folder / OWNER_FILE

    @property
    def _lock(self):
        with self._making:
            if self._file_lock is None:
                from filelock import FileLock

                self._file_lock = FileLock(str(self.folder / LOCK_FILE), thread_local=False)
            return self._file_lock

    @property
    def held(self) -> bool:
        return self._file_lock is not None and self._file_lock.is_locked

    def holder(self) -> int | None:
        """The pid of the process holding the lock, if it said so."""
        try:
            return int(self._owner.read_text().strip() or 0) or None
        except (OSError, ValueError):
            return None

    def _describe_holder(self) -> str:
        pid = self.holder()
        for _ in range(20):  # the holder writes its pid just after taking the lock: give it a moment
            if pid:
                break
            time.sleep(0.05)
            pid = self.holder()
        return f"another semsearch writing {self.folder}" + (f" (pid {pid})" if pid else "")

    @contextlib.contextmanager
    def hold(self, *, wait: bool = True, on_wait: Callable[[str], None] | None = None) -> Iterator[None]:
        from filelock import Timeout

        if self._lock.is_locked:  # this process already holds it
            with self._lock:
                yield
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        try:
            self._lock.acquire(timeout=0)
        except Timeout:
            if not wait:
                raise IndexBusyError(f"{self._describe_holder()}; try again when it finishes") from None
            if on_wait:
                on_wait(f"waiting for {self._describe_holder()}…")
            self._lock.acquire()
        try:
            self._owner.write_text(f"{os.getpid()}\n")
            yield
        finally:
            with contextlib.suppress(OSError):
                self._owner.unlink()
            self._lock.release()

    def try_hold(self) -> contextlib.AbstractContextManager[bool]:
        """Take the lock only if it is free: yields whether it was taken (for best-effort cache saves)."""
        return _TryHold(self)


class _TryHold:
    def __init__(self, lock: WriterLock):
        self.lock = lock
        self.context = None

    def __enter__(self) -> bool:
        self.context = self.lock.hold(wait=False)
        try:
            self.context.__enter__()
        except IndexBusyError:
            self.context = None
            return False
        return True

    def __exit__(self, *exc) -> None:
        if self.context is not None:
            self.context.__exit__(*exc)
