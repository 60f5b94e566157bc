"""A scripted stand-in for Ollama, only for what a real server cannot do on demand:
answer 503, drop the connection, reply slowly, or refuse a model that cannot embed (501:
every model semsearch serves embeds). It speaks the /api/embed wire format."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class FakeOllama:
    def __init__(self, script: list[str], dims: int = 4):
        """script: one action per request, in order ("ok", "503", "drop", "slow", "500", "501"); then "ok"."""
        self.script = list(script)
        self.dims = dims
        self.requests: list[dict] = []

    def next_action(self) -> str:
        return self.script.pop(0) if self.script else "ok"

    def reply(self, body: dict) -> dict:
        inputs = body.get("input") or []
        inputs = [inputs] if isinstance(inputs, str) else inputs
        vectors = [[float(len(text)), 1.0] + [0.0] * (self.dims - 2) for text in inputs]
        return {"model": body.get("model"), "embeddings": vectors, "prompt_eval_count": len(inputs)}


@contextmanager
def fake_ollama(script: list[str], dims: int = 4) -> Iterator[tuple[str, FakeOllama]]:
    fake = FakeOllama(script, dims)

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args) -> None:
            pass

        def do_GET(self) -> None:
            self._send(200, b"Ollama is running", "text/plain")

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
            fake.requests.append(body)
            action = fake.next_action()
            if action == "drop":
                self.connection.close()  # no status line at all
                return
            if action == "slow":
                time.sleep(2)
            if action == "503":
                error = {"error": "server busy, please try again.  maximum pending requests exceeded"}
                self._send(503, json.dumps(error).encode())
            elif action == "501":  # a chat model asked to embed: semsearch serve hosts none
                self._send(501, json.dumps({"error": "this model does not support embeddings"}).encode())
            elif action == "500":
                self._send(500, json.dumps({"error": "llama runner process has terminated"}).encode())
            else:
                self._send(200, json.dumps(fake.reply(body)).encode())

        def _send(self, status: int, data: bytes, kind: str = "application/json") -> None:
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", fake
    finally:
        server.shutdown()
        server.server_close()
