"""A client for Ollama's embedding API (`POST /api/embed`), and an Embedder over it.

Works against Ollama itself and against `semsearch serve`. Failures become one
`EmbedderHTTPError` carrying the HTTP status and the server's "error" text; connection
errors and 503s are retried with exponential backoff.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from semsearch.embed.base import Embedder, EmbedResult, check_texts
from semsearch.errors import EmbedderHTTPError

DEFAULT_HOST = "http://127.0.0.1:11434"
DEFAULT_PORT = 11434  # kept for importers; the parser lives in semsearch.embed.host
RETRY_STATUSES = {503}


def parse_host(host: str | None = None) -> str:
    """Base URL from a host spec, read with Ollama's rules (semsearch.embed.host); None reads $OLLAMA_HOST.

    '1.2.3.4' -> http://1.2.3.4:11434, ':1234' -> http://127.0.0.1:1234, 'https://h' -> https://h:443,
    a path is kept, a bare IPv6 address gets brackets. A bad spec is one InvalidHostError line.
    """
    from semsearch.embed.host import parse_ollama_host

    return parse_ollama_host(host, source="OLLAMA_HOST" if host is None else "host").url


@dataclass
class OllamaClient:
    """Talks to an Ollama-compatible server."""

    host: str | None = None
    batch_size: int = 64
    timeout: float = 120.0
    retries: int = 4
    backoff: float = 0.5
    session: object = field(default=None, repr=False)

    def __post_init__(self) -> None:
        import requests

        self.base_url = parse_host(self.host)
        if self.session is None:
            self.session = requests.Session()
        if key := os.environ.get("OLLAMA_API_KEY"):
            self.session.headers["Authorization"] = f"Bearer {key}"

    # -- HTTP -------------------------------------------------------------------------------------

    def request(self, method: str, path: str, payload: dict | None = None, *, timeout: float | None = None) -> dict:
        """One call with retries on refused/dropped connections and 503; errors as EmbedderHTTPError."""
        import requests

        url = self.base_url + path
        for attempt in range(self.retries + 1):
            last = attempt == self.retries
            try:
                response = self.session.request(method, url, json=payload, timeout=timeout or self.timeout)
            except requests.Timeout:
                raise EmbedderHTTPError(f"{url} did not answer within {timeout or self.timeout:g}s", status=0) from None
            except requests.ConnectionError:
                if last:
                    raise EmbedderHTTPError(
                        f"cannot connect to {self.base_url}: is Ollama (or `semsearch serve`) running?", status=0
                    ) from None
            else:
                if response.status_code < 400:
                    try:
                        return response.json()
                    except ValueError:
                        raise EmbedderHTTPError(f"{url} answered with invalid JSON", response.status_code) from None
                if response.status_code not in RETRY_STATUSES or last:
                    status = response.status_code
                    model = (payload or {}).get("model")
                    hint = _HINTS.get(status, "").format(model=model) if model else ""
                    raise EmbedderHTTPError(f"{self.base_url} answered {status}: {_error_text(response)}{hint}", status)
            time.sleep(self.backoff * 2**attempt)
        raise AssertionError("unreachable")

    def is_running(self, timeout: float = 0.3) -> bool:
        """Whether a server answers `GET /` quickly (no retries: this decides a default)."""
        import requests

        try:
            return self.session.get(self.base_url + "/", timeout=timeout).status_code == 200
        except requests.RequestException:
            return False

    def version(self) -> str:
        return self.request("GET", "/api/version").get("version", "")

    def show(self, model: str) -> dict:
        return self.request("POST", "/api/show", {"model": model})

    def embed(
        self,
        texts: Sequence[str],
        model: str,
        *,
        truncate: bool | None = None,
        options: dict | None = None,
        keep_alive: str | int | None = None,
        dimensions: int | None = None,
    ) -> EmbedResult:
        """Embed texts in batches of `batch_size`, keeping their order."""
        import numpy as np

        texts = check_texts(texts)
        started = time.perf_counter_ns()
        vectors: list[list[float]] = []
        tokens = 0
        load = 0
        for start in range(0, len(texts), self.batch_size):
            payload: dict = {"model": model, "input": texts[start : start + self.batch_size]}
            for key, value in (
                ("truncate", truncate),
                ("options", options),
                ("keep_alive", keep_alive),
                ("dimensions", dimensions),
            ):
                if value is not None:
                    payload[key] = value
            reply = self.request("POST", "/api/embed", payload)
            batch = reply.get("embeddings")
            if not isinstance(batch, list) or len(batch) != len(payload["input"]):
                raise EmbedderHTTPError(
                    f"{self.base_url} sent {len(batch or [])} vectors for {len(payload['input'])} inputs", 0
                )
            vectors += batch
            tokens += int(reply.get("prompt_eval_count", 0))
            load += int(reply.get("load_duration", 0))
        array = (
            np.asarray(vectors, dtype=np.float32).reshape(len(vectors), -1) if vectors else np.zeros((0, 0), np.float32)
        )
        result = EmbedResult(array, [], time.perf_counter_ns() - started, load)
        result.token_counts = [tokens]  # the server reports a total, not per input
        return result


# What to do about the errors a user can fix, after the server's own message.
_HINTS = {
    404: " (pull it there with `ollama pull {model}`, or pick a model that server has)",
    501: " ({model} is not an embedding model: use one such as all-minilm or nomic-embed-text)",
}


def _error_text(response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text.strip() or response.reason
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):  # OpenAI-style
        error = error.get("message")
    return str(error or body)


class OllamaEmbedder(Embedder):
    """Embeddings from an Ollama-compatible server, for one model."""

    def __init__(self, host: str | None = None, model: str = "all-minilm", *, batch_size: int = 256, **client_options):
        from semsearch.embed.registry import lookup

        self.client = OllamaClient(host, batch_size=batch_size, **client_options)
        self.model = model
        info = lookup(model)
        self.context_length = info.context_length if info else 512
        self._dimensions = info.dimensions if info else None
        self._tokenizer = None

    @property
    def dimensions(self) -> int:
        if self._dimensions is None:
            self._dimensions = int(self.client.embed(["dimensions probe"], self.model).vectors.shape[1])
        return self._dimensions

    @property
    def description(self) -> str:
        return f"Ollama API at {self.client.base_url} ({self.model})"

    def embed_result(
        self, texts: Sequence[str], *, truncate: bool = True, dimensions: int | None = None
    ) -> EmbedResult:
        result = self.client.embed(texts, self.model, truncate=None if truncate else False, dimensions=dimensions)
        if result.vectors.size:
            self._dimensions = self._dimensions or int(result.vectors.shape[1])
        return result

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        """all-minilm's own tokenizer when that is the model; else an estimate (~4 chars a token).

        The estimate only sizes chunks; the server truncates to its context anyway.
        """
        from semsearch.embed.local import LocalEmbedder, resolve_local_model
        from semsearch.errors import ModelNotFoundError

        if self._tokenizer is None:
            try:
                spec = resolve_local_model(self.model)
                self._tokenizer = LocalEmbedder(spec.name)
            except ModelNotFoundError:
                self._tokenizer = False
        if self._tokenizer:
            return self._tokenizer.count_tokens(texts)
        return [len(t) // 4 + 2 for t in check_texts(texts)]
