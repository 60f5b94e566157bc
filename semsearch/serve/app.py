"""The Ollama embedding API, served by semsearch with its embedded models.

Routes, request validation and error wording follow ../shared/reference/ollama-embed-api.md
(Ollama's own behaviour), so the official `ollama` client and OpenAI-style clients work
unchanged. Model work goes through the Batcher, so concurrent requests share the model.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import json
import logging
import re
import time
from concurrent.futures import Future
from dataclasses import dataclass

import numpy as np
from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from semsearch import __version__
from semsearch.embed.base import cut_dimensions, normalize
from semsearch.embed.local import LOCAL_MODELS, resolve_local_model
from semsearch.errors import InvalidInputError, ModelNotFoundError, SemsearchError, ServerBusyError
from semsearch.serve.batcher import Batcher
from semsearch.serve.models import ModelManager, expires_iso, parse_keep_alive

log = logging.getLogger("semsearch.serve")

OLLAMA_API_VERSION = "0.12.0"  # the Ollama release whose embedding API this mirrors
MAX_BODY_BYTES = 32 * 1024 * 1024
INLINE_TOKENIZE_CHARS = 20_000
INLINE_PARSE_BYTES = 1_000_000  # larger bodies are parsed on a thread, off the event loop
_SURROGATES = re.compile("[\ud800-\udfff]")


@dataclass
class ServerSettings:
    max_pending: int = 512  # Ollama's OLLAMA_MAX_QUEUE default
    max_batch_requests: int = 64
    max_batch_inputs: int = 256
    max_wait_ms: float = 0.0
    max_body_bytes: int = MAX_BODY_BYTES
    threads: int | None = None
    device: str = "cpu"  # "cuda": the model on ONNX Runtime's CUDA provider (semsearch[gpu])
    max_inputs: int = 2048  # inputs in one request (413 above)
    max_queued_tokens: int = 1 << 20  # tokens waiting for the model, all requests together (503 above)
    max_inflight_bytes: int = 256 * 1024 * 1024  # request bodies held in memory at once (503 above)


class _ByteBudget:
    """Bytes of request bodies held at once: 512 pending requests of 32 MB must not all fit."""

    def __init__(self, limit: int):
        self.limit = limit
        self.used = 0

    def take(self, request: Request, amount: int) -> None:
        """Count `amount` more bytes against this request (released by `give_back`), or 503."""
        if self.used + amount > self.limit:
            raise ServerBusyError(
                "server busy, please try again.  maximum pending requests exceeded "
                f"(request bodies in memory would pass {self.limit} bytes)"
            )
        self.used += amount  # the event loop is single-threaded: no lock needed
        request.state.held_bytes = getattr(request.state, "held_bytes", 0) + amount

    def give_back(self, state: dict) -> None:
        """At the end of a request (its scope's state): its bytes are free again."""
        self.used -= state.pop("held_bytes", 0)


class _Body:
    """Ollama's body errors: missing body, invalid JSON, body too large; bytes counted in a budget."""

    @staticmethod
    async def read(request: Request, limit: int, budget: _ByteBudget) -> dict:
        too_large = SemsearchError(f"request body too large (over {limit} bytes)", status=413)
        length = request.headers.get("content-length")
        if length and length.isdigit() and int(length) > limit:
            raise too_large
        raw = bytearray()  # amortized appends: no quadratic copying of `bytes +=`
        try:
            async for piece in request.stream():
                if len(raw) + len(piece) > limit:
                    raise too_large
                budget.take(request, len(piece))
                raw += piece
        except ClientDisconnect:
            raise SemsearchError("request canceled", status=499) from None  # Ollama's status for it
        if not raw.strip():
            raise InvalidInputError("missing request body")
        if len(raw) < INLINE_PARSE_BYTES:
            body = _parse_json(raw)
        else:
            body = await asyncio.to_thread(_parse_json, raw)
        if not isinstance(body, dict):
            raise InvalidInputError("request body must be a JSON object")
        return body


async def _unless_client_left(request: Request, job: Future) -> np.ndarray:
    """The batcher's answer, unless the client leaves first: then its job is cancelled (dropped if the model
    has not started it) and the request ends as Ollama's 499, "request canceled"."""
    waiter = asyncio.wrap_future(job)
    gone = asyncio.ensure_future(_client_left(request))
    try:
        await asyncio.wait((waiter, gone), return_when=asyncio.FIRST_COMPLETED)
    finally:
        gone.cancel()
        if not waiter.done():
            waiter.cancel()  # cancels the batcher's job too
    if waiter.cancelled():
        raise SemsearchError("request canceled", status=499)
    return waiter.result()


async def _client_left(request: Request) -> None:
    """Returns when the client disconnects (the body was read: receive() now only reports that)."""
    while (await request.receive())["type"] != "http.disconnect":
        pass


def _reject_constant(name: str) -> None:
    raise ValueError(f"invalid JSON value {name}")  # NaN and Infinity are not JSON (Go refuses them too)


def _parse_json(raw: bytes | bytearray) -> object:
    try:
        return json.loads(raw, parse_constant=_reject_constant)  # bytearray is fine: no copy
    except RecursionError:
        raise InvalidInputError("invalid JSON: nested too deeply") from None
    except ValueError as e:  # JSONDecodeError, UnicodeDecodeError, too many digits
        raise InvalidInputError(str(e)) from None


def create_app(settings: ServerSettings | None = None) -> Starlette:
    settings = settings or ServerSettings()
    models = ModelManager(threads=settings.threads, device=settings.device)
    batcher = Batcher(
        max_pending=settings.max_pending,
        max_batch_requests=settings.max_batch_requests,
        max_batch_inputs=settings.max_batch_inputs,
        max_wait_ms=settings.max_wait_ms,
        max_pending_tokens=settings.max_queued_tokens,
    )
    budget = _ByteBudget(max(settings.max_inflight_bytes, settings.max_body_bytes))  # one body always fits
    long_tokenizations = asyncio.Semaphore(1)

    async def read_body(request: Request) -> dict:
        return await _Body.read(request, settings.max_body_bytes, budget)

    def check_count(texts: list[str]) -> list[str]:
        if len(texts) > settings.max_inputs:
            raise SemsearchError(
                f"too many inputs: {len(texts)} in one request, this server takes at most {settings.max_inputs} "
                "(send them in several requests)",
                status=413,
            )
        return texts

    async def embed_texts(
        request: Request, model: str, texts: list[str], *, truncate: bool, options: object, keep_alive: object
    ):
        """Shared core of the three embedding routes: (pooled vectors, token counts, load ns)."""
        started = time.perf_counter_ns()
        keep = parse_keep_alive(keep_alive)
        num_ctx = _num_ctx(options)
        # Loading takes a while and long inputs take a while to tokenize: those go to a thread.
        # The common case (model loaded, short inputs) stays on the event loop.
        acquired = models.acquire_loaded(model)
        entry, load_ns = acquired if acquired else await asyncio.to_thread(models.acquire, model)
        # Ollama's load_duration is the time until the model was ready, loaded now or not.
        load_ns = max(load_ns, time.perf_counter_ns() - started, 1)
        try:
            if not texts:
                return np.zeros((0, entry.embedder.dimensions), np.float32), [], load_ns
            try:
                if sum(map(len, texts)) < INLINE_TOKENIZE_CHARS:
                    ids = entry.embedder.prepare(texts, truncate=truncate, num_ctx=num_ctx)
                else:  # one long tokenization at a time: they only compete for the same cores and memory
                    async with long_tokenizations:
                        ids = await asyncio.to_thread(entry.embedder.prepare, texts, truncate=truncate, num_ctx=num_ctx)
                vectors = await _unless_client_left(request, batcher.submit(entry.embedder, ids))
            except SemsearchError:
                raise
            except Exception as e:  # the model could not embed this input: Ollama answers 400
                log.warning("embedding failed: %s: %s", type(e).__name__, e)
                raise InvalidInputError(f"failed to generate embeddings: {type(e).__name__}: {e}") from None
            return vectors, [len(x) for x in ids], load_ns
        finally:
            models.release(entry, keep)

    async def api_embed(request: Request) -> Response:
        started = time.perf_counter_ns()
        body = await read_body(request)
        model = _model_name(body)
        texts = check_count(_input_list(body.get("input")))
        truncate = body.get("truncate")
        if truncate is None:  # absent or null: Ollama truncates
            truncate = True
        if not isinstance(truncate, bool):
            raise InvalidInputError("truncate must be true or false")
        dimensions = _dimensions(body.get("dimensions"))
        vectors, counts, load_ns = await embed_texts(
            request, model, texts, truncate=truncate, options=body.get("options"), keep_alive=body.get("keep_alive")
        )
        request.state.inputs, request.state.tokens = len(texts), sum(counts)
        reply: dict = {"model": model, "embeddings": []}
        if texts:
            reply["embeddings"] = cut_dimensions(normalize(vectors), dimensions).tolist()
            reply["total_duration"] = time.perf_counter_ns() - started
            reply["prompt_eval_count"] = sum(counts)
        if load_ns:
            reply["load_duration"] = load_ns
        return _json(reply)

    async def api_embeddings(request: Request) -> Response:
        """Legacy: one prompt, one vector, not normalized."""
        body = await read_body(request)
        model = body.get("model")
        if not model:
            raise InvalidInputError("model is required")
        if not isinstance(model, str):
            raise InvalidInputError("model must be a string")
        prompt = body.get("prompt")
        if prompt is None:
            prompt = ""
        if not isinstance(prompt, str):
            raise InvalidInputError("prompt must be a string")
        prompt = _clean(prompt)
        vectors, counts, _ = await embed_texts(
            request,
            _clean(model),
            [prompt] if prompt else [],
            truncate=True,
            options=body.get("options"),
            keep_alive=body.get("keep_alive"),
        )
        request.state.inputs, request.state.tokens = (1 if prompt else 0), sum(counts)
        return _json({"embedding": vectors[0].tolist() if prompt else []})

    async def openai_embeddings(request: Request) -> Response:
        body = await read_body(request)
        model = body.get("model")
        if not model:
            raise InvalidInputError("model is required")
        if not isinstance(model, str):
            raise InvalidInputError("model must be a string")
        model = _clean(model)
        raw = body.get("input")
        if raw == "":
            raw = [""]
        if raw is None or raw == []:
            raise InvalidInputError("invalid input")
        texts = check_count(_input_list(raw))
        encoding = body.get("encoding_format")
        if encoding is None or encoding == "":
            encoding = "float"
        if encoding not in ("float", "base64"):
            raise InvalidInputError("invalid encoding_format: use 'float' or 'base64'")
        dimensions = _dimensions(body.get("dimensions"))
        vectors, counts, _ = await embed_texts(request, model, texts, truncate=True, options=None, keep_alive=None)
        vectors = cut_dimensions(normalize(vectors), dimensions)
        request.state.inputs, request.state.tokens = len(texts), sum(counts)
        data = [
            {
                "object": "embedding",
                "embedding": base64.b64encode(v.astype("<f4").tobytes()).decode()
                if encoding == "base64"
                else v.tolist(),
                "index": i,
            }
            for i, v in enumerate(vectors)
        ]
        usage = {"prompt_tokens": sum(counts), "total_tokens": sum(counts)}
        return _json({"object": "list", "data": data, "model": model, "usage": usage})

    async def root(request: Request) -> Response:
        return PlainTextResponse("Ollama is running")

    async def version(request: Request) -> Response:
        return JSONResponse({"version": OLLAMA_API_VERSION, "semsearch": __version__})

    async def tags(request: Request) -> Response:
        return JSONResponse({"models": [_model_card(name) for name in LOCAL_MODELS]})

    async def show(request: Request) -> Response:
        body = await read_body(request)
        name = body.get("model") or body.get("name")
        if not name:
            raise InvalidInputError("model is required")
        if not isinstance(name, str):
            raise InvalidInputError("model must be a string")
        name = _clean(name)
        try:
            spec = resolve_local_model(name)
        except ModelNotFoundError:
            raise SemsearchError(f"model '{name}' not found", status=404) from None
        card = _model_card(spec.name)
        return JSONResponse(
            {
                "modelfile": f"FROM {spec.name}",
                "parameters": f"num_ctx {spec.context_length}",
                "details": card["details"],
                "model_info": {
                    "general.architecture": "bert",
                    "bert.embedding_length": spec.dimensions,
                    "bert.context_length": spec.max_positions,
                    "bert.pooling_type": 1,
                },
                "capabilities": ["embedding"],
                "modified_at": card["modified_at"],
            }
        )

    async def ps(request: Request) -> Response:
        running = []
        for entry in models.loaded():
            card = _model_card(entry.name)
            running.append(
                {
                    "name": card["name"],
                    "model": card["model"],
                    "size": card["size"],
                    "digest": card["digest"],
                    "details": card["details"],
                    "expires_at": expires_iso(entry.expires_at),
                    "size_vram": 0,
                    "context_length": entry.embedder.context_length,
                }
            )
        return JSONResponse({"models": running})

    routes = [
        Route("/", root, methods=["GET", "HEAD"]),
        Route("/api/version", version, methods=["GET"]),
        Route("/api/tags", tags, methods=["GET"]),
        Route("/api/ps", ps, methods=["GET"]),
        Route("/api/show", show, methods=["POST"]),
        Route("/api/embed", api_embed, methods=["POST"]),
        Route("/api/embeddings", api_embeddings, methods=["POST"]),
        Route("/v1/embeddings", openai_embeddings, methods=["POST"]),
    ]

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette):
        yield
        batcher.close()
        models.close()

    async def semsearch_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, SemsearchError)
        return _error_response(request.url.path, exc.status, str(exc))

    async def internal_error(request: Request, exc: Exception) -> Response:
        log.exception("internal error on %s", request.url.path, exc_info=exc)
        return _error_response(request.url.path, 500, f"internal error: {type(exc).__name__}")

    app = Starlette(
        routes=routes,
        lifespan=lifespan,
        exception_handlers={SemsearchError: semsearch_error, Exception: internal_error},
    )
    app.state.models = models
    app.state.batcher = batcher
    app.state.budget = budget
    return _ErrorsAndAccessLog(app)


def _model_name(body: dict) -> str:
    model = body.get("model")
    if not model:
        raise ModelNotFoundError("")
    if not isinstance(model, str):
        raise InvalidInputError("model must be a string")
    return _clean(model)


def _input_list(value: object) -> list[str]:
    if value is None or value == "":
        return []
    if isinstance(value, str):
        return [_clean(value)]
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return [_clean(item) for item in value]
    raise InvalidInputError("invalid input type")


def _clean(text: str) -> str:
    """Lone UTF-16 surrogates (JSON allows "\\ud800") become U+FFFD, as Go's decoder makes them."""
    return _SURROGATES.sub("\ufffd", text) if _SURROGATES.search(text) else text


def _dimensions(value: object) -> int | None:
    """An integer or nothing; cut_dimensions applies it only when 0 < d < the vector length."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInputError("dimensions must be an integer")
    return value


def _num_ctx(options: object) -> int | None:
    if options is None:
        return None
    if not isinstance(options, dict):
        raise InvalidInputError("options must be a JSON object")
    value = options.get("num_ctx")
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise InvalidInputError("options.num_ctx must be a positive integer")
    return value


class _SafeJSONResponse(JSONResponse):
    """JSON that always renders: no NaN, and text that cannot be UTF-8 is replaced, not a 500."""

    def render(self, content: object) -> bytes:
        text = json.dumps(content, ensure_ascii=False, allow_nan=False, indent=None, separators=(",", ":"))
        return text.encode("utf-8", "replace")


def _json(content: object, status_code: int = 200) -> Response:
    return _SafeJSONResponse(content, status_code=status_code)


def _model_card(name: str) -> dict:
    spec = LOCAL_MODELS[name]
    digest = spec.sha256["model.safetensors"]
    if spec.int8:  # another tag of the same weights: a digest of its own, as Ollama's tags have
        digest = hashlib.sha256(f"{digest}:int8".encode()).hexdigest()
    tag = name if ":" in name else f"{name}:latest"
    return {
        "name": tag,
        "model": tag,
        "modified_at": "2024-01-01T00:00:00Z",
        "size": 90868376,
        "digest": digest,
        "details": {
            "parent_model": "",
            "format": "safetensors",
            "family": "bert",
            "families": ["bert"],
            "parameter_size": "23M",
            "quantization_level": "Q8_0" if spec.int8 else "F32",
        },
    }


class _ErrorsAndAccessLog:
    """ASGI wrapper: Ollama's plain-text 404 for unknown routes, and one access-log line a request."""

    def __init__(self, app: Starlette):
        self.app = app
        self.state = app.state

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = {"code": 500}

        async def send_and_note(message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        scope.setdefault("state", {})
        try:
            await self._dispatch(scope, receive, send_and_note)
        finally:
            state = scope["state"]
            self.state.budget.give_back(state)
            log.info(
                "%s %s %d inputs=%s tokens=%s %.1fms",
                scope["method"],
                scope["path"],
                status["code"],
                state.get("inputs", 0),
                state.get("tokens", 0),
                (time.perf_counter() - started) * 1000,
            )

    async def _dispatch(self, scope, receive, send) -> None:
        path = scope["path"]
        known = any(route.path == path for route in self.app.routes)
        if not known or scope["method"] not in _methods(self.app, path):
            await PlainTextResponse("404 page not found", status_code=404)(scope, receive, send)
            return
        await self.app(scope, receive, send)


def _methods(app: Starlette, path: str) -> set[str]:
    return {m for route in app.routes if route.path == path for m in (route.methods or ())}


def _error_response(path: str, status: int, message: str) -> Response:
    if path.startswith("/v1/"):
        kind = {404: "not_found_error", 400: "invalid_request_error", 413: "invalid_request_error"}.get(
            status, "api_error"
        )
        error = {"message": message, "type": kind, "param": None, "code": None}
        return _json({"error": error}, status_code=status)
    return _json({"error": message}, status_code=status)
