"""`auto` end to end on a small code tree with the real model, and `query --files` (Python API and CLI)."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from semsearch.cli import SEARCH_DEFAULT_MODE, cli
from semsearch.embed.local import LocalEmbedder
from semsearch.errors import SemsearchError
from semsearch.index import Index
from semsearch.search import DEFAULT_MODE, SEARCH_MODES, group_by_file

TREE = {
    "src/routing.py": '''class APIRouter:
    """Collects routes."""

    def add_api_route(self, path, endpoint):
        self.routes.append((path, endpoint))
''',
    "src/app.py": """from routing import APIRouter

router = APIRouter()
router.add_api_route("/users", list_users)
router.add_api_route("/items", list_items)
""",
    "tests/test_routing.py": """def test_add_api_route():
    router = APIRouter()
    router.add_api_route("/a", f)
    router.add_api_route("/b", f)
    assert len(router.routes) == 2
""",
    "docs/guide.md": "# Guide\n\nRegister an endpoint with the router: add a route for each path.\n",
}


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    root = tmp_path_factory.mktemp("code")
    for name, text in TREE.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


@pytest.fixture(scope="module")
def index(tree, tmp_path_factory):
    with Index(tmp_path_factory.mktemp("idx") / "index", embedder=LocalEmbedder()) as idx:
        idx.add([tree])
        yield idx


def test_the_cli_and_the_api_share_one_default_mode():
    assert DEFAULT_MODE == SEARCH_DEFAULT_MODE and set(SEARCH_MODES) == {"auto", "dense", "keyword", "hybrid"}


def test_a_symbol_query_finds_its_definition_first(index, tree):
    best = index.search("add_api_route", k=3, mode="auto")[0]
    assert (best.path, best.heading) == (str(tree / "src/routing.py"), "routing.py > APIRouter")
    assert (best.start_line, best.end_line) == (1, 5)


def test_files_gives_one_result_per_file_in_order_of_their_best_chunk(index, tree):
    chunks = index.search("add_api_route", k=20, mode="keyword")
    files = index.search("add_api_route", k=20, mode="keyword", files=True)
    assert [r.path for r in files] == [r.path for r in group_by_file(chunks)]
    assert len({r.path for r in files}) == len(files) == 4  # the guide says "add a route": the parts match
    assert index.search("add_api_route", k=1, mode="auto", files=True)[0].path == str(tree / "src/routing.py")


def test_unknown_mode_is_one_line(index):
    with pytest.raises(SemsearchError, match="unknown search mode 'fuzzy': choose one of auto, dense, keyword, hybrid"):
        index.search("x", mode="fuzzy")


def test_cli_query_files_prints_a_line_per_file(index, tree, monkeypatch):
    monkeypatch.setenv("SEMSEARCH_EMBEDDER", "local")
    monkeypatch.chdir(tree)
    command = ["query", "add_api_route", "--mode", "auto", "--files", "-k", "2", "--index", str(index.path)]
    result = CliRunner().invoke(cli, command)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert len(lines) == 2 and lines[0].startswith("src/routing.py:1-5  ")
    assert float(lines[0].split()[-1]) > 0
    result = CliRunner().invoke(cli, [*command, "--json"])
    assert result.exit_code == 0, result.output
    first = json.loads(result.stdout.splitlines()[0])
    assert (first["rank"], first["path"], first["start_line"], first["end_line"]) == (1, "src/routing.py", 1, 5)
    assert set(first) == {"rank", "path", "start_line", "end_line", "score", "heading"}


def test_min_score_in_auto_is_a_floor_on_cosine_similarity(index):
    hits = index.search("add_api_route", k=5, mode="auto")
    assert hits and all(-1.0 <= h.score <= 1.0 for h in hits)  # the score shown is the cosine, not the fused one
    assert index.search("add_api_route", k=5, mode="auto", min_score=0.99) == []
    kept = index.search("add_api_route", k=5, mode="auto", min_score=-1.0)
    assert [h.chunk_id for h in kept] == [h.chunk_id for h in hits]
