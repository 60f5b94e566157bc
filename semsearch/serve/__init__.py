"""`semsearch serve`: the Ollama embedding API over the embedded models."""

from __future__ import annotations

import logging
import os

DEFAULT_BIND = ("127.0.0.1", 11434)


def parse_bind(value: str | None) -> tuple[str, int]:
    """Read a bind address as `ollama serve` reads OLLAMA_HOST: host, host:port, :port, or a URL."""
    value = (value or "").strip()
    if not value:
        return DEFAULT_BIND
    if "://" in value:
        value = value.split("://", 1)[1]
    value = value.split("/", 1)[0]
    host, port = value, DEFAULT_BIND[1]
    if value.startswith("["):  # [::1]:8080
        host, _, rest = value[1:].partition("]")
        if rest.startswith(":") and rest[1:].isdigit():
            port = int(rest[1:])
    elif value.count(":") == 1:
        host, _, port_text = value.partition(":")
        if not port_text.isdigit():
            raise ValueError(f"invalid port in {value!r}")
        port = int(port_text)
    return host or DEFAULT_BIND[0], port


def run_server(host: str | None, port: int | None, **settings) -> None:
    """Serve until SIGINT/SIGTERM; in-flight requests finish first (uvicorn's graceful shutdown)."""
    import uvicorn

    from semsearch.serve.app import ServerSettings, create_app

    bind_host, bind_port = parse_bind(os.environ.get("OLLAMA_HOST"))
    host = host or bind_host
    port = port if port is not None else bind_port
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    app = create_app(ServerSettings(**settings))
    uvicorn.run(
        app,
        host=host,
        port=port,
        log_level="warning",
        access_log=False,  # semsearch writes its own line per request
        timeout_graceful_shutdown=30,
    )
