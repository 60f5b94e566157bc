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
import time
from dataclasses import dataclass

import numpy as np
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from semsearch import __version__
from semsearch.embed.base import cut_dimensions, normalize
from semsearch.embed.local import LOCAL_MODELS, resolve_local_model
from semsearch.errors import InvalidInputError, ModelNotFoundError, SemsearchError
from semsearch.serve.batcher import Batcher
from semsearch.serve.models import ModelManager, expires_iso, parse_keep_alive

log = logging.getLogger("semsearch.serve")

OLLAMA_API_VERSION = "0.12.0"  # the Ollama release whose embedding API this mirrors
MAX_BODY_BYTES = 32 * 1024 * 1024
INLINE_TOKENIZE_CHARS = 20_000


@dataclass
class ServerSettings:
    max_pending: int = 512  # Ollama's OLLAMA_MAX_QUEUE default
    max_batch_requests: int = 64
    max_batch_inputs: int = 256
    max_wait_ms: float = 0.0
    max_body_bytes: int = MAX_BODY_BYTES
    threads: int | None = None


class _Body:
    """Ollama's body errors: missing body, invalid JSON, body too large."""

    @staticmethod
    async def read(request: Request, limit: int) -> dict:
        length = request.headers.get("content-length")
        if length and length.isdigit() and int(length) > limit:
            raise SemsearchError(f"request body too large (over {limit} bytes)", status=413)
        raw = b""
        async for piece in request.stream():
            raw += piece
            if len(raw) > limit:
                raise SemsearchError(f"request body too large (over {limit} bytes)", status=413)
        if not raw.strip():
            raise InvalidInputError("missing request body")
        try:
            body = json.loads(raw)
        except ValueError as e:
            raise InvalidInputError(str(e)) from None
        if not isinstance(body, dict):
            raise InvalidInputError("request body must be a JSON object")
        return body


def create_app(settings: ServerSettings | None = None) -> Starlette:
    settings = settings or ServerSettings()
    models = ModelManager(threads=settings.threads)
    batcher = Batcher(
        max_pending=settings.max_pending,
        max_batch_requests=settings.max_batch_requests,
        max_batch_inputs=settings.max_batch_inputs,
        max_wait_ms=settings.max_wait_ms,
    )

    async def embed_texts(model: str, texts: list[str], *, truncate: bool, options: dict, keep_alive: object):
        """Shared core of the three embedding routes: (pooled vectors, token counts, load ns)."""
        keep = parse_keep_alive(keep_alive)
        num_ctx = options.get("num_ctx") if isinstance(options, dict) else None
        if num_ctx is not None and (not isinstance(num_ctx, int) or isinstance(num_ctx, bool) or num_ctx <= 0):
            raise InvalidInputError("options.num_ctx must be a positive integer")
        # Loading takes a while and long inputs take a while to tokenize: those go to a thread.
        # The common case (model loaded, short inputs) stays on the event loop.
        acquired = models.acquire_loaded(model)
        entry, load_ns = acquired if acquired else await asyncio.to_thread(models.acquire, model)
        try:
            if not texts:
                return np.zeros((0, entry.embedder.dimensions), np.float32), [], load_ns
            if sum(map(len, texts)) < INLINE_TOKENIZE_CHARS:
                ids = entry.embedder.prepare(texts, truncate=truncate, num_ctx=num_ctx)
            else:
                ids = await asyncio.to_thread(entry.embedder.prepare, texts, truncate=truncate, num_ctx=num_ctx)
            vectors = await asyncio.wrap_future(batcher.submit(entry.embedder, ids))
            return vectors, [len(x) for x in ids], load_ns
        finally:
            models.release(entry, keep)

    async def api_embed(request: Request) -> Response:
        started = time.perf_counter_ns()
        body = await _Body.read(request, settings.max_body_bytes)
        model = _model_name(body)
        texts = _input_list(body.get("input"))
        truncate = body.get("truncate", True)
        if not isinstance(truncate, bool):
            raise InvalidInputError("truncate must be true or false")
        dimensions = body.get("dimensions")
        if dimensions is not None and (not isinstance(dimensions, int) or isinstance(dimensions, bool)):
            raise InvalidInputError("dimensions must be an integer")
        vectors, counts, load_ns = await embed_texts(
            model, texts, truncate=truncate, options=body.get("options") or {}, keep_alive=body.get("keep_alive")
        )
        request.state.inputs, request.state.tokens = len(texts), sum(counts)
        reply: dict = {"model": model, "embeddings": []}
        if texts:
            reply["embeddings"] = cut_dimensions(normalize(vectors), dimensions).tolist()
            reply["total_duration"] = time.perf_counter_ns() - started
            reply["prompt_eval_count"] = sum(counts)
        if load_ns:
            reply["load_duration"] = load_ns
        return JSONResponse(reply)

    async def api_embeddings(request: Request) -> Response:
        """Legacy: one prompt, one vector, not normalized."""
        body = await _Body.read(request, settings.max_body_bytes)
        model = body.get("model")
        if not model:
            raise InvalidInputError("model is required")
        prompt = body.get("prompt", "")
        if not isinstance(prompt, str):
            raise InvalidInputError("prompt must be a string")
        vectors, counts, _ = await embed_texts(
            str(model),
            [prompt] if prompt else [],
            truncate=True,
            options=body.get("options") or {},
            keep_alive=body.get("keep_alive"),
        )
        request.state.inputs, request.state.tokens = (1 if prompt else 0), sum(counts)
        return JSONResponse({"embedding": vectors[0].tolist() if prompt else []})

    async def openai_embeddings(request: Request) -> Response:
        body = await _Body.read(request, settings.max_body_bytes)
        model = body.get("model")
        if not model:
            raise InvalidInputError("model is required")
        raw = body.get("input")
        if raw == "":
            raw = [""]
        if raw is None or raw == []:
            raise InvalidInputError("invalid input")
        texts = _input_list(raw)
        encoding = body.get("encoding_format") or "float"
        if encoding not in ("float", "base64"):
            raise InvalidInputError(f"invalid encoding_format {encoding!r}: use 'float' or 'base64'")
        vectors, counts, _ = await embed_texts(str(model), texts, truncate=True, options={}, keep_alive=None)
        vectors = cut_dimensions(normalize(vectors), body.get("dimensions"))
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
        return JSONResponse({"object": "list", "data": data, "model": model, "usage": usage})

    async def root(request: Request) -> Response:
        return PlainTextResponse("Ollama is running")

    async def version(request: Request) -> Response:
        return JSONResponse({"version": OLLAMA_API_VERSION, "semsearch": __version__})

    async def tags(request: Request) -> Response:
        return JSONResponse({"models": [_model_card(name) for name in LOCAL_MODELS]})

    async def show(request: Request) -> Response:
        body = await _Body.read(request, settings.max_body_bytes)
        name = body.get("model") or body.get("name")
        if not name:
            raise InvalidInputError("model is required")
        try:
            spec = resolve_local_model(str(name))
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
    return _ErrorsAndAccessLog(app)


def _model_name(body: dict) -> str:
    model = body.get("model")
    if not model:
        raise ModelNotFoundError("")
    if not isinstance(model, str):
        raise InvalidInputError("model must be a string")
    return model


def _input_list(value: object) -> list[str]:
    if value is None or value == "":
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return value
    raise InvalidInputError("invalid input type")


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
        return JSONResponse({"error": error}, status_code=status)
    return JSONResponse({"error": message}, status_code=status)
