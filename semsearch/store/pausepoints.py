"""Named points in the write path where a test can freeze a writer, to kill it at that exact moment.

Off unless $SEMSEARCH_PAUSE_AT is set, so it costs one environment lookup per point:

    SEMSEARCH_PAUSE_AT=vectors-renamed#2 SEMSEARCH_PAUSE_FILE=/tmp/p semsearch index ./docs

makes the writer, the second time it reaches `vectors-renamed`, write "<point> <pid>" to
/tmp/p and wait until that file is removed (at most PAUSE_LIMIT_S). Points (in write order):

    batch-committed     a batch of files is committed to SQLite (chunks pending); the vector cache is not saved yet
    vectors-committed   a batch of pending chunks got their vectors in SQLite; the cache is not saved yet
    vectors-written     the new vector cache is written and fsynced under a temp name
    vectors-renamed     the cache file is renamed into place; its sidecar is not written yet
    rebuild-built       --reindex built the new index beside the live one; not swapped in yet
    rebuild-swapped     the new index's SQLite is swapped in; its vector cache is not moved yet
"""

from __future__ import annotations

import os
import time
from collections import Counter
from pathlib import Path

PAUSE_LIMIT_S = 300.0
_reached: Counter[str] = Counter()


def pause_point(name: str) -> None:
    """Wait here if a test asked to (see the module docstring)."""
    wanted = os.environ.get("SEMSEARCH_PAUSE_AT")
    if not wanted:
        return
    _reached[name] += 1
    point, _, nth = wanted.partition("#")
    if point != name or _reached[name] != int(nth or 1):
        return
    flag = Path(os.environ.get("SEMSEARCH_PAUSE_FILE") or "semsearch.paused")
    tmp = flag.with_name(flag.name + ".tmp")
    tmp.write_text(f"{name} {os.getpid()}\n")
    os.replace(tmp, flag)  # the test sees the whole line or nothing
    deadline = time.monotonic() + PAUSE_LIMIT_S
    while flag.exists() and time.monotonic() < deadline:
        time.sleep(0.02)
