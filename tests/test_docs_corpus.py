"""Acceptance on real documentation: obvious questions put the matching FastAPI page in the top 3."""

from __future__ import annotations

from pathlib import Path

import pytest

from semsearch.embed.local import LocalEmbedder
from semsearch.index import Index

FASTAPI = Path(__file__).resolve().parents[2] / "shared" / "eval" / "docs-corpus" / "fastapi"

QUESTIONS = {
    "how do I declare a request body": "tutorial/body.md",
    "how do I serve static files": "tutorial/static-files.md",
    "how do I add CORS headers": "tutorial/cors.md",
    "how do I upload files": "tutorial/request-files.md",
    "run a task in the background after returning a response": "tutorial/background-tasks.md",
}


@pytest.fixture(scope="module")
def fastapi_index(tmp_path_factory):
    if not FASTAPI.is_dir():
        pytest.fail(f"the shared evaluation corpus is missing: {FASTAPI}")
    with Index(tmp_path_factory.mktemp("fastapi") / "index", embedder=LocalEmbedder()) as index:
        report = index.add([FASTAPI])
        assert report.failed == 0 and report.new > 100
        yield index


@pytest.mark.slow
@pytest.mark.parametrize("question, page", QUESTIONS.items())
def test_obvious_question_finds_its_tutorial_page_in_top_3(fastapi_index, question, page):
    files = []
    for hit in fastapi_index.search(question, k=20):
        rel = Path(hit.path).relative_to(FASTAPI).as_posix()
        if rel not in files:
            files.append(rel)
    assert page in files[:3], files[:5]
