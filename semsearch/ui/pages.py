"""Server-rendered HTML for the search page, the file view and the status view.

Every piece of text from the index (paths, headings, file contents, the query) goes
through `esc`; the pages carry no inline script or style (the Content-Security-Policy
forbids them), so even a missed escape could not run code.
"""

from __future__ import annotations

import html
from urllib.parse import urlencode

from semsearch.search import DEFAULT_MODE, SEARCH_MODES
from semsearch.search.results import format_score
from semsearch.ui.corpus_map import CorpusMap
from semsearch.ui.highlight import Parts, mark
from semsearch.ui.reader import FileView, Hit, SearchAnswer, line_span

DEFAULT_K = 10
NO_RESULTS_HINT = " (try other words, another mode, or a wider path)"  # ui.js says the same


def esc(value: object) -> str:
    return html.escape(str(value), quote=True)


def parts_html(parts: Parts) -> str:
    return "".join(f"<mark>{esc(text)}</mark>" if matched else esc(text) for text, matched in parts)


def search_params(query: str, mode: str, path: str, k: int) -> dict:
    """The query string that reproduces a search (defaults left out, so URLs stay short)."""
    params = {"q": query}
    if mode != DEFAULT_MODE:
        params["mode"] = mode
    if path:
        params["path"] = path
    if k != DEFAULT_K:
        params["k"] = str(k)
    return params


def file_link(file_id: int, chunk_id: int | None, params: dict, page: int | None = None) -> str:
    extra = {}
    if chunk_id is not None:
        extra["chunk"] = str(chunk_id)
    if page is not None:
        extra["page"] = str(page)
    query = urlencode({**extra, **{k: v for k, v in params.items() if v}})
    return f"/file/{file_id}" + (f"?{query}" if query else "") + ("#match" if chunk_id is not None else "")


def layout(title: str, body: str, *, page_class: str) -> str:
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>{esc(title)}</title>
<link rel="icon" href="/favicon.ico" type="image/svg+xml">
<link rel="stylesheet" href="/static/ui.css">
<script src="/static/ui.js" defer></script>
</head>
<body class="{page_class}">
<header class="top">
<a class="brand" href="/">semsearch</a>
<nav><a href="/">Search</a><a href="/status">Index</a></nav>
</header>
<main>
{body}
</main>
</body>
</html>
"""


# -- the search page -----------------------------------------------------------------------------------


def card(hit: Hit, params: dict) -> str:
    heading = f'<div class="heading">{esc(hit.heading)}</div>' if hit.heading else ""
    return (
        f'<li class="card"><a class="hit" href="{esc(file_link(hit.file_id, hit.chunk_id, params))}">'
        f'<div class="where"><span class="path">{esc(hit.path)}</span> '
        f'<span class="lines">{esc(hit.lines)}</span> <span class="score">{format_score(hit.score)}</span></div>'
        f'{heading}<p class="snippet">{parts_html(hit.snippet)}</p></a>'
        f'<a class="similar" href="/similar/{hit.file_id}">similar</a></li>'
    )


def similar_page(path: str, answer: SearchAnswer) -> str:
    """Files like one file: the cards of its related files."""
    cards = "".join(card(h, {}) for h in answer.hits)
    count = len(answer.hits)
    found = f"{count} similar file{'s' * (count != 1)}" if count else "No similar files"
    body = (
        f'<h1>Files like <span class="path">{esc(path)}</span></h1>'
        f'<p id="summary" class="summary">{found} in {answer.milliseconds:.0f} ms</p>'
        f'<ol id="results" class="results">{cards}</ol>'
    )
    return layout(f"Like {path} – semsearch", body, page_class="search-page similar-page")


def search_page(
    *, query: str, mode: str, path: str, k: int, answer: SearchAnswer | None, error: str | None, status: dict
) -> str:
    options = "".join(f'<option value="{m}"{" selected" if m == mode else ""}>{m}</option>' for m in SEARCH_MODES)
    k_field = f'<input type="hidden" name="k" value="{k}">' if k != DEFAULT_K else ""
    params = search_params(query, mode, path, k)
    if error:
        summary = f'<p id="summary" class="summary error" role="alert">{esc(error)}</p>'
    elif answer is not None:
        count = len(answer.hits)
        found = f"{count} result{'s' if count != 1 else ''}" if count else f"No results{NO_RESULTS_HINT}"
        summary = f'<p id="summary" class="summary" aria-live="polite">{found} in {answer.milliseconds:.0f} ms</p>'
    else:
        files, chunks = status.get("files", 0), status.get("chunks", 0)
        summary = f'<p id="summary" class="summary" aria-live="polite">Searching {files} files ({chunks} chunks).</p>'
    cards = "".join(card(h, params) for h in answer.hits) if answer else ""
    body = f"""<form id="search" class="search" action="/" method="get" role="search">
<input id="q" name="q" type="search" value="{esc(query)}" placeholder="Ask a question…" aria-label="Search"
 autocomplete="off" autofocus>
<div class="filters">
<label>mode <select id="mode" name="mode" data-default="{DEFAULT_MODE}">{options}</select></label>
<label class="path-label">path <input id="path" name="path" type="text" value="{esc(path)}"
 placeholder="docs/ops or *.pdf" autocomplete="off"></label>{k_field}
<button type="submit">Search</button>
</div>
</form>
{summary}
<ol id="results" class="results">{cards}</ol>
<p class="hint">Type to search · <kbd>↑</kbd> <kbd>↓</kbd> move · <kbd>Enter</kbd> opens ·
 <kbd>/</kbd> focuses the box</p>"""
    title = f"{query} – semsearch" if query else "semsearch"
    return layout(title, body, page_class="search-page")


# -- the file view -------------------------------------------------------------------------------------


def _span(chunk) -> str:
    return line_span(chunk.start_line, chunk.end_line, chunk.page, chunk.anchor)


def file_page(view: FileView, *, params: dict, matches: list[Hit], terms: list[str] = ()) -> str:
    record = view.record
    focus_id = view.focus.id if view.focus else None
    shown = view.page_chunks()
    matched_ids = {h.chunk_id for h in matches}
    back = f'<a href="/?{esc(urlencode(params))}">← results</a>' if params.get("q") else '<a href="/">← search</a>'
    meta = [esc(record.kind or "text"), f"{len(view.chunks)} chunk{'s' if len(view.chunks) != 1 else ''}"]
    if record.title:
        meta.insert(0, f"“{esc(record.title)}”")
    pages = ""
    if view.pages:
        links = " ".join(
            f'<a href="{esc(file_link(record.id, None, params, page=p))}"'
            f"{' aria-current=page class=current' if p == view.page else ''}>{p}</a>"
            for p in view.pages
        )
        pages = f'<p class="pages">Page {view.page} · pages with text: {links}</p>'
    note = f'<p class="note">{esc(view.note)}</p>' if view.note else ""
    if view.lines is not None:
        text = _numbered_lines(view, shown, focus_id, matched_ids, list(terms))
    else:
        text = _passages(shown, focus_id, matched_ids, list(terms))
    if matches:
        items = "".join(
            f"<li{' class=current' if h.chunk_id == focus_id else ''}>"
            f'<a href="{esc(file_link(record.id, h.chunk_id, params))}">'
            f'<span class="lines">{esc(h.lines)}</span> <span class="score">{format_score(h.score)}</span>'
            f"{f'<span class=heading>{esc(h.heading)}</span>' if h.heading else ''}</a></li>"
            for h in matches
        )
        aside = f'<aside class="matches"><h2>Matches in this file</h2><ol id="matches">{items}</ol></aside>'
    else:
        aside = '<aside class="matches"><h2>Matches in this file</h2><p>None for this search.</p></aside>'
    focus = (
        f'<p class="focus">Matched {esc(_span(view.focus))}'
        f"{f' · {esc(view.focus.heading)}' if view.focus and view.focus.heading else ''}</p>"
        if view.focus
        else ""
    )
    # The file's name and the way back stay in view (sticky) while the text scrolls to a match; the full
    # path on disk is the name's tooltip, so what the page shows (and its screenshots) stays relative.
    body = f"""<div class="file-head"><nav class="crumbs">{back}</nav>
<h1 class="file-path" title="{esc(record.path)}">{esc(view.path)}</h1></div>
<p class="meta">{" · ".join(meta)}</p>
{pages}{note}{focus}
<div class="file-layout">
<section class="file-text" aria-label="File text">{text}</section>
{aside}
</div>"""
    return layout(f"{view.path} – semsearch", body, page_class="file-page")


def _numbered_lines(view: FileView, chunks, focus_id: int | None, matched_ids: set[int], terms: list[str]) -> str:
    focus_lines: set[int] = set()
    also_lines: set[int] = set()
    for chunk in chunks:
        span = set(range(chunk.start_line, chunk.end_line + 1))
        if chunk.id == focus_id:
            focus_lines |= span
        elif chunk.id in matched_ids:
            also_lines |= span
    first_focus = min(focus_lines) if focus_lines else None
    rows = []
    for n, line in enumerate(view.lines or [], start=view.first_line):
        classes = "line hit" if n in focus_lines else "line also" if n in also_lines else "line"
        anchor = ' id="match"' if n == first_focus else ""
        shown = parts_html(mark(line, terms)) if n in focus_lines or n in also_lines else esc(line)
        rows.append(
            f'<div class="{classes}"{anchor}><a class="ln" id="L{n}" href="#L{n}" data-n="{n}"></a>'
            f'<span class="tx">{shown}</span></div>'
        )
    return f'<div class="code">{"".join(rows)}</div>'


def _passages(chunks, focus_id: int | None, matched_ids: set[int], terms: list[str]) -> str:
    out = []
    for chunk in chunks:
        classes = "passage hit" if chunk.id == focus_id else "passage also" if chunk.id in matched_ids else "passage"
        anchor = ' id="match"' if chunk.id == focus_id else ""
        heading = f" · {esc(chunk.heading)}" if chunk.heading else ""
        out.append(
            f'<section class="{classes}"{anchor}><h3>{esc(_span(chunk))}{heading}</h3>'
            f'<pre class="tx">{parts_html(mark(chunk.text, terms))}</pre></section>'
        )
    return "".join(out)


# -- the status view -----------------------------------------------------------------------------------

MAP_WIDTH, MAP_HEIGHT, MAP_PAD = 1000, 640, 12


def status_page(info: dict, corpus: CorpusMap) -> str:
    facts = [
        ("Files", f"{info.get('files', 0):,}"),
        ("Chunks", f"{info.get('chunks', 0):,}"),
        ("Model", info.get("model") or "–"),
        ("Embedder", info.get("embedder") or "–"),
        ("Last update", info.get("last_update") or "–"),
        ("Corpus root", info.get("root") or "–"),
        ("Index folder", info.get("index") or "–"),
    ]
    rows = "".join(f"<dt>{esc(name)}</dt><dd>{esc(value)}</dd>" for name, value in facts)
    body = f'<h1>Index</h1>\n<dl class="facts">{rows}</dl>\n<h2>Map of the corpus</h2>\n{map_figure(corpus)}'
    return layout("Index – semsearch", body, page_class="status-page")


def map_figure(corpus: CorpusMap) -> str:
    if not corpus.points:
        return '<p class="note">The index holds no chunks yet.</p>'
    sampled = len(corpus.points) < corpus.total_chunks
    what = (
        f"{len(corpus.points):,} of {corpus.total_chunks:,} chunks (sampled)"
        if sampled
        else (f"{len(corpus.points):,} chunks")
    )
    width, height = MAP_WIDTH - 2 * MAP_PAD, MAP_HEIGHT - 2 * MAP_PAD
    dots = []
    for p in corpus.points:
        group = corpus.groups[p.group]
        label = f"{p.path} — {p.heading}" if p.heading else p.path
        cx, cy = MAP_PAD + p.x * width, MAP_PAD + (1 - p.y) * height
        dots.append(
            f'<a href="/file/{p.file_id}?chunk={p.chunk_id}#match" class="pt" data-label="{esc(label)}">'
            f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="5" fill="{group.color}"><title>{esc(label)}</title></circle></a>'
        )
    legend = "".join(
        f'<li><svg viewBox="0 0 10 10" aria-hidden="true"><circle cx="5" cy="5" r="5" fill="{g.color}"/></svg>'
        f"{esc(g.name)} <span class=count>{g.count:,}</span></li>"
        for g in corpus.groups
    )
    return f"""<p class="map-about">{what}: PCA of their embedding vectors, colored by top-level folder.
Hover a point for its file and heading; click it to open the chunk.</p>
<figure class="map">
<svg id="corpus-map" viewBox="0 0 {MAP_WIDTH} {MAP_HEIGHT}" role="img" aria-label="Map of the corpus">
{"".join(dots)}
</svg>
<figcaption id="map-caption">&nbsp;</figcaption>
</figure>
<ul class="legend">{legend}</ul>"""
