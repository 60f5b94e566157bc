"""`semsearch mcp` as a subprocess, driven by the mcp SDK's own stdio client."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from contextlib import asynccontextmanager
from pathlib import Path

import anyio
import pytest
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client

ROOT = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "SEMSEARCH_EMBEDDER": "local"}
DEADLINE_S = 60


@asynccontextmanager
async def session(*args: str):
    params = StdioServerParameters(command=sys.executable, args=["-m", "semsearch", "mcp", *args], env=ENV)
    async with stdio_client(params) as (read, write), ClientSession(read, write) as client:
        await client.initialize()
        yield client


async def call(client: ClientSession, tool: str, **arguments):
    """(is_error, structured result or the error text)."""
    result = await client.call_tool(tool, arguments)
    if result.is_error:
        return True, result.content[0].text
    assert json.loads(result.content[0].text) == result.structured_content  # the same JSON as text
    return False, result.structured_content


@pytest.fixture(scope="module")
def data_index(tmp_path_factory) -> Path:
    """The sample corpus in data/, indexed once by the CLI."""
    index = tmp_path_factory.mktemp("mcp") / "data-index"
    result = subprocess.run(
        [sys.executable, "-m", "semsearch", "index", str(ROOT / "data"), "--index", str(index)],
        capture_output=True, text=True, env=ENV, timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return index


def test_tools_search_and_status_over_stdio(data_index):
    async def scenario():
        async with session("--index", str(data_index)) as client:
            tools = {tool.name: tool for tool in (await client.list_tools()).tools}
            assert set(tools) == {"search", "get", "related", "status", "index"}
            assert set(tools["search"].input_schema["properties"]) >= {"query", "k", "mode", "path"}
            assert "required" not in tools["search"].input_schema  # query, or typed queries
            assert all(len(tool.description) > 100 for tool in tools.values())

            error, found = await call(client, "search", query="how do I rotate the logs?", k=3)
            assert not error, found
            top = found["results"][0]
            assert top["path"] == str(ROOT / "data" / "docs" / "ops" / "logging.md")
            assert top["start_line"] <= top["end_line"] and top["heading"] and top["score"] > 0.3
            lines = Path(top["path"]).read_text().splitlines()[top["start_line"] - 1 : top["end_line"]]
            assert top["text"].split()[0] in "\n".join(lines)

            error, found = await call(client, "search", query="rotate logs", mode="hybrid", path="docs/ops/*.md")
            assert not error and all("/docs/ops/" in hit["path"] for hit in found["results"])

            error, found = await call(client, "search", query="backups and restore", k=10, files=True)
            paths = [hit["path"] for hit in found["results"]]
            assert not error and len(paths) > 1 and len(set(paths)) == len(paths)  # one result per file

            error, status = await call(client, "status")
            assert not error, status
            assert status["exists"] and status["model"] == "all-minilm" and status["chunks"] > 0
            assert status["files"] == status["freshness"]["files_checked"]
            assert status["freshness"]["up_to_date"] and status["watching"] is None

    anyio.run(scenario)


def test_bad_calls_are_tool_errors_and_the_server_keeps_serving(data_index, tmp_path):
    async def scenario():
        async with session("--index", str(data_index)) as client:
            error, message = await call(client, "search", query="   ")
            assert error and "the query is empty" in message
            error, message = await call(client, "index", paths=[str(tmp_path / "missing")])
            assert error and f"no such file or directory: {tmp_path / 'missing'}" in message
            error, found = await call(client, "search", query="backups")
            assert not error and found["results"]
        missing = tmp_path / "no-index"
        async with session("--index", str(missing)) as client:
            error, message = await call(client, "search", query="how do I rotate the logs?")
            assert error and f"no index at {missing}" in message
            error, status = await call(client, "status")
            assert not error and status["exists"] is False
        assert not missing.exists()  # reading never creates an index

    anyio.run(scenario)


def test_index_tool_never_waits_for_another_writer(tmp_path):
    from semsearch.store.lock import WriterLock

    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "a.md").write_text("# A\n\nSome text.\n")
    index = tmp_path / "index"
    index.mkdir()

    async def scenario():
        async with session("--index", str(index)) as client:
            with WriterLock(index).hold():  # this test process plays a running `semsearch index`
                error, message = await call(client, "index", paths=[str(notes)])
                assert error and f"another semsearch writing {index} (pid {os.getpid()}); try again" in message
            error, report = await call(client, "index", paths=[str(notes)])
            assert not error and report["new"] == 1

    anyio.run(scenario)


def test_index_tool_and_freshness(tmp_path):
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "tea.md").write_text("# Tea\n\nGreen tea brews at eighty degrees for two minutes.\n")

    async def scenario():
        async with session("--index", str(tmp_path / "index")) as client:
            error, report = await call(client, "index", paths=[str(notes)])
            assert not error and report["new"] == 1, report
            error, found = await call(client, "search", query="how hot should the water be for green tea?", k=1)
            assert found["results"][0]["path"] == str(notes / "tea.md")
            (notes / "tea.md").write_text("# Tea\n\nBlack tea wants boiling water and four minutes.\n")
            error, status = await call(client, "status")
            assert status["freshness"]["changed_since_indexed"] == 1
            assert status["freshness"]["examples"] == [str(notes / "tea.md")]
            (notes / "coffee.md").write_text("# Coffee\n\nGrind the beans coarse for a French press.\n")
            error, report = await call(client, "index", paths=[str(notes)])
            assert (report["changed"], report["new"]) == (1, 1)
            error, found = await call(client, "search", query="how fine should I grind for a french press?", k=1)
            assert found["results"][0]["path"] == str(notes / "coffee.md")
            # The reader follows the writer's commits: the new text is found, not the old.
            error, found = await call(client, "search", query="black tea", mode="keyword", k=3)
            assert [hit["text"] for hit in found["results"]] == ["Black tea wants boiling water and four minutes."]
            error, found = await call(client, "search", query="boiling water for black tea", k=1)
            assert "Black tea" in found["results"][0]["text"]
            error, status = await call(client, "status")
            assert status["freshness"]["up_to_date"]

    anyio.run(scenario)


def test_watch_inside_the_server_keeps_search_fresh(tmp_path):
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "start.md").write_text("# Start\n\nThe first note.\n")
    other = tmp_path / "other"
    other.mkdir()
    (other / "bikes.md").write_text("# Bikes\n\nPump the tyres to four bar before a long ride.\n")

    async def scenario():
        with anyio.fail_after(DEADLINE_S * 2):
            await watched(notes, other, tmp_path)

    anyio.run(scenario)


async def watched(notes: Path, other: Path, tmp_path: Path) -> None:
    async with session("--index", str(tmp_path / "index"), "--watch", str(notes)) as client:
        (notes / "owls.md").write_text("# Owls\n\nBarn owls hunt mice at night by sound alone.\n")
        ends = time.monotonic() + DEADLINE_S
        while True:
            error, found = await call(client, "search", query="how do owls find their prey?", k=1)
            if not error and found["results"] and found["results"][0]["path"] == str(notes / "owls.md"):
                break
            assert time.monotonic() < ends, found
            await anyio.sleep(0.1)
        while True:  # found while the initial run may still be embedding (files are searchable at once)
            error, status = await call(client, "status")
            if status["watching"]["phase"] == "watching":
                break
            assert time.monotonic() < ends, status
            await anyio.sleep(0.1)
        assert status["watching"]["roots"] == [str(notes)]
        # The index tool writes through the watcher's own index: no deadlock, no busy error.
        error, report = await call(client, "index", paths=[str(other)])
        assert not error and report["new"] == 1, report
        error, found = await call(client, "search", query="tyre pressure", k=1)
        assert found["results"][0]["path"] == str(other / "bikes.md")


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_signal_stops_the_server_and_its_watcher_cleanly(tmp_path, signum):
    notes = tmp_path / "notes"
    notes.mkdir()
    for i in range(3):
        (notes / f"n{i}.md").write_text(f"# Note {i}\n\nText of note {i}.\n")
    index = tmp_path / "index"
    process = subprocess.Popen(
        [sys.executable, "-m", "semsearch", "mcp", "--index", str(index), "--watch", str(notes)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV,
    )  # fmt: skip
    lines: list[str] = []
    threading.Thread(target=lambda: lines.extend(process.stderr), daemon=True).start()
    try:
        ends = time.monotonic() + DEADLINE_S
        while not any("index updated" in line for line in lines):
            assert process.poll() is None and time.monotonic() < ends, "".join(lines)
            time.sleep(0.05)
        process.send_signal(signum)
        assert process.wait(timeout=DEADLINE_S) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    time.sleep(0.1)
    assert not any("Traceback" in line for line in lines), "".join(lines)
    with sqlite3.connect(index / "index.db") as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    after = subprocess.run(
        [sys.executable, "-m", "semsearch", "index", str(notes), "--index", str(index), "--json"],
        capture_output=True, text=True, env=ENV, timeout=300,
    )  # fmt: skip
    report = json.loads(after.stdout)
    assert (report["new"], report["changed"], report["unchanged"], report["chunks_embedded"]) == (0, 0, 3, 0)
