"""OLLAMA_HOST, read one way for the client and the server, with Ollama's rules.

Ollama (envconfig.Host) and its Python client read the variable alike:
- no scheme: http, port 11434 (`1.2.3.4` -> http://1.2.3.4:11434); `ollama.com` alone is https:443;
- a scheme without a port: http -> 80, https -> 443;
- `:1234` -> port 1234 on 127.0.0.1; a bare or bracketed IPv6 address is kept (`::1`, `[::1]:8080`);
- a path is kept (a reverse proxy's prefix); surrounding spaces and quotes are ignored.

Departures, on purpose: a port that is not a number from 0 to 65535 is an error (Ollama logs a
warning and silently uses the default port, so a typo talks to another server), and so is a
scheme other than http/https. Both are `InvalidHostError`, a one-line `SemsearchError`.

Import-light (stdlib only): the server, the client and the CLI all use it before heavy imports.
"""

from __future__ import annotations

import ipaddress
import os
import re
from dataclasses import dataclass

from semsearch.errors import SemsearchError

DEFAULT_SCHEME = "http"
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 11434
SCHEME_PORTS = {"http": 80, "https": 443}
_HOST_NAME = re.compile(r"^[A-Za-z0-9_]([A-Za-z0-9_.-]*[A-Za-z0-9_.])?$")


class InvalidHostError(SemsearchError, ValueError):
    """OLLAMA_HOST (or a host given on the command line) cannot be read."""

    status = 400


@dataclass(frozen=True)
class OllamaHost:
    scheme: str
    host: str  # an IPv6 address without brackets
    port: int
    path: str = ""  # "" or "/prefix", never a trailing slash

    @property
    def netloc(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.netloc}{self.path}"


def parse_ollama_host(value: str | None = None, *, source: str = "OLLAMA_HOST") -> OllamaHost:
    """Read a host spec; None reads $OLLAMA_HOST. `source` names the setting in error messages."""
    if value is None:
        value = os.environ.get("OLLAMA_HOST", "")
    text = value.strip().strip("\"'").strip()
    if not text:
        return OllamaHost(DEFAULT_SCHEME, DEFAULT_HOST, DEFAULT_PORT)

    def fail(problem: str) -> InvalidHostError:
        return InvalidHostError(f"invalid {source} {value!r}: {problem}")

    scheme, sep, rest = text.partition("://")
    if sep:
        scheme = scheme.lower()
        if scheme not in SCHEME_PORTS:
            raise fail(f"scheme {scheme!r} is not http or https")
        default_port = SCHEME_PORTS[scheme]
    elif text.lower() == "ollama.com":
        scheme, rest, default_port = "https", text, 443
    else:
        scheme, rest, default_port = DEFAULT_SCHEME, text, DEFAULT_PORT

    hostport, slash, path = rest.partition("/")
    path = "/" + path.strip("/") if slash and path.strip("/") else ""
    host, port_text = _split_host_port(hostport, fail)
    host = _check_host(host, fail) if host else DEFAULT_HOST
    if not port_text:
        port = default_port
    elif port_text.isascii() and port_text.isdigit() and int(port_text) <= 65535:
        port = int(port_text)
    else:
        raise fail(f"port {port_text!r} is not a number from 0 to 65535")
    return OllamaHost(scheme, host, port, path)


def _split_host_port(hostport: str, fail) -> tuple[str, str]:
    """Host and port text, as Go's net.SplitHostPort splits them (a missing port is '')."""
    if hostport.startswith("["):
        end = hostport.find("]")
        if end < 0:
            raise fail("missing ']' after an IPv6 address")
        host, after = hostport[1:end], hostport[end + 1 :]
        if after and not after.startswith(":"):
            raise fail(f"unexpected {after!r} after ']'")
        return host, after[1:]
    if hostport.count(":") == 1:
        host, _, port = hostport.partition(":")
        return host, port
    return hostport, ""  # a name, an IPv4 address, or a bare IPv6 address (many colons)


def _check_host(host: str, fail) -> str:
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        pass
    if ":" in host:
        raise fail(f"{host!r} is not an IPv6 address (a port needs a single ':')")
    if not _HOST_NAME.match(host) or len(host) > 253:
        raise fail(f"{host!r} is not a host name")
    return host.lower()
