"""Refuse requests whose Host is not a local name while listening on loopback (DNS rebinding).

A web page in the user's browser can point its own domain at 127.0.0.1 and then call a
local server; the Host header still names that domain. Ollama refuses such requests with
403 (its allowedHostsMiddleware); `semsearch serve` and `semsearch ui` apply the same rule:

- a server bound to an address that is not loopback (0.0.0.0, a LAN address) checks nothing;
- on loopback, a Host whose host part (port ignored) is an IP literal is allowed when that
  address is loopback, private (10/8, 172.16/12, 192.168/16, fc00::/7), unspecified, or one
  of this machine's own addresses;
- a name is allowed when it is empty, `localhost`, this machine's host name, or ends in
  `.localhost`, `.local` or `.internal`; an OPTIONS request to such a name is answered 204;
- everything else gets 403 with an empty body.

One leniency over Ollama: a bracketed IPv6 literal without a port (`[::1]`) is read as that
address (Ollama's splitter fails on it and refuses it). An IP literal cannot be rebound, so
this opens nothing.

Stdlib only, so any ASGI app (the embedding server, the web UI) can import HostGuard.
"""

from __future__ import annotations

import ipaddress
import logging
import socket

LOCAL_SUFFIXES = (".localhost", ".local", ".internal")

log = logging.getLogger("semsearch.serve")

# Go's netip.Addr.IsPrivate: RFC 1918 and RFC 4193 only (Python's is_private is much wider).
_PRIVATE_NETWORKS = tuple(
    ipaddress.ip_network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7")
)


def split_host(header: str) -> str:
    """The host part of a Host header, without port or IPv6 brackets, lower-cased.

    Splits as Go's net.SplitHostPort does: one colon separates a port; a value with more
    colons and no brackets is kept whole (a bare IPv6 address).
    """
    value = header.strip().lower()
    if value.startswith("["):
        end = value.find("]")
        after = value[end + 1 :] if end >= 0 else "x"
        if end >= 0 and (after == "" or after.startswith(":")):
            return value[1:end]
        return value  # malformed: kept whole, so it matches no rule below
    if value.count(":") == 1:
        return value.split(":", 1)[0]
    return value


def _ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped  # ::ffff:127.0.0.1 is 127.0.0.1, as Go unmaps it
    return address


def is_loopback_bind(bind_host: str) -> bool:
    """Whether a server bound to `bind_host` is reachable only from this machine.

    A name counts when every address it resolves to is loopback (`localhost`, or Debian's
    127.0.1.1 host name); a name that does not resolve is treated as not loopback.
    """
    host = split_host(bind_host)
    if host == "localhost":
        return True
    address = _ip(host)
    if address is not None:
        return address.is_loopback
    try:
        resolved = {info[4][0] for info in socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)}
    except (OSError, UnicodeError):
        return False
    addresses = [_ip(a.split("%", 1)[0]) for a in resolved]
    return bool(addresses) and all(a is not None and a.is_loopback for a in addresses)


def _is_own_address(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """Whether the address belongs to one of this machine's interfaces (Ollama's isLocalIP).

    Binding a socket to an address succeeds only for the machine's own addresses, so a
    bind answers the question without enumerating interfaces.
    """
    if address.is_multicast:
        return False
    family = socket.AF_INET6 if address.version == 6 else socket.AF_INET
    try:
        with socket.socket(family, socket.SOCK_DGRAM) as probe:
            probe.bind((str(address), 0))
        return True
    except OSError:
        return False


def ip_allowed(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if address.is_loopback or address.is_unspecified:
        return True
    if any(address in network for network in _PRIVATE_NETWORKS if network.version == address.version):
        return True
    return _is_own_address(address)


def name_allowed(host: str) -> bool:
    """Ollama's allowedHost: local names and this machine's own name."""
    host = host.lower()
    if host in ("", "localhost"):
        return True
    if host == socket.gethostname().lower():
        return True
    return host.endswith(LOCAL_SUFFIXES)


def host_allowed(header: str) -> bool:
    """Whether a Host header may reach a loopback-bound server (Ollama's rule, see the module doc)."""
    host = split_host(header)
    address = _ip(host)
    if address is not None and ip_allowed(address):
        return True
    return name_allowed(host)


class HostGuard:
    """ASGI middleware: 403 for a foreign Host header when the server listens on loopback only."""

    def __init__(self, app, bind_host: str):
        self.app = app
        self.enabled = is_loopback_bind(bind_host)

    def __getattr__(self, name: str):  # app.state and friends stay reachable through the wrapper
        if name == "app":
            raise AttributeError(name)
        return getattr(self.app, name)

    async def __call__(self, scope, receive, send) -> None:
        if not self.enabled or scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        header = _header(scope, b"host")
        host = split_host(header)
        address = _ip(host)
        if address is not None and ip_allowed(address):
            await self.app(scope, receive, send)
            return
        if name_allowed(host):
            if scope["type"] == "http" and scope.get("method") == "OPTIONS":
                await _empty(send, 204)
                return
            await self.app(scope, receive, send)
            return
        log.warning("refused %s %s: Host %r is not a local name", scope.get("method", "WS"), scope["path"], header)
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008})  # before accept: the handshake gets 403
            return
        await _empty(send, 403)


def _header(scope, name: bytes) -> str:
    for key, value in scope.get("headers") or ():
        if key.lower() == name:
            return value.decode("latin-1")
    return ""


async def _empty(send, status: int) -> None:
    await send({"type": "http.response.start", "status": status, "headers": [(b"content-length", b"0")]})
    await send({"type": "http.response.body", "body": b""})
