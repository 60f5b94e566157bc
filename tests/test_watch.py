"""`semsearch watch` in a real subprocess on real files: the index follows the folder as it changes."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from semsearch.embed.local import LocalEmbedder
from semsearch.index import Index

ENV = {**os.environ, "SEMSEARCH_EMBEDDER": "local"}
DEADLINE_S = 60  # generous: the shared CI machine may be slow; the tests poll, never sleep a fixed time


@pytest.fixture(scope="module")
def embedder():
    return LocalEmbedder()


class WatchProcess:
    """`semsearch watch --json` with its output lines collected on threads."""

    def __init__(self, folder: Path, index: Path, *extra: str, env: dict | None = None):
        command = [sys.executable, "-m", "semsearch", "watch", str(folder), "--index", str(index), "--json"]
        self.process = subprocess.Popen(
            [*command, "--quiet-ms", "100", *extra],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**ENV, **(env or {})},
        )
        self.batches: list[dict] = []
        self.stderr: list[str] = []
        threading.Thread(target=self._read, args=(self.process.stdout, True), daemon=True).start()
        threading.Thread(target=self._read, args=(self.process.stderr, False), daemon=True).start()

    def _read(self, stream, is_stdout: bool) -> None:
        for line in stream:
            if is_stdout:
                self.batches.append(json.loads(line))
            else:
                self.stderr.append(line)

    def wait_for(self, what: str, condition: Callable[[], object], deadline: float = DEADLINE_S):
        ends = time.monotonic() + deadline
        while time.monotonic() < ends:
            if result := condition():
                return result
            if self.process.poll() is not None:
                time.sleep(0.2)  # let the reader threads drain
                pytest.fail(f"watch exited ({self.process.returncode}) before {what}:\n{''.join(self.stderr)}")
            time.sleep(0.05)
        pytest.fail(f"timed out waiting for {what}; batches={self.batches}\n{''.join(self.stderr)}")

    def initial(self) -> dict:
        return self.wait_for("the initial run", lambda: next((b for b in self.batches if b["kind"] == "initial"), None))

    def stop(self, signum: int = signal.SIGINT) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signum)
        try:
            return self.process.wait(timeout=DEADLINE_S)
        finally:
            if self.process.poll() is None:
                self.process.kill()
                self.process.wait()


@pytest.fixture
def watching(tmp_path):
    started: list[WatchProcess] = []

    def start(folder: Path, *extra: str) -> WatchProcess:
        watch = WatchProcess(folder, tmp_path / "index", *extra)
        started.append(watch)
        return watch

    yield start
    for watch in started:
        watch.stop()


def indexed(index_dir: Path) -> dict[str, list[str]]:
    """path -> chunk texts, read from SQLite as another process sees it."""
    with sqlite3.connect(index_dir / "index.db") as db:
        rows = db.execute("SELECT f.path, c.text FROM files f JOIN chunks c ON c.file_id = f.id ORDER BY c.ordinal")
        found: dict[str, list[str]] = {}
        for path, text in rows:
            found.setdefault(path, []).append(text)
    return found


def top_hit(index_dir: Path, embedder, question: str):
    with Index(index_dir, embedder=embedder, create=False) as index:
        hits = index.search(question, k=1)
    return hits[0] if hits else None


def check_consistent(index_dir: Path) -> None:
    """SQLite intact and the FAISS cache (as a fresh reader loads it) holding exactly SQLite's vectors."""
    with sqlite3.connect(index_dir / "index.db") as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        chunks = db.execute("SELECT count(*) FROM chunks WHERE length(vector) = 384 * 4").fetchone()[0]
        assert chunks == db.execute("SELECT count(*) FROM chunks").fetchone()[0]
    with Index(index_dir, embedder="local", create=False) as index:
        assert index.vectors.count == chunks


def index_run(folder: Path, index_dir: Path, *extra: str) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "semsearch", "index", str(folder), "--index", str(index_dir), *extra]
    return subprocess.run(command, capture_output=True, text=True, env=ENV, timeout=300)


def test_new_edited_deleted_renamed_files_and_folders_follow_the_disk(tmp_path, watching, embedder):
    docs = tmp_path / "docs"
    (docs / "ops").mkdir(parents=True)
    (docs / "ops" / "logging.md").write_text("# Logging\n\nRotate the logs daily with logrotate.\n")
    (docs / "bread.md").write_text("# Bread\n\nA sourdough starter is fed flour and water twice a day.\n")
    index_dir = tmp_path / "index"
    watch = watching(docs)
    assert watch.initial()["new"] == 2

    # A new file becomes searchable.
    (docs / "garden.md").write_text("# Garden\n\nWater the tomatoes early in the morning, never at noon.\n")
    hit = watch.wait_for("the new file", lambda: (h := top_hit(index_dir, embedder, "when to water tomatoes"))
                         and h.path.endswith("garden.md") and h)  # fmt: skip
    assert "tomatoes" in hit.text

    # An edited file's new text replaces its old chunks.
    (docs / "bread.md").write_text("# Bread\n\nRye bread needs a long, cold proof overnight in the fridge.\n")
    watch.wait_for("the edit", lambda: any("Rye" in t for t in indexed(index_dir).get(str(docs / "bread.md"), [])))
    assert not any("sourdough" in t for t in indexed(index_dir)[str(docs / "bread.md")])

    # A renamed file is found under its new path only.
    (docs / "garden.md").rename(docs / "vegetables.md")
    # (The new path is committed first, so its vectors are reused, then the old one leaves.)
    moved = watch.wait_for("the rename", lambda: next((b for b in watch.batches if b["new"] == b["deleted"] == 1), 0))
    assert moved["chunks_embedded"] == 0
    assert str(docs / "vegetables.md") in indexed(index_dir) and str(docs / "garden.md") not in indexed(index_dir)
    assert top_hit(index_dir, embedder, "when to water tomatoes").path == str(docs / "vegetables.md")

    # A deleted file and a deleted folder leave the index.
    (docs / "bread.md").unlink()
    for name in ("a", "b", "c"):
        (docs / "ops" / f"{name}.txt").write_text(f"Operations note {name}: restart the service after upgrades.\n")
    watch.wait_for("the folder's files", lambda: str(docs / "ops" / "c.txt") in indexed(index_dir))
    assert str(docs / "bread.md") not in indexed(index_dir)
    for path in sorted((docs / "ops").iterdir()):
        path.unlink()
    (docs / "ops").rmdir()
    watch.wait_for("the deleted folder", lambda: not any("/ops/" in p for p in indexed(index_dir)))
    assert set(indexed(index_dir)) == {str(docs / "vegetables.md")}

    assert watch.stop() == 130  # 128 + SIGINT, as shells report Ctrl-C
    check_consistent(index_dir)
    assert not any("Traceback" in line for line in watch.stderr)


def test_ignore_rules_save_dance_and_a_vanished_root(tmp_path, watching):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "keep.md").write_text("# Keep\n\nThis note stays.\n")
    index_dir = tmp_path / "index"
    watch = watching(docs)
    watch.initial()

    # Ignored, hidden and junk paths stay out, as with `semsearch index`.
    (docs / ".gitignore").write_text("drafts/\n*.log\n")
    (docs / "drafts").mkdir()
    (docs / "drafts" / "secret.md").write_text("# Draft\n\nNot for the index.\n")
    (docs / "app.log").write_text("log line\n")
    (docs / "node_modules").mkdir()
    (docs / "node_modules" / "pkg.md").write_text("# Package\n\nVendored.\n")
    (docs / ".hidden.md").write_text("# Hidden\n\nNo.\n")
    # An editor's save dance: write a temp file, move the original to a backup, rename, delete the backup.
    target = docs / "keep.md"
    temp = docs / ".keep.md.swp"
    temp.write_text("# Keep\n\nThis note was saved by an editor.\n")
    target.rename(docs / "keep.md~")
    temp.rename(target)
    (docs / "keep.md~").unlink()
    # A file that vanishes before the batch reads it.
    (docs / "flash.md").write_text("# Flash\n\nGone in a moment.\n")
    (docs / "flash.md").unlink()
    (docs / "marker.md").write_text("# Marker\n\nWritten last.\n")
    watch.wait_for("the marker", lambda: str(docs / "marker.md") in indexed(index_dir))
    assert set(indexed(index_dir)) == {str(target), str(docs / "marker.md")}
    assert indexed(index_dir)[str(target)] == ["This note was saved by an editor."]
    assert all(b["failed"] == 0 for b in watch.batches)

    # Un-ignoring a folder in .gitignore brings its files in.
    (docs / ".gitignore").write_text("*.log\n")
    watch.wait_for("the un-ignored draft", lambda: str(docs / "drafts" / "secret.md") in indexed(index_dir))

    # The watched folder itself deleted: its files leave the index, the watcher keeps running ...
    for path in sorted(docs.rglob("*"), reverse=True):
        path.rmdir() if path.is_dir() else path.unlink()
    docs.rmdir()
    watch.wait_for("the deleted root", lambda: indexed(index_dir) == {})
    # ... and picks the folder up again when it comes back.
    docs.mkdir()
    (docs / "back.md").write_text("# Back\n\nThe folder is back.\n")
    watch.wait_for("the folder's return", lambda: str(docs / "back.md") in indexed(index_dir))
    assert watch.process.poll() is None
    assert watch.stop() == 130  # 128 + SIGINT, as shells report Ctrl-C
    check_consistent(index_dir)


def test_concurrent_index_waits_for_the_watcher_and_loses_nothing(tmp_path, watching, embedder):
    docs = tmp_path / "docs"
    docs.mkdir()
    for i in range(6):
        (docs / f"note{i}.md").write_text(f"# Note {i}\n\nNote number {i} is about topic {i * 7}.\n")
    index_dir = tmp_path / "index"
    watch = watching(docs)
    watch.initial()

    busy = index_run(docs, index_dir, "--no-wait")
    assert busy.returncode == 75, busy.stderr
    assert f"Error: another semsearch writing {index_dir} (pid {watch.process.pid}); try again" in busy.stderr

    command = [sys.executable, "-m", "semsearch", "index", str(docs), "--index", str(index_dir), "--json"]
    waiting = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV)
    err_lines: list[str] = []
    reader = threading.Thread(target=lambda: err_lines.extend(waiting.stderr), daemon=True)
    reader.start()
    try:
        watch.wait_for("index to wait for the lock", lambda: any("waiting for another" in x for x in err_lines))
        # While `index` waits, the watcher still applies changes, and other processes can query.
        (docs / "note6.md").write_text("# Note 6\n\nThe seventh note, written while index waits.\n")
        watch.wait_for("note6", lambda: str(docs / "note6.md") in indexed(index_dir))
        assert top_hit(index_dir, embedder, "the seventh note").path == str(docs / "note6.md")
        assert waiting.poll() is None
        assert watch.stop(signal.SIGINT) == 130
        out = waiting.stdout.read()
        waiting.wait(timeout=DEADLINE_S)
        reader.join(DEADLINE_S)
    finally:
        if waiting.poll() is None:
            waiting.kill()
    err = "".join(err_lines)
    assert waiting.returncode == 0, err
    assert "waiting for another semsearch writing" in err and "Traceback" not in err
    report = json.loads(out)
    assert (report["new"], report["changed"], report["deleted"], report["unchanged"]) == (0, 0, 0, 7)
    check_consistent(index_dir)
    assert len(indexed(index_dir)) == 7


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_signal_stops_watch_cleanly(tmp_path, watching, signum):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.md").write_text("# A\n\nFirst file.\n")
    index_dir = tmp_path / "index"
    watch = watching(docs)
    watch.initial()
    (docs / "b.md").write_text("# B\n\nSecond file, written while watching.\n")
    watch.wait_for("b.md", lambda: str(docs / "b.md") in indexed(index_dir))

    assert watch.stop(signum) == 128 + signum
    assert "stopped watching" in "".join(watch.stderr)
    assert not any("Traceback" in line for line in watch.stderr)
    check_consistent(index_dir)
    after = index_run(docs, index_dir, "--json")
    assert after.returncode == 0, after.stderr
    report = json.loads(after.stdout)
    assert (report["new"], report["changed"], report["deleted"], report["chunks_embedded"]) == (0, 0, 0, 0)


def test_an_index_inside_the_watched_folder_is_not_indexed_and_does_not_feed_itself(tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.md").write_text("# A\n\nFirst file.\n")
    index_dir = docs / "idx"
    watch = WatchProcess(docs, index_dir)
    try:
        watch.initial()
        (docs / "b.md").write_text("# B\n\nSecond file.\n")
        watch.wait_for("b.md's batch", lambda: any(b["kind"] == "batch" and b["new"] for b in watch.batches))
        # Its own writes (index.db, the vector cache, the lock) must not start batch after batch.
        settled = len(watch.batches)
        ends = time.monotonic() + 1.5
        while time.monotonic() < ends:
            assert len(watch.batches) == settled, (watch.batches, watch.stderr)
            time.sleep(0.05)
        assert set(indexed(index_dir)) == {str(docs / "a.md"), str(docs / "b.md")}
    finally:
        assert watch.stop() == 130  # 128 + SIGINT, as shells report Ctrl-C


def test_polling_works_too(tmp_path):
    """Where file-system events are unavailable (a watch limit, some network mounts) watch polls."""
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.md").write_text("# A\n\nFirst file.\n")
    index_dir = tmp_path / "index"
    watch = WatchProcess(docs, index_dir, env={"WATCHFILES_FORCE_POLLING": "1", "WATCHFILES_POLL_DELAY_MS": "100"})
    try:
        watch.initial()
        (docs / "b.md").write_text("# B\n\nSecond file.\n")
        (docs / "a.md").unlink()
        watch.wait_for("the polled changes", lambda: set(indexed(index_dir)) == {str(docs / "b.md")})
    finally:
        assert watch.stop() == 130  # 128 + SIGINT, as shells report Ctrl-C


def test_watch_refuses_a_missing_folder_with_one_line(tmp_path):
    missing = tmp_path / "nope"
    result = subprocess.run(
        [sys.executable, "-m", "semsearch", "watch", str(missing), "--index", str(tmp_path / "index")],
        capture_output=True,
        text=True,
        env=ENV,
        timeout=120,
    )
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1] == f"Error: no such file or directory: {missing}"


def test_apply_judges_paths_by_what_is_on_disk(tmp_path, embedder):
    """Index.apply directly: a path gone before it is read, a folder moved in, a file moved away."""
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.md").write_text("# A\n\nAlpha text.\n")
    with Index(tmp_path / "index", embedder=embedder) as index:
        index.add([docs])
        # Reported as changed, but gone by now: no failure, it leaves the index.
        (docs / "a.md").unlink()
        report = index.apply(changed=[docs / "a.md", docs / "never-existed.md"], roots=[docs])
        assert (report.deleted, report.failed, report.new) == (1, 0, 0)
        # A folder moved in arrives as one path: everything under it is indexed.
        moved = tmp_path / "outside"
        (moved / "deep").mkdir(parents=True)
        (moved / "deep" / "b.md").write_text("# B\n\nBeta text.\n")
        moved.rename(docs / "moved")
        report = index.apply(changed=[docs / "moved"], roots=[docs])
        assert report.new == 1 and str(docs / "moved" / "deep" / "b.md") in index.db.files()
        # Moved within the tree: reported as deleted + created, the vectors are reused.
        (docs / "moved").rename(docs / "renamed")
        report = index.apply(changed=[docs / "renamed"], deleted=[docs / "moved"], roots=[docs])
        assert (report.new, report.deleted, report.chunks_embedded) == (1, 1, 0)
        assert list(index.db.files()) == [str(docs / "renamed" / "deep" / "b.md")]
