"""A loopback `semsearch serve` refuses foreign Host headers and foreign Origins, as Ollama does."""

from __future__ import annotations

import asyncio
import socket

import pytest
import requests

from semsearch.serve.cors import OriginPolicy, allowed_origins
from semsearch.serve.hostcheck import HostGuard, host_allowed, is_loopback_bind
from tests.conftest import running_server

SERVED = [
    "localhost",
    "localhost:11434",
    "LOCALHOST:1",
    "app.localhost",
    "a.b.localhost:8080",
    "127.0.0.1",
    "127.0.0.1:65535",
    "127.8.9.10:80",
    "[::1]",
    "[::1]:8080",
    "::1",
    "printer.local",
    "host.docker.internal:3000",
    "10.1.2.3:80",
    "172.16.0.1",
    "192.168.1.20:11434",
    "[fd00::1]:80",
    "0.0.0.0:11434",
    "[::]",
]
REFUSED = [
    "evil.example",
    "evil.example:11434",
    "localhost.evil.example",
    "evillocalhost",
    "localhost.",
    "8.8.8.8",
    "172.32.0.1",  # outside 172.16/12: Go's IsPrivate says no (Python's is_private is wider)
    "169.254.1.1:80",  # link-local is not private for Ollama
    "[2001:db8::1]:80",  # documentation range: Python calls it private, Go does not
    "[::ffff:8.8.8.8]",
    "127.0.0.1.nip.io",
]


@pytest.mark.parametrize("host", SERVED)
def test_local_hosts_are_served(live_server, host):
    reply = requests.get(live_server + "/api/version", headers={"Host": host})
    assert reply.status_code == 200 and reply.json()["version"]


@pytest.mark.parametrize("host", REFUSED)
def test_foreign_hosts_get_403(live_server, host):
    reply = requests.post(
        live_server + "/api/embed", json={"model": "all-minilm", "input": "hi"}, headers={"Host": host}
    )
    assert reply.status_code == 403 and reply.content == b""


def test_unknown_routes_are_guarded_too(live_server):
    assert requests.get(live_server + "/nothing", headers={"Host": "evil.example"}).status_code == 403
    assert requests.get(live_server + "/nothing").status_code == 404


def test_this_machines_own_name_is_served(live_server):
    reply = requests.get(live_server + "/", headers={"Host": f"{socket.gethostname()}:11434"})
    assert reply.status_code == 200 and reply.text == "Ollama is running"


def test_options_to_a_local_name_is_204(live_server):
    assert requests.options(live_server + "/api/embed", headers={"Host": "localhost"}).status_code == 204
    assert requests.options(live_server + "/api/embed", headers={"Host": "evil.example"}).status_code == 403


def test_rule_matches_the_list():
    assert [h for h in SERVED if not host_allowed(h)] == []
    assert [h for h in REFUSED if host_allowed(h)] == []


def test_only_loopback_binds_are_checked():
    assert is_loopback_bind("127.0.0.1") and is_loopback_bind("::1") and is_loopback_bind("localhost")
    assert not is_loopback_bind("0.0.0.0") and not is_loopback_bind("::") and not is_loopback_bind("192.168.1.5")


def _call(guard: HostGuard, host: str) -> int:
    """Drive the ASGI middleware in-process (no server needs to listen beyond loopback)."""
    statuses = []

    async def send(message):
        if message["type"] == "http.response.start":
            statuses.append(message["status"])

    async def receive():
        return {"type": "http.request", "body": b""}

    scope = {"type": "http", "method": "GET", "path": "/", "headers": [(b"host", host.encode())]}
    asyncio.run(guard(scope, receive, send))
    return statuses[0]


def test_a_guard_on_a_public_bind_lets_every_host_through():
    async def app(scope, receive, send):
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    assert _call(HostGuard(app, "0.0.0.0"), "evil.example") == 200
    assert _call(HostGuard(app, "127.0.0.1"), "evil.example") == 403
    assert _call(HostGuard(app, "127.0.0.1"), "localhost:1") == 200


# -- CORS ---------------------------------------------------------------------------------------


def test_default_origins_are_ollamas():
    origins = allowed_origins("")
    for expected in ["http://localhost", "https://127.0.0.1:*", "http://0.0.0.0:*", "app://*", "file://*",
                     "tauri://*", "vscode-webview://*", "vscode-file://*"]:  # fmt: skip
        assert expected in origins
    policy = OriginPolicy.from_list(origins)
    assert policy.allows("http://localhost:3000") and policy.allows("https://127.0.0.1:8443")
    assert policy.allows("vscode-webview://abc123") and not policy.allows("http://localhost.evil.example")
    assert not policy.allows("https://example.com") and not policy.allows("http://0.0.0.0.evil.example")
    assert OriginPolicy.from_list(allowed_origins("*")).allows("https://anything.example")


def test_browser_from_a_default_origin_gets_cors_headers(live_server):
    reply = requests.get(live_server + "/api/version", headers={"Origin": "http://localhost:5173"})
    assert reply.status_code == 200
    assert reply.headers["Access-Control-Allow-Origin"] == "http://localhost:5173"
    assert "Origin" in reply.headers["Vary"]
    assert "Access-Control-Allow-Origin" not in requests.get(live_server + "/api/version").headers


def test_a_foreign_origin_is_refused(live_server):
    reply = requests.post(
        live_server + "/api/embed",
        json={"model": "all-minilm", "input": "hi"},
        headers={"Origin": "https://evil.example"},
    )
    assert reply.status_code == 403 and "Access-Control-Allow-Origin" not in reply.headers


def test_preflight_from_an_allowed_origin(live_server):
    reply = requests.options(
        live_server + "/api/embed",
        headers={
            "Origin": "app://desktop",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        },  # fmt: skip
    )
    assert reply.status_code == 204
    assert reply.headers["Access-Control-Allow-Origin"] == "app://desktop"
    assert "POST" in reply.headers["Access-Control-Allow-Methods"].split(",")
    assert "Content-Type" in reply.headers["Access-Control-Allow-Headers"].split(",")


def test_ollama_origins_adds_origins():
    with running_server(env={"OLLAMA_ORIGINS": "https://notes.example, chrome-extension://*"}) as url:
        for origin in ["https://notes.example", "chrome-extension://abcdef", "http://127.0.0.1:9999"]:
            reply = requests.get(url + "/api/tags", headers={"Origin": origin})
            assert reply.status_code == 200 and reply.headers["Access-Control-Allow-Origin"] == origin
        assert requests.get(url + "/api/tags", headers={"Origin": "https://other.example"}).status_code == 403
    with running_server(env={"OLLAMA_ORIGINS": "*"}) as url:
        reply = requests.get(url + "/api/tags", headers={"Origin": "https://other.example"})
        assert reply.status_code == 200 and reply.headers["Access-Control-Allow-Origin"] == "*"


def test_a_websocket_from_a_foreign_host_is_closed_before_accept():
    sent, reached = [], []

    async def app(scope, receive, send):
        reached.append(scope["type"])

    async def send(message):
        sent.append(message)

    async def receive():
        return {"type": "websocket.connect"}

    def scope(host: str) -> dict:
        return {"type": "websocket", "path": "/ws", "headers": [(b"host", host.encode())]}

    asyncio.run(HostGuard(app, "127.0.0.1")(scope("evil.example"), receive, send))
    assert sent == [{"type": "websocket.close", "code": 1008}] and reached == []
    asyncio.run(HostGuard(app, "127.0.0.1")(scope("localhost:8000"), receive, send))
    assert reached == ["websocket"]
