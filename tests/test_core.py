"""The core under every feature: consistent reads beside a writer, runs that remove only what they
looked at, and one path syntax applied inside candidate generation."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from semsearch.embed.local import LocalEmbedder
from semsearch.index import Index
from semsearch.paths import PathPattern
from tests.console import cli_env, semsearch

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def embedder():
    return LocalEmbedder()


def write_tree(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


# -- the path syntax ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pattern", "path", "selected"),
    [
        ("docs/ops", "/home/me/notes/docs/ops/rotate.md", True),
        ("docs/ops", "/home/me/notes/docs/opsx/rotate.md", False),
        ("ops", "/home/me/notes/docs/ops/deep/rotate.md", True),
        ("ops/*.md", "/srv/ops/rotate.md", True),
        ("ops/*.md", "/srv/ops/deep/rotate.md", False),
        ("*.pdf", "/srv/papers/a.pdf", True),
        ("*.pdf", "/srv/papers/a.pdf.txt", False),
        ("**/test_*.py", "/srv/app/tests/test_api.py", True),
        ("/srv/app", "/srv/app/main.py", True),
        ("/srv/app", "/other/srv/app/main.py", False),
        ("docs/ops/", "docs/ops/rotate.md", True),  # relative paths (--include/--exclude) too
    ],
)
def test_one_path_syntax(pattern, path, selected):
    assert PathPattern.of(pattern).matches(path) is selected


def test_no_pattern_is_no_filter():
    assert PathPattern.of(None) is None and PathPattern.of("  ") is None and PathPattern.of([]) is None


# -- what a run may remove -----------------------------------------------------------------------------


def test_a_narrower_run_keeps_the_files_it_did_not_look_at(tmp_path, embedder):
    root = write_tree(
        tmp_path / "notes",
        {
            "a.md": "# Alpha\n\nAlpha notes about rivers.\n",
            "b.txt": "Beta notes about mountains.\n",
            "sub/c.md": "# Gamma\n\nGamma notes about deserts.\n",
            "other/d.md": "# Delta\n\nDelta notes about forests.\n",
        },
    )
    with Index(tmp_path / "index", embedder=embedder) as index:
        assert index.add([root]).new == 4
        report = index.add([root], include=["*.txt"])
        assert (report.unchanged, report.deleted) == (1, 0)
        report = index.add([root], exclude=["*.md"])
        assert report.deleted == 0
        assert index.add([root / "sub"]).deleted == 0  # a path narrower than the root
        assert index.status()["files"] == 4
        # Gone from disk, or hidden by a standing rule: those leave, narrowed run or not.
        (root / "b.txt").unlink()
        assert index.add([root], include=["*.txt"]).deleted == 1
        (root / ".gitignore").write_text("other/\n")
        assert index.add([root]).deleted == 1
        assert sorted(Path(p).name for p in index.db.files()) == ["a.md", "c.md"]


def test_cli_include_run_after_a_full_run_keeps_everything(tmp_path):
    root = write_tree(tmp_path / "notes", {f"n{i}.md": f"# Note {i}\n\nAbout topic {i}.\n" for i in range(4)})
    (root / "list.txt").write_text("A list of things to buy.\n")
    env = cli_env(tmp_path / "home")
    index_dir = str(tmp_path / "index")
    assert semsearch("index", str(root), "--index", index_dir, env=env).returncode == 0
    run = semsearch("index", str(root), "--index", index_dir, "--include", "*.txt", "--json", env=env)
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)["deleted"] == 0
    status = semsearch("status", "--index", index_dir, "--json", env=env)
    assert json.loads(status.stdout)["files"] == 5


# -- filters inside candidate generation ----------------------------------------------------------------


@pytest.fixture(scope="module")
def crowded(tmp_path_factory, embedder):
    """1,200 files that say "rotation" many times, and one file under docs/ops that says it once."""
    root = tmp_path_factory.mktemp("crowded") / "tree"
    files = {f"noise/n{i:04}.txt": "rotation rotation rotation schedule\n" for i in range(1200)}
    files["docs/ops/rotate.md"] = "# Logs\n\nKeep fourteen days of logs; rotation happens nightly at two.\n"
    write_tree(root, files)
    index = Index(tmp_path_factory.mktemp("crowded-index"), embedder=embedder)
    index.add([root])
    yield root, index
    index.close()


@pytest.mark.parametrize("mode", ["keyword", "dense", "hybrid", "auto"])
def test_a_filtered_search_finds_the_one_matching_file_among_many(crowded, mode):
    root, index = crowded
    hits = index.search("rotation", k=5, mode=mode, path="docs/ops")
    assert [Path(h.path).name for h in hits] == ["rotate.md"]
    assert index.search("rotation", k=3, mode=mode, path="nothing/here") == []


def test_path_docs_ops_in_the_cli(crowded, tmp_path):
    root, index = crowded
    env = cli_env(tmp_path / "home")
    run = semsearch("query", "rotation", "--index", str(index.path), "--path", "docs/ops", "--json", env=env)
    assert run.returncode == 0, run.stderr
    assert [Path(json.loads(line)["path"]).name for line in run.stdout.splitlines()] == ["rotate.md"]


# -- readers beside a writer ----------------------------------------------------------------------------

WRITER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from semsearch.index import Index

    root, index_dir, stop = Path(sys.argv[1]), sys.argv[2], Path(sys.argv[3])
    deadline = time.monotonic() + 240
    n = 0
    with Index(index_dir) as index:
        while not stop.exists() and time.monotonic() < deadline:
            n += 1
            for folder in ("docs/ops", "docs/dev", "misc"):
                for i in range(3):
                    path = root / folder / f"f{i}.md"
                    if (n + i) % 4 == 0:
                        path.unlink(missing_ok=True)  # files come and go: their chunk ids die
                    else:
                        path.write_text(f"# Rotation {n}\\n\\nRotate logs in {folder}, round {n}, file {i}.\\n")
            index.add([root])
            print(n, flush=True)
    """
)


def test_filtered_searches_beside_a_writer_never_fail(tmp_path, embedder):
    """≥ 1,000 path-filtered searches, every mode and auto with min_score, while another process rewrites
    and deletes files inside and outside the filter, one commit per file."""
    root = tmp_path / "tree"
    for folder in ("docs/ops", "docs/dev", "misc"):
        write_tree(root, {f"{folder}/f{i}.md": f"# Rotation\n\nRotate logs in {folder}, file {i}.\n" for i in range(3)})
    index_dir = tmp_path / "index"
    with Index(index_dir, embedder=embedder) as index:
        index.add([root])
    stop = tmp_path / "stop"
    env = {**cli_env(tmp_path / "home"), "SEMSEARCH_WRITE_BATCH_CHUNKS": "1", "PYTHONPATH": str(ROOT)}
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(root), str(index_dir), str(stop)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    variants = [
        {"mode": "dense"},
        {"mode": "keyword"},
        {"mode": "hybrid"},
        {"mode": "auto"},
        {"mode": "auto", "min_score": 0.1},
        {"mode": "auto", "files": True},
    ]
    counts = []

    def search_many(reader: Index, rounds: int) -> None:
        done = 0
        for _ in range(rounds):
            for variant in variants:
                for path in ("docs/ops", "misc/*.md"):
                    hits = reader.search("rotate logs", k=3, path=path, **variant)
                    assert all(PathPattern.of(path).matches(h.path) for h in hits)
                    done += 1
        counts.append(done)

    try:
        # One reader object shared by three threads, as the page's request threads and MCP share one.
        with Index(index_dir, embedder=embedder, create=False) as reader:
            rounds = 0
            with ThreadPoolExecutor(3) as pool:
                while sum(counts) < 1200 and rounds < 40:
                    list(pool.map(lambda _: search_many(reader, 5), range(3)))  # re-raises a reader's error
                    rounds += 1
                    assert writer.poll() is None, writer.stderr.read()
        searches = sum(counts)
    finally:
        stop.touch()
        out, err = writer.communicate(timeout=120)
    assert writer.returncode == 0, err
    assert int(out.split()[-1]) >= 3, "the writer committed too few rounds to race the readers"
    assert searches >= 1000
