"""One OLLAMA_HOST parser, with Ollama's rules, for the client and the server alike."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from semsearch.embed.host import InvalidHostError, parse_ollama_host
from semsearch.embed.ollama import parse_host
from semsearch.errors import SemsearchError
from semsearch.serve import parse_bind

SEMSEARCH = str(Path(sys.executable).with_name("semsearch"))


@pytest.mark.parametrize(
    "value, url",
    [
        ("", "http://127.0.0.1:11434"),
        ("  ", "http://127.0.0.1:11434"),
        ('"127.0.0.1:8000"', "http://127.0.0.1:8000"),  # Ollama strips quotes
        ("1.2.3.4", "http://1.2.3.4:11434"),
        ("0.0.0.0", "http://0.0.0.0:11434"),
        (":1234", "http://127.0.0.1:1234"),
        ("example.com", "http://example.com:11434"),
        ("Example.COM:56789", "http://example.com:56789"),
        ("http://example.com", "http://example.com:80"),  # a scheme without a port: the scheme's port
        ("https://example.com", "https://example.com:443"),
        ("HTTPS://example.com:8443", "https://example.com:8443"),
        ("http://example.com/path/", "http://example.com:80/path"),
        ("example.com:8080/a/b/", "http://example.com:8080/a/b"),
        ("ollama.com", "https://ollama.com:443"),
        ("::1", "http://[::1]:11434"),
        ("[::1]", "http://[::1]:11434"),
        ("[::1]:8080", "http://[::1]:8080"),
        ("https://[2001:db8::1]", "https://[2001:db8::1]:443"),
        ("host:", "http://host:11434"),
        ("127.0.0.1:0", "http://127.0.0.1:0"),
        ("127.0.0.1:65535", "http://127.0.0.1:65535"),
    ],
)
def test_forms_follow_ollamas_rules(value, url):
    assert parse_ollama_host(value).url == url
    assert parse_host(value) == url


@pytest.mark.parametrize(
    "value, problem",
    [
        ("host:abc", "port 'abc' is not a number from 0 to 65535"),
        ("host:65536", "port '65536' is not a number from 0 to 65535"),
        ("host:-1", "port '-1' is not a number from 0 to 65535"),
        ("http://host:８０", "port '８０' is not a number from 0 to 65535"),
        ("ftp://host", "scheme 'ftp' is not http or https"),
        ("[::1", "missing ']' after an IPv6 address"),
        ("[::1]x", "unexpected 'x' after ']'"),
        ("a:b:c", "'a:b:c' is not an IPv6 address (a port needs a single ':')"),
        ("bad host", "'bad host' is not a host name"),
    ],
)
def test_bad_values_are_one_clear_error(value, problem):
    with pytest.raises(InvalidHostError) as info:
        parse_ollama_host(value)
    assert str(info.value) == f"invalid OLLAMA_HOST {value!r}: {problem}"
    assert isinstance(info.value, SemsearchError) and isinstance(info.value, ValueError)


@pytest.mark.parametrize(
    "value", ["", "0.0.0.0", ":9000", "https://h", "http://h", "h:81/x", "[::1]:7001", "::1", "ollama.com"]
)
def test_server_and_client_read_the_same_host_and_port(value):
    client = urlsplit(parse_host(value))
    assert parse_bind(value) == (client.hostname, client.port)


def test_environment_is_read_when_no_value_is_given(monkeypatch):
    monkeypatch.setenv("OLLAMA_HOST", "https://h")
    assert parse_host() == "https://h:443"
    assert parse_bind(os.environ["OLLAMA_HOST"]) == ("h", 443)


def _run(*args: str, host: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "SEMSEARCH_EMBEDDER"}
    return subprocess.run(
        [SEMSEARCH, *args], capture_output=True, text=True, env={**env, "OLLAMA_HOST": host}, timeout=60
    )


@pytest.mark.parametrize("command", [["embed", "hi"], ["serve"]])
def test_bad_ollama_host_is_one_line_through_the_console_script(command):
    result = _run(*command, host="host:abc")
    assert result.returncode == 1
    assert result.stderr == "Error: invalid OLLAMA_HOST 'host:abc': port 'abc' is not a number from 0 to 65535\n"
    assert result.stdout == ""
