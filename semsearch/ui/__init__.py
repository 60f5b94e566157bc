"""`semsearch ui`: a local search page over one index, read-only, safe by default.

Binds 127.0.0.1 unless told otherwise, refuses foreign Host headers (DNS rebinding), opens
files only by their id in the index, escapes every text and forbids inline script.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765
DEFAULT_THREADS = 1


def listen(host: str, port: int) -> socket.socket:
    """A listening socket (port 0 picks a free one), bound before the page is announced."""
    from semsearch.errors import SemsearchError

    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
        family, kind, proto, _, address = infos[0]
        sock = socket.socket(family, kind, proto)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(128)
    except OSError as e:
        hint = f"; try another --port, e.g. --port {port + 1}" if e.errno == 98 else ""
        raise SemsearchError(f"cannot listen on {host}:{port}: {e.strerror or e}{hint}") from None
    sock.set_inheritable(True)
    return sock


def page_url(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}/"


def run_ui(
    index: str | os.PathLike | None,
    *,
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    model: str | None = None,
    embedder: str | None = None,
    open_browser: bool = False,
    threads: int | None = DEFAULT_THREADS,
    say: Callable[[str], None] = print,
) -> None:
    """Serve the search page until SIGINT/SIGTERM.

    threads: CPU threads per query for the in-process model and the vector search. The page
    answers one short query at a time, which one thread handles; on a busy machine more threads
    mostly wait for each other (no benchmark row compares thread counts). None keeps the defaults.
    """
    import uvicorn

    from semsearch.serve.hostcheck import is_loopback_bind
    from semsearch.ui.app import create_app
    from semsearch.ui.reader import IndexReader

    if threads:
        os.environ["SEMSEARCH_THREADS"] = str(threads)  # read when the in-process model loads
    reader = IndexReader(index, embedder=embedder, model=model, threads=threads)
    try:
        sock = listen(host, port)  # a port in use fails now, not after the model has loaded
        url = page_url(sock)
        if not is_loopback_bind(host):
            say(f"warning: listening on {host}: other machines can reach the page and read every indexed file")
        description = reader.warm_up()
        if description:
            say(f"embedding with {description}")

        def ready() -> None:
            say(f"search page at {url} (Ctrl+C stops it)")
            if open_browser:
                import webbrowser

                webbrowser.open(url)

        app = create_app(reader, bind_host=host, on_ready=ready)
        config = uvicorn.Config(app, log_level="warning", access_log=False, timeout_graceful_shutdown=5)
        uvicorn.Server(config).run(sockets=[sock])
    finally:
        reader.close()
