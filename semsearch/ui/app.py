"""The Starlette app behind `semsearch ui`: three pages and a small JSON API, all read-only.

    GET /                       search page (?q=&mode=&path=&k=; answers without JavaScript too)
    GET /file/{file_id}         file view (?chunk=&page= and the search's own parameters)
    GET /similar/{file_id}      the files most like that file
    GET /status                 index facts and a map of the corpus
    GET /api/search             ?q=&k=&mode=&path= -> results as JSON
    GET /api/status             index facts as JSON
    GET /api/file/{file_id}     a file's chunks as JSON
    GET /api/map                the corpus map's points as JSON
    GET /favicon.ico            the page's icon (an SVG), so browsers asking for it get no 404

Files are reached only by the ids the index gave them; nothing in a request is ever used
as a path on disk.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from semsearch.errors import SemsearchError
from semsearch.search import DEFAULT_MODE, SEARCH_MODES
from semsearch.serve.hostcheck import HostGuard
from semsearch.ui import pages
from semsearch.ui.highlight import query_terms
from semsearch.ui.reader import IndexReader, NotInIndexError

STATIC = Path(__file__).parent / "static"

SECURITY_HEADERS = [
    (
        b"content-security-policy",
        b"default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; "
        b"base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    ),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
]


class SecurityHeaders:
    """ASGI middleware: a strict Content-Security-Policy (no inline script) and friends on every response."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), *SECURITY_HEADERS]}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _search_args(request: Request) -> tuple[str, int, str, str]:
    """(query, k, mode, path) from the query string; a bad value is a SemsearchError with status 400."""
    q = request.query_params
    query = q.get("q", "")
    mode = q.get("mode") or DEFAULT_MODE
    if mode not in SEARCH_MODES:
        raise SemsearchError(f"unknown search mode {mode!r}: choose one of {', '.join(SEARCH_MODES)}", 400)
    k_text = q.get("k") or str(pages.DEFAULT_K)
    try:
        k = int(k_text)
    except ValueError:
        raise SemsearchError(f"k must be a whole number of results, not {k_text!r}", 400) from None
    return query, k, mode, q.get("path", "")


def _optional_int(request: Request, name: str) -> int | None:
    value = request.query_params.get(name)
    if value in (None, ""):
        return None
    try:
        return int(value)
    except ValueError:
        raise SemsearchError(f"{name} must be a whole number, not {value!r}", 400) from None


def _error_json(error: SemsearchError) -> JSONResponse:
    status = error.status if 400 <= error.status < 600 else 500
    return JSONResponse({"error": str(error)}, status_code=status)


def _error_page(error: SemsearchError) -> HTMLResponse:
    status = error.status if 400 <= error.status < 600 else 500
    body = f'<h1>{"Not in this index" if status == 404 else "Error"}</h1><p class="note">{pages.esc(error)}</p>'
    return HTMLResponse(pages.layout("Error – semsearch", body, page_class="error-page"), status_code=status)


def create_app(reader: IndexReader, *, bind_host: str = "127.0.0.1", on_ready: Callable[[], None] | None = None):
    """The page for one index, behind the loopback Host-header check of `semsearch serve`.

    on_ready runs once the server listens (`semsearch ui --open` opens the browser there).
    """

    @contextlib.asynccontextmanager
    async def lifespan(app):
        if on_ready is not None:
            on_ready()
        yield

    def api_search(request: Request) -> Response:
        try:
            query, k, mode, path = _search_args(request)
            answer = reader.search(query, k, mode, path)
        except SemsearchError as e:
            return _error_json(e)
        data = answer.to_dict()
        params = pages.search_params(query, mode, path, k)
        for hit, item in zip(answer.hits, data["results"], strict=True):
            item["url"] = pages.file_link(hit.file_id, hit.chunk_id, params)
            item["similar_url"] = f"/similar/{hit.file_id}"
        return JSONResponse(data)

    def api_status(request: Request) -> Response:
        try:
            return JSONResponse(reader.status())
        except SemsearchError as e:
            return _error_json(e)

    def api_file(request: Request) -> Response:
        try:
            view = reader.file_view(request.path_params["file_id"])
        except SemsearchError as e:
            return _error_json(e)
        return JSONResponse(
            {
                "file_id": view.record.id,
                "path": view.path,
                "file": view.record.path,
                "kind": view.record.kind,
                "title": view.record.title,
                "chunks": [
                    {
                        "chunk_id": c.id,
                        "ordinal": c.ordinal,
                        "start_line": c.start_line,
                        "end_line": c.end_line,
                        "page": c.page,
                        "anchor": c.anchor,
                        "heading": c.heading,
                        "text": c.text,
                    }
                    for c in view.chunks
                ],
            }
        )

    def api_map(request: Request) -> Response:
        try:
            return JSONResponse(reader.corpus_map().to_dict())
        except SemsearchError as e:
            return _error_json(e)

    def search_page(request: Request) -> Response:
        query, k, mode, path, answer, error = "", pages.DEFAULT_K, DEFAULT_MODE, "", None, None
        try:
            query, k, mode, path = _search_args(request)
            if query.strip():
                answer = reader.search(query, k, mode, path)
        except SemsearchError as e:
            error = str(e)
        try:
            status = reader.status()
        except SemsearchError:
            status = {}
        html = pages.search_page(query=query, mode=mode, path=path, k=k, answer=answer, error=error, status=status)
        return HTMLResponse(html, status_code=400 if error else 200)

    def file_page(request: Request) -> Response:
        try:
            query, k, mode, path = _search_args(request)
            view = reader.file_view(
                request.path_params["file_id"], _optional_int(request, "chunk"), _optional_int(request, "page")
            )
            matches = []
            if query.strip():
                answer = reader.search(query, k, mode, path)
                matches = [h for h in answer.hits if h.file_id == view.record.id]
        except SemsearchError as e:
            return _error_page(e)
        params = pages.search_params(query, mode, path, k) if query else {}
        return HTMLResponse(pages.file_page(view, params=params, matches=matches, terms=query_terms(query)))

    def similar_page(request: Request) -> Response:
        try:
            record, answer = reader.related(request.path_params["file_id"])
        except SemsearchError as e:
            return _error_page(e)
        return HTMLResponse(pages.similar_page(reader.display(record.path), answer))

    def status_page(request: Request) -> Response:
        try:
            return HTMLResponse(pages.status_page(reader.status(), reader.corpus_map()))
        except SemsearchError as e:
            return _error_page(e)

    def favicon(request: Request) -> Response:
        return FileResponse(STATIC / "favicon.svg", media_type="image/svg+xml")

    async def not_found(request: Request, exc) -> Response:
        error = NotInIndexError("no such page (files are opened by their id in the index: /file/ID)")
        return _error_json(error) if request.url.path.startswith("/api/") else _error_page(error)

    app = Starlette(
        routes=[
            Route("/", search_page),
            Route("/file/{file_id:int}", file_page),
            Route("/similar/{file_id:int}", similar_page),
            Route("/status", status_page),
            Route("/api/search", api_search),
            Route("/api/status", api_status),
            Route("/api/file/{file_id:int}", api_file),
            Route("/api/map", api_map),
            Route("/favicon.ico", favicon),
            Mount("/static", StaticFiles(directory=STATIC), name="static"),
        ],
        exception_handlers={404: not_found},
        lifespan=lifespan,
    )
    return HostGuard(SecurityHeaders(app), bind_host)
