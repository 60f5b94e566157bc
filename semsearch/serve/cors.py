"""CORS as Ollama answers it: which web pages may call the local server from a browser.

Ollama allows its own defaults (http(s)://localhost, 127.0.0.1 and 0.0.0.0 on any port, and
the app://, file://, tauri://, vscode-webview://, vscode-file:// schemes) plus the comma-
separated entries of $OLLAMA_ORIGINS, where `*` is a wildcard (`chrome-extension://*`) and
a lone `*` allows every origin. It behaves like gin-contrib/cors, which Ollama uses:

- no Origin header, or an Origin naming this very server (http(s)://<Host>): not CORS, passed on;
- an Origin not allowed: 403 with an empty body, before anything else runs;
- OPTIONS from an allowed Origin: a 204 preflight answer (methods, headers, max-age 12 h);
- any other request from an allowed Origin: served, with Access-Control-Allow-Origin set.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

DEFAULT_HOSTS = ("localhost", "127.0.0.1", "0.0.0.0")
APP_SCHEMES = ("app", "file", "tauri", "vscode-webview", "vscode-file")
ALLOW_METHODS = "GET,POST,PUT,PATCH,DELETE,HEAD,OPTIONS"
ALLOW_HEADERS = ",".join(
    [
        "Authorization",
        "Content-Type",
        "User-Agent",
        "Accept",
        "X-Requested-With",
        # what the OpenAI SDKs send
        "x-stainless-lang",
        "x-stainless-package-version",
        "x-stainless-os",
        "x-stainless-arch",
        "x-stainless-retry-count",
        "x-stainless-runtime",
        "x-stainless-runtime-version",
        "x-stainless-async",
        "x-stainless-helper-method",
        "x-stainless-poll-helper",
        "x-stainless-custom-poll-interval",
        "x-stainless-timeout",
    ]
)
MAX_AGE_SECONDS = 12 * 3600


def allowed_origins(env_value: str | None = None) -> list[str]:
    """$OLLAMA_ORIGINS entries (or `env_value`), then Ollama's defaults."""
    value = os.environ.get("OLLAMA_ORIGINS", "") if env_value is None else env_value
    value = value.strip().strip("\"'")
    origins = [o.strip() for o in value.split(",") if o.strip()] if value else []
    for host in DEFAULT_HOSTS:
        for scheme in ("http", "https"):
            origins += [f"{scheme}://{host}", f"{scheme}://{host}:*"]
    origins += [f"{scheme}://*" for scheme in APP_SCHEMES]
    return origins


@dataclass(frozen=True)
class OriginPolicy:
    """Exact origins, one-star wildcards (prefix*suffix), or everything (`*`)."""

    exact: frozenset[str]
    wildcards: tuple[tuple[str, str], ...]
    allow_all: bool = False

    @classmethod
    def from_list(cls, origins: list[str]) -> OriginPolicy:
        exact, wildcards, allow_all = set(), [], False
        for origin in (o.lower() for o in origins):
            if origin == "*":
                allow_all = True
            elif "*" in origin:
                prefix, _, suffix = origin.partition("*")
                wildcards.append((prefix, suffix))
            else:
                exact.add(origin)
        return cls(frozenset(exact), tuple(wildcards), allow_all)

    def allows(self, origin: str) -> bool:
        origin = origin.lower()
        if self.allow_all or origin in self.exact:
            return True
        return any(
            origin.startswith(prefix) and origin.endswith(suffix) and len(origin) >= len(prefix) + len(suffix)
            for prefix, suffix in self.wildcards
        )


class CORSGuard:
    """ASGI middleware applying an OriginPolicy the way Ollama's CORS layer does."""

    def __init__(self, app, origins: list[str] | None = None):
        self.app = app
        self.policy = OriginPolicy.from_list(allowed_origins() if origins is None else origins)

    def __getattr__(self, name: str):  # app.state and friends stay reachable through the wrapper
        if name == "app":
            raise AttributeError(name)
        return getattr(self.app, name)

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.lower(): v.decode("latin-1") for k, v in scope.get("headers") or ()}
        origin = headers.get(b"origin", "")
        host = headers.get(b"host", "")
        if not origin or origin in (f"http://{host}", f"https://{host}"):
            await self.app(scope, receive, send)
            return
        if not self.policy.allows(origin):
            await _reply(send, 403, [])
            return
        allow_origin = b"*" if self.policy.allow_all else origin.encode("latin-1")
        if scope.get("method") == "OPTIONS":
            await _reply(
                send,
                204,
                [
                    (b"access-control-allow-origin", allow_origin),
                    (b"access-control-allow-methods", ALLOW_METHODS.encode()),
                    (b"access-control-allow-headers", ALLOW_HEADERS.encode()),
                    (b"access-control-max-age", str(MAX_AGE_SECONDS).encode()),
                    (b"vary", b"Origin, Access-Control-Request-Method, Access-Control-Request-Headers"),
                ],
            )
            return

        async def send_with_cors(message) -> None:
            if message["type"] == "http.response.start":
                extra = [(b"access-control-allow-origin", allow_origin), (b"vary", b"Origin")]
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        await self.app(scope, receive, send_with_cors)


async def _reply(send, status: int, headers: list[tuple[bytes, bytes]]) -> None:
    await send({"type": "http.response.start", "status": status, "headers": [*headers, (b"content-length", b"0")]})
    await send({"type": "http.response.body", "body": b""})
