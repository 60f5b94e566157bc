"""One writer per index, readers never wait: real `semsearch` processes on one index."""

from __future__ import annotations

import contextlib
import subprocess
import threading
from pathlib import Path

import pytest

from semsearch.embed.local import LocalEmbedder
from semsearch.index import Index
from tests.console import cli_env, error_lines, semsearch, start, wait_for

FOLDERS = {
    "volcanoes": {
        "lava.md": "# Lava\n\nMagma rises through the crust and erupts as lava from the volcano.\n",
        "ash.md": "# Ash clouds\n\nVolcanic ash grounds aircraft because it melts inside jet engines.\n",
        "calderas.txt": "Calderas form when a volcano's magma chamber empties and the summit collapses.\n",
    },
    "baking": {
        "bread.md": "# Sourdough\n\nFeed the starter, knead the dough and let it prove overnight.\n",
        "cakes.md": "# Sponge cake\n\nWhisk eggs and sugar until pale, fold in flour, bake at 180 degrees.\n",
        "scones.txt": "Scones need cold butter rubbed into flour and a hot oven for twelve minutes.\n",
    },
}
QUERIES = {"volcanoes": ("volcanic ash and jet engines", "magma"), "baking": ("proving sourdough dough", "starter")}


@pytest.fixture(scope="module")
def embedder():
    return LocalEmbedder()


@pytest.fixture
def folders(tmp_path) -> dict[str, Path]:
    made = {}
    for folder, files in FOLDERS.items():
        made[folder] = tmp_path / folder
        made[folder].mkdir()
        for name, text in files.items():
            (made[folder] / name).write_text(text)
    return made


def assert_both_folders_searchable(index_dir: Path, folders: dict[str, Path], embedder) -> None:
    with Index(index_dir, embedder=embedder, create=False) as idx:
        assert idx.status()["files"] == 6
        assert not idx.vectors.dirty  # the last writer saved a cache that matches SQLite exactly
        for folder, (question, word) in QUERIES.items():
            for mode in ("dense", "keyword", "hybrid"):
                hits = idx.search(word if mode == "keyword" else question, k=1, mode=mode)
                assert hits and Path(hits[0].path).parent == folders[folder], (folder, mode)


def test_a_second_writer_waits_or_exits_75_naming_the_holder(tmp_path, folders, embedder):
    index_dir = (tmp_path / "index").resolve()
    flag = tmp_path / "paused"
    env = cli_env(tmp_path / "home")
    paused = {**env, "SEMSEARCH_PAUSE_AT": "batch-committed", "SEMSEARCH_PAUSE_FILE": str(flag)}
    holder = start("index", str(folders["volcanoes"]), "--index", str(index_dir), env=paused)
    waiter = None
    try:
        wait_for(lambda: flag.exists() or holder.poll() is not None, what="the first writer's first commit")
        assert holder.poll() is None, holder.communicate()
        busy = f"Error: another semsearch writing {index_dir} (pid {holder.pid}); try again when it finishes"
        refused = semsearch("index", str(folders["baking"]), "--index", str(index_dir), "--no-wait", env=env)
        assert (refused.returncode, refused.stderr.splitlines(), refused.stdout) == (75, [busy], "")
        refused = semsearch("rm", str(folders["volcanoes"]), "--index", str(index_dir), "--no-wait", env=env)
        assert (refused.returncode, refused.stderr.splitlines()) == (75, [busy])

        waiter_err = tmp_path / "waiter.err"
        with waiter_err.open("w") as err:
            waiter = start("index", str(folders["baking"]), "--index", str(index_dir), env=env, stderr=err)
        wait_for(lambda: waiter_err.read_text(), what="the waiting line")
        assert waiter_err.read_text().splitlines()[0] == (
            f"semsearch: waiting for another semsearch writing {index_dir} (pid {holder.pid})…"
        )
        # Readers never wait: a query answers from the last commit while the writer holds the lock.
        answered = semsearch("query", "magma", "--mode", "keyword", "--index", str(index_dir), "--json", env=env)
        assert answered.returncode == 0 and answered.stdout
        assert waiter.poll() is None  # still waiting for the holder
        flag.unlink()  # let the holder finish
        assert holder.wait(timeout=120) == 0, holder.communicate()
        assert waiter.wait(timeout=120) == 0, waiter_err.read_text()
        assert "waiting for" not in waiter_err.read_text().splitlines()[1]
    finally:
        for process in (holder, waiter):
            if process is not None and process.poll() is None:
                process.kill()
                process.wait()
    assert_both_folders_searchable(index_dir, folders, embedder)


def test_two_writers_at_once_with_queries_beside_them_lose_nothing(tmp_path, folders, embedder):
    """Acceptance: every query answers, neither writer tracebacks, both folders searchable in every mode."""
    index_dir = (tmp_path / "index").resolve()
    env = cli_env(tmp_path / "home", SEMSEARCH_WRITE_BATCH_CHUNKS="1")  # a commit per file: many states to read
    writers = [start("index", str(folders[f]), "--index", str(index_dir), env=env) for f in FOLDERS]
    answers: list[tuple[str, int, str]] = []
    failures: list[str] = []

    def query_loop() -> None:
        """One long-lived reader (as a server or UI holds) queries in a loop while the writers run."""
        with contextlib.suppress(Exception):
            wait_for(lambda: (index_dir / "index.db").exists(), what="the index")
        reader = None
        while any(w.poll() is None for w in writers) or len(answers) < 6:
            try:
                reader = reader or Index(index_dir, embedder=embedder, create=False)
                for mode in ("dense", "keyword", "hybrid"):
                    hits = reader.search("magma" if mode == "keyword" else "volcanic eruptions", k=3, mode=mode)
                    assert all(Path(h.path).read_text().count(h.text.split()[0]) for h in hits)
                    answers.append((mode, len(hits), "in-process"))
            except Exception as e:  # noqa: BLE001 - every failure is reported below
                failures.append(f"{type(e).__name__}: {e}")
        if reader is not None:
            reader.close()

    reader_thread = threading.Thread(target=query_loop)
    reader_thread.start()
    cli_answers = []
    try:
        while any(w.poll() is None for w in writers) or not cli_answers:
            result = semsearch("query", "sourdough", "--mode", "keyword", "--index", str(index_dir), env=env)
            if "no index at" not in result.stderr:  # a query may come before the index exists
                cli_answers.append(result)
        outputs = [w.communicate(timeout=300) for w in writers]
    finally:
        for w in writers:
            if w.poll() is None:
                w.kill()
                w.wait()
        reader_thread.join(timeout=300)
    assert not failures, failures[:3]
    assert len(answers) >= 6 and all(r.returncode == 0 for r in cli_answers), [r.stderr for r in cli_answers]
    assert all(error_lines(r.stderr) in ([], ["No results."]) for r in cli_answers)
    for writer, (stdout, stderr) in zip(writers, outputs, strict=True):
        assert writer.returncode == 0 and "Traceback" not in stderr, stderr
        assert error_lines(stderr) == [] and "3 new" in stdout
    assert_both_folders_searchable(index_dir, folders, embedder)


def test_a_database_locked_by_another_program_is_one_line_not_a_traceback(tmp_path, folders):
    """`database is locked` from a foreign SQLite client (not a semsearch writer) never reaches the user raw."""
    import sqlite3

    index_dir = (tmp_path / "index").resolve()
    env = cli_env(tmp_path / "home", SEMSEARCH_BUSY_TIMEOUT="0.5")
    assert semsearch("index", str(folders["baking"]), "--index", str(index_dir), env=env).returncode == 0
    (folders["baking"] / "new.md").write_text("# Pretzels\n\nDip the shaped dough in lye before baking.\n")
    browser = sqlite3.connect(index_dir / "index.db", isolation_level=None)
    browser.execute("BEGIN IMMEDIATE")  # e.g. a DB browser with an open write transaction
    try:
        result = semsearch("index", str(folders["baking"]), "--index", str(index_dir), env=env)
        assert result.returncode == 75, result.stderr
        assert error_lines(result.stderr) == [
            f"Error: the index database {index_dir / 'index.db'} is locked by another program (waited 0.5 s): "
            "try again when it is done"
        ]
        query = semsearch("query", "lye", "--mode", "keyword", "--index", str(index_dir), env=env)
        assert query.returncode == 0  # readers still answer
    finally:
        browser.execute("ROLLBACK")
        browser.close()
    assert semsearch("index", str(folders["baking"]), "--index", str(index_dir), env=env).returncode == 0


def test_waiting_is_interruptible(tmp_path, folders):
    """Ctrl-C while waiting for another writer is one line, not a traceback."""
    import signal

    index_dir = (tmp_path / "index").resolve()
    env = cli_env(tmp_path / "home")
    from semsearch.store.lock import WriterLock

    lock = WriterLock(index_dir)
    index_dir.mkdir()
    with lock.hold():
        waiter = start("index", str(folders["baking"]), "--index", str(index_dir), env=env)
        wait_for(lambda: (index_dir / "index.db").exists(), what="the waiter to open the index")
        try:
            waiter.stderr.readline()  # the waiting line
            waiter.send_signal(signal.SIGINT)
            _, stderr = waiter.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            waiter.kill()
            raise
    assert waiter.returncode == 130 and stderr.splitlines() == ["Interrupted: nothing was indexed"]
