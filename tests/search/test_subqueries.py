"""Typed sub-queries, related files and reading lines through the Python API; the MCP answer budget."""

from __future__ import annotations

import json

import pytest

from semsearch.errors import SemsearchError
from semsearch.index import Index
from semsearch.mcp.budget import estimate_tokens, fit
from semsearch.search import SubQuery

FILES = {
    "net/retry.py": 'def with_backoff(call, attempts=5):\n    """Call again after 1, 2, 4 seconds while the '
    'server answers 503."""\n',
    "net/timeouts.py": 'def read_timeout(seconds):\n    """Give up on a socket that stays silent too long."""\n',
    "notes/tea.md": "# Tea\n\nGreen tea brews at eighty degrees for two minutes.\n",
}


@pytest.fixture(scope="module")
def index(tmp_path_factory):
    base = tmp_path_factory.mktemp("typed")
    for name, text in FILES.items():
        (base / "corpus" / name).parent.mkdir(parents=True, exist_ok=True)
        (base / "corpus" / name).write_text(text)
    idx = Index(base / "index", embedder="local")
    idx.add([base / "corpus"])
    yield idx, base / "corpus"
    idx.close()


def test_typed_subqueries_through_the_api(index):
    idx, corpus = index
    queries = [SubQuery("lex", "with_backoff"), SubQuery("vec", "how are failed requests retried?")]
    hits = idx.search(queries=queries, k=2, files=True)
    assert hits[0].path == str(corpus / "net/retry.py") and len({h.path for h in hits}) == len(hits)
    as_dicts = idx.search(queries=[{"type": "vec", "query": "green tea temperature"}], k=1)
    assert as_dicts[0].path == str(corpus / "notes/tea.md")
    assert [h.path for h in idx.search(queries=[SubQuery("lex", "with_backoff")], k=2)] == [
        str(corpus / "net/retry.py")
    ]
    both = idx.search("green tea", queries=[SubQuery("lex", "with_backoff")], k=2)  # the text: one lex, one vec more
    assert {h.path for h in both} == {str(corpus / "net/retry.py"), str(corpus / "notes/tea.md")}
    within = idx.search(queries=queries, k=3, path_glob=["*/notes/*", "*/timeouts.py"])
    assert {h.path for h in within} == {str(corpus / "notes/tea.md"), str(corpus / "net/timeouts.py")}
    with pytest.raises(SemsearchError, match=r"^sub-query type must be one of lex, vec, hyde, not 'regex'$"):
        SubQuery("regex", "x")
    with pytest.raises(SemsearchError, match=r"^the vec sub-query is empty$"):
        SubQuery("vec", "  ")
    with pytest.raises(SemsearchError, match=r"^the query is empty: pass text or typed sub-queries$"):
        idx.search()


def test_related_and_read_lines_through_the_api(index):
    idx, corpus = index
    related = idx.related(corpus / "net/retry.py", k=2)
    assert [h.path for h in related] == [str(corpus / "net/timeouts.py"), str(corpus / "notes/tea.md")]
    lines = idx.read_lines("net/retry.py", 2, 2)
    assert (lines.path, lines.start_line, lines.end_line, lines.total_lines) == (str(corpus / "net/retry.py"), 2, 2, 2)
    assert lines.text.startswith('    """Call again') and not lines.changed_since_indexed
    with pytest.raises(SemsearchError, match=r"^line 9 is past the indexed text of .*retry\.py \(it ends at line 2\)$"):
        idx.related(corpus / "net/retry.py", line=9)


def answer(n: int = 6, lines: int = 12) -> dict:
    results = [
        {"path": f"/src/file{i}.py", "start_line": 10, "end_line": 10 + lines - 1, "page": None, "heading": f"f{i}",
         "score": 0.5, "text": "\n".join(f"    line {j} of result {i} with some words" for j in range(lines))}
        for i in range(n)
    ]  # fmt: skip
    return {"query": "q", "mode": "auto", "results": results}


def test_the_budget_bounds_every_answer_and_keeps_the_best_first():
    full = answer()
    for max_tokens in range(100, estimate_tokens(full) + 200, 37):
        cut = fit(full, max_tokens)
        text = json.dumps(cut, indent=2, ensure_ascii=False)
        assert len(text) <= max_tokens * 4 and cut["budget"]["estimated_tokens"] <= max_tokens, max_tokens
        kept = cut["results"]
        assert [r["path"] for r in kept] == [r["path"] for r in full["results"][: len(kept)]]
        assert cut["budget"]["dropped"] == len(full["results"]) - len(kept)
        for r, whole in zip(kept, full["results"], strict=False):
            assert whole["text"].startswith(r["text"])
            if r.get("trimmed"):  # cut at a line: end_line follows
                assert r["end_line"] == r["start_line"] + r["text"].count("\n")
                assert cut["budget"]["trimmed"] == 1 and r is kept[-1]
        if kept == full["results"]:
            assert "note" not in cut
        else:
            assert cut["note"].startswith(f"cut to fit max_tokens {max_tokens}: ")
    assert fit(full, 10**6)["results"] == full["results"]
