"""Fixtures for the search page's tests: real indexes, real `semsearch ui` processes, real Chromium.

The browser is Debian's `chromium` package driven by Playwright (no browser download: never
`playwright install`). Without it the browser tests fail, saying how to install it.
"""

from __future__ import annotations

import os
import queue
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.conftest import stop

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "data"
CHROMIUM_CANDIDATES = ("chromium", "chromium-browser")
INSTALL_HINT = (
    "the browser tests need Debian's chromium: run `apt-get update && apt-get install -y chromium` "
    "(as root; .ci/run does this), or point SEMSEARCH_CHROMIUM at a Chromium binary"
)


def find_chromium(env: dict | None = None) -> str:
    """The Chromium binary to drive, or pytest.fail with how to install it (a missing browser is a failure)."""
    env = os.environ if env is None else env
    if explicit := env.get("SEMSEARCH_CHROMIUM"):
        if Path(explicit).is_file() and os.access(explicit, os.X_OK):
            return explicit
        pytest.fail(f"SEMSEARCH_CHROMIUM={explicit} is not an executable file; {INSTALL_HINT}", pytrace=False)
    for name in CHROMIUM_CANDIDATES:
        if found := shutil.which(name, path=env.get("PATH")):
            return found
    pytest.fail(f"Chromium not found on PATH; {INSTALL_HINT}", pytrace=False)


def build_index(folder: Path, *paths: Path) -> Path:
    result = subprocess.run(
        [sys.executable, "-m", "semsearch", "index", *map(str, paths), "--index", str(folder), "--embedder", "local"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr
    return folder


@contextmanager
def ui_process(index: Path, *args: str, env: dict | None = None) -> Iterator[tuple[str, subprocess.Popen]]:
    """A real `semsearch ui` on 127.0.0.1 and a free port (--port 0); yields its URL (ends with /)."""
    command = [sys.executable, "-m", "semsearch", "ui", "--index", str(index), "--embedder", "local", "--port", "0"]
    process = subprocess.Popen(
        [*command, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, **(env or {})},
    )
    lines: queue.Queue[str | None] = queue.Queue()
    output: list[str] = []

    def pump() -> None:
        for line in process.stdout:
            output.append(line)
            lines.put(line)
        lines.put(None)

    threading.Thread(target=pump, daemon=True).start()
    try:
        url = None
        while url is None:
            try:
                line = lines.get(timeout=120)
            except queue.Empty:
                raise RuntimeError("semsearch ui did not start within 120 s:\n" + "".join(output)) from None
            if line is None:
                raise RuntimeError("semsearch ui exited early:\n" + "".join(output))
            if "search page at " in line:
                url = line.split("search page at ", 1)[1].split()[0]
        yield url, process
    finally:
        stop(process)


@pytest.fixture(scope="session")
def data_index(tmp_path_factory) -> Path:
    """An index of the sample corpus in data/, built once per session."""
    return build_index(tmp_path_factory.mktemp("ui") / "data-index", DATA)


@pytest.fixture(scope="session")
def ui_url(data_index) -> Iterator[str]:
    with ui_process(data_index) as (url, _):
        yield url


@pytest.fixture(scope="session")
def chromium():
    """A headless Chromium (Debian's) under Playwright, shared by the session."""
    executable = find_chromium()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("playwright is missing: pip install -e '.[test]'", pytrace=False)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, headless=True, args=["--no-sandbox"])
        yield browser
        browser.close()


@pytest.fixture
def page(chromium):
    context = chromium.new_context(viewport={"width": 1200, "height": 800})
    page = context.new_page()
    page.set_default_timeout(30_000)
    yield page
    context.close()


@pytest.fixture(scope="session")
def screenshots(tmp_path_factory) -> Path:
    """Where the tests write their screenshots (SEMSEARCH_UI_SCREENSHOTS keeps them somewhere known)."""
    folder = Path(os.environ.get("SEMSEARCH_UI_SCREENSHOTS") or tmp_path_factory.mktemp("screenshots"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder
