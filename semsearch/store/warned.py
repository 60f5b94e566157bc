"""Warnings already shown about a file, so a re-run does not repeat them while the file is unchanged.

A file too big or corrupt is reported by every run (its count stays in the summary), but the
warning line is printed once: the index's SQLite remembers the line with the file's size and
mtime, and a run prints it again only when the file or the warning changes.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from semsearch.store.db import Database

TABLE = "warned"  # path, the file's size and mtime when warned, the warning line


class WarnOnce:
    """A warning callback that prints a (path, line) warning unless the last run printed it for the same file."""

    def __init__(self, db: Database, show: Callable[[str], None]):
        self.db = db
        self.show = show
        self.shown: dict[str, tuple[int, int, str]] = {}
        with db.lock:
            exists = db.conn.execute("SELECT 1 FROM sqlite_master WHERE name = ?", [TABLE]).fetchone()
            rows = db.conn.execute(f"SELECT path, size, mtime_ns, line FROM {TABLE}").fetchall() if exists else []
        self.before = {path: (size, mtime_ns, line) for path, size, mtime_ns, line in rows}

    def __call__(self, path: str, line: str) -> None:
        try:
            info = os.stat(path)
            stamp = (info.st_size, info.st_mtime_ns)
        except OSError:
            stamp = (-1, -1)
        key = os.fsencode(path).decode("utf-8", "backslashreplace")  # a name that is not UTF-8 can still be stored
        self.shown[key] = (*stamp, line)
        if self.before.get(key) != self.shown[key]:
            self.show(line)

    def save(self, covered: Callable[[str], bool]) -> None:
        """Remember this run's warnings; forget earlier ones for `covered` paths (this run looked at them)."""
        stale = [p for p in self.before if covered(p) and p not in self.shown]
        if not stale and all(self.before.get(p) == entry for p, entry in self.shown.items()):
            return  # nothing new: a no-change re-run writes nothing
        with self.db.transaction() as conn:
            conn.execute(
                f"CREATE TABLE IF NOT EXISTS {TABLE} (path TEXT PRIMARY KEY, size INT, mtime_ns INT, line TEXT)"
            )
            conn.executemany(f"DELETE FROM {TABLE} WHERE path = ?", [(p,) for p in stale])
            conn.executemany(
                f"INSERT OR REPLACE INTO {TABLE} (path, size, mtime_ns, line) VALUES (?, ?, ?, ?)",
                [(p, *entry) for p, entry in self.shown.items()],
            )
