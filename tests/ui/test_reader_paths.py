"""The page's reader: the one path syntax in its path box, and no file left open as the index changes."""

from __future__ import annotations

import os
from pathlib import Path

import requests

from semsearch.embed.local import LocalEmbedder
from semsearch.index import Index
from tests.ui.conftest import build_index, ui_process


def test_the_path_box_speaks_the_one_path_syntax(ui_url):
    for box in ("docs/ops", "ops", "docs/ops/*.md"):
        answer = requests.get(ui_url + "api/search", params={"q": "rotate logs", "path": box}, timeout=60).json()
        assert answer["results"], box
        assert all("/docs/ops/" in hit["file"] for hit in answer["results"]), box
    other = requests.get(ui_url + "api/search", params={"q": "rotate logs", "path": "docs/opsx"}, timeout=60).json()
    assert other["results"] == []  # a folder name, not a substring


def open_files(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def test_a_long_running_page_keeps_its_open_files_as_commits_arrive(tmp_path, monkeypatch):
    """Vectors on disk (a tiny flat limit): each commit makes the page load a new cache; the old one's
    files must be closed. 50 commits, open files within ±5."""
    notes = tmp_path / "notes"
    notes.mkdir()
    for i in range(6):
        (notes / f"n{i}.md").write_text(f"# Note {i}\n\nLog rotation note number {i}.\n")
    env = {"SEMSEARCH_FLAT_LIMIT": "2", "SEMSEARCH_EMBEDDER": "local"}
    monkeypatch.setenv("SEMSEARCH_FLAT_LIMIT", "2")
    index_dir = build_index(tmp_path / "index", notes)
    monkeypatch.setattr("semsearch.store.vectors.FLAT_LIMIT", 2)
    embedder = LocalEmbedder()
    with ui_process(index_dir, env=env) as (url, process):

        def search() -> list:
            answer = requests.get(url + "api/search", params={"q": "log rotation", "k": 3}, timeout=60)
            assert answer.status_code == 200, answer.text
            return answer.json()["results"]

        with Index(index_dir, embedder=embedder) as writer:
            assert writer.vectors.kind == "ivf"  # the cache lives in files the page opens
            search()
            before = open_files(process.pid)
            for n in range(50):
                (notes / "n0.md").write_text(f"# Note 0\n\nLog rotation note, edit {n}.\n")
                writer.add([notes])
                hits = search()
                assert hits
            after = open_files(process.pid)
    assert abs(after - before) <= 5, (before, after)
    assert Path(index_dir / "index.db").exists()
