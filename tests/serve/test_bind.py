"""`semsearch serve` reads its bind address from OLLAMA_HOST the way `ollama serve` does."""

from __future__ import annotations

import pytest
import requests

from semsearch.serve import parse_bind
from tests.conftest import free_port, server_process


@pytest.mark.parametrize(
    "value, expected",
    [
        ("", ("127.0.0.1", 11434)),
        ("0.0.0.0", ("0.0.0.0", 11434)),
        ("127.0.0.1:8080", ("127.0.0.1", 8080)),
        (":9000", ("127.0.0.1", 9000)),
        ("http://localhost:7000/", ("localhost", 7000)),
        ("[::1]:7001", ("::1", 7001)),
        ("https://example.com", ("example.com", 443)),  # as the client reads it (one parser)
        ("http://example.com", ("example.com", 80)),
    ],
)
def test_bind_forms(value, expected):
    assert parse_bind(value) == expected


def test_serve_listens_where_ollama_host_says():
    port = free_port()
    with server_process(env={"OLLAMA_HOST": f"127.0.0.1:{port}"}, use_port=False) as (url, _):
        assert url == f"http://127.0.0.1:{port}"
        assert requests.get(url).text == "Ollama is running"


def test_a_port_in_use_is_one_line_not_a_traceback():
    import socket
    import subprocess
    import sys

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "semsearch", "serve", "--host", "127.0.0.1", "--port", str(port)],
            capture_output=True,
            text=True,
            timeout=60,
        )
    lines = result.stderr.splitlines()
    assert result.returncode == 3, result.stderr  # uvicorn's exit status for a failed start
    assert lines[0] == f"semsearch: serving the Ollama embedding API on http://127.0.0.1:{port}"
    assert len(lines) == 2 and lines[1].endswith(f"('127.0.0.1', {port}): address already in use"), lines
