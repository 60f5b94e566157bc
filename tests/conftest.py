"""Shared fixtures: a real `semsearch serve` subprocess on a free loopback port."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import requests


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def running_server(*args: str, env: dict | None = None) -> Iterator[str]:
    """Start `python -m semsearch serve` with extra CLI args; yield its base URL; stop it with SIGTERM."""
    with server_process(*args, env=env) as (url, _):
        yield url


@contextmanager
def server_process(
    *args: str, env: dict | None = None, use_port: bool = True
) -> Iterator[tuple[str, subprocess.Popen]]:
    """Like running_server, but also yields the process (for signal tests).

    use_port=False leaves host and port to OLLAMA_HOST in `env`. The server's output (one access-log
    line a request) goes to a file, never a pipe nobody reads, which would block the server when full;
    `server_output(process)` reads it.
    """
    if use_port:
        port = free_port()
        args = ("--host", "127.0.0.1", "--port", str(port), *args)
    else:
        from semsearch.serve import parse_bind

        port = parse_bind((env or {}).get("OLLAMA_HOST"))[1]
    command = [sys.executable, "-m", "semsearch", "serve", *args]
    log = tempfile.TemporaryFile("w+")  # noqa: SIM115 - closed when the server is stopped, below
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})})
    process.log = log
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"semsearch serve exited early:\n{server_output(process)}")
            try:
                if requests.get(url + "/", timeout=1).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("semsearch serve did not start within 60 s")
            time.sleep(0.1)
        yield url, process
    finally:
        stop(process)
        log.close()


def server_output(process: subprocess.Popen) -> str:
    """Everything a server from server_process has printed so far."""
    process.log.flush()
    process.log.seek(0)
    return process.log.read()


def stop(process: subprocess.Popen) -> None:
    """SIGTERM a server we started, as a user's Ctrl-C would; SIGKILL it if it is still up after 20 s."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@pytest.fixture(scope="session")
def live_server() -> Iterator[str]:
    """One real server for the whole session (base URL like http://127.0.0.1:54321)."""
    with running_server() as url:
        yield url
