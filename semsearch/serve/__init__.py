"""`semsearch serve`: the Ollama embedding API over the embedded models."""

from __future__ import annotations

import logging

DEFAULT_BIND = ("127.0.0.1", 11434)


def parse_bind(value: str | None) -> tuple[str, int]:
    """Bind address from an OLLAMA_HOST value, read by the same parser the client uses.

    host, host:port, :port, [v6]:port or a URL (https://h listens on 443, as `ollama serve` does);
    a bad value raises InvalidHostError, a one-line SemsearchError (and a ValueError).
    """
    from semsearch.embed.host import parse_ollama_host

    parsed = parse_ollama_host(value or "")
    return parsed.host, parsed.port


def run_server(host: str | None, port: int | None, **settings) -> None:
    """Serve until SIGINT/SIGTERM; in-flight requests finish first (uvicorn's graceful shutdown).

    On a loopback bind, requests naming a foreign Host get 403 (DNS rebinding); browsers get CORS
    headers only for the origins Ollama allows (its defaults plus $OLLAMA_ORIGINS).
    """
    import os

    import uvicorn

    from semsearch.serve.app import ServerSettings, create_app
    from semsearch.serve.cors import CORSGuard, allowed_origins
    from semsearch.serve.hostcheck import HostGuard

    bind_host, bind_port = parse_bind(os.environ.get("OLLAMA_HOST"))
    host = host or bind_host
    port = port if port is not None else bind_port
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # Ollama's order: CORS first (a foreign Origin is refused), then the Host check.
    app = CORSGuard(HostGuard(create_app(ServerSettings(**settings)), host), allowed_origins())
    uvicorn.run(
        app,
        host=host,
        port=port,
        log_level="warning",
        access_log=False,  # semsearch writes its own line per request
        timeout_graceful_shutdown=30,
    )
