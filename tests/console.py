"""Run the real `semsearch` console script in a subprocess (what a user runs, tracebacks included)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

_SCRIPT = Path(sys.executable).parent / "semsearch"
COMMAND = [str(_SCRIPT)] if _SCRIPT.exists() else [sys.executable, "-m", "semsearch"]


def cli_env(home: Path, **extra: str) -> dict[str, str]:
    """The caller's environment with an isolated data dir and the in-process model."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SEMSEARCH_", "OLLAMA_"))}
    env.update(SEMSEARCH_HOME=str(home), SEMSEARCH_EMBEDDER="local", PYTHONUNBUFFERED="1")
    env.update(extra)
    return env


def semsearch(*args: str, env: dict[str, str], timeout: float = 300, **options) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*COMMAND, *args], env=env, capture_output=True, text=True, timeout=timeout, errors="replace", **options
    )


def start(*args: str, env: dict[str, str], stderr=subprocess.PIPE, **options) -> subprocess.Popen:
    return subprocess.Popen(
        [*COMMAND, *args], env=env, stdout=subprocess.PIPE, stderr=stderr, text=True, errors="replace", **options
    )


def wait_for(condition, timeout: float = 120, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def error_lines(stderr: str) -> list[str]:
    """stderr without the status lines every command may print ("semsearch: embedding with ...")."""
    return [line for line in stderr.splitlines() if not line.startswith("semsearch: ")]
