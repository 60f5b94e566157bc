"""Refuse requests whose Host is not a local name while listening on loopback (DNS rebinding).

A web page in the user's browser can point its own domain at 127.0.0.1 and then call a
local server; the Host header still names that domain. Ollama refuses such requests with
403 (its allowedHostsMiddleware); `semsearch serve` and `semsearch ui` apply the same rule.
"""

from __future__ import annotations

import ipaddress
import socket

LOCAL_SUFFIXES = (".localhost", ".local", ".internal")


def split_host(header: str) -> str:
    """The host part of a Host header, without port or IPv6 brackets, lower-cased."""
    value = header.strip().lower()
    if value.startswith("["):
        return value[1 : value.find("]")] if "]" in value else value[1:]
    if value.count(":") == 1:
        return value.split(":", 1)[0]
    return value


def is_loopback_bind(bind_host: str) -> bool:
    """Whether a server bound to `bind_host` is reachable only from this machine."""
    host = split_host(bind_host)
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def host_allowed(header: str) -> bool:
    """Ollama's rule: local names, this machine's own name, and local or private IP literals."""
    host = split_host(header)
    if host in ("", "localhost"):
        return True
    if host == socket.gethostname().lower():
        return True
    if host.endswith(LOCAL_SUFFIXES):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return address.is_loopback or address.is_private or address.is_unspecified or address.is_link_local


class HostGuard:
    """ASGI middleware: 403 for a foreign Host header when the server listens on loopback only."""

    def __init__(self, app, bind_host: str):
        self.app = app
        self.enabled = is_loopback_bind(bind_host)

    async def __call__(self, scope, receive, send) -> None:
        if self.enabled and scope["type"] in ("http", "websocket"):
            headers = dict(scope.get("headers") or [])
            host = headers.get(b"host", b"").decode("latin-1")
            if not host_allowed(host):
                await send({"type": "http.response.start", "status": 403, "headers": [(b"content-length", b"0")]})
                await send({"type": "http.response.body", "body": b""})
                return
        await self.app(scope, receive, send)
