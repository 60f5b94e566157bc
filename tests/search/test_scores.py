"""The score a person sees means one thing (cosine similarity to the query; BM25 in keyword mode),
and --min-score filters on exactly that number."""

from __future__ import annotations

import json

from tests.console import cli_env, semsearch

NOTES = {
    "cors.md": "# CORS\n\nAdd the CORSMiddleware to allow cross-origin requests from the browser.\n",
    "middleware.md": "# Middleware\n\nA middleware runs code before and after every request.\n",
    "origins.md": "# Origins\n\nAn origin is a scheme, a host and a port; browsers compare them.\n",
    "cooking.md": "# Pancakes\n\nWhisk flour, eggs and milk; fry in butter until golden.\n",
    "tides.md": "# Tides\n\nThe moon pulls the oceans and makes the tides rise and fall.\n",
}


def test_min_score_keeps_exactly_the_results_shown_at_or_above_it(tmp_path):
    notes = tmp_path / "notes"
    notes.mkdir()
    for name, text in NOTES.items():
        (notes / name).write_text(text)
    env = cli_env(tmp_path / "home")
    index = ["--index", str(tmp_path / "index")]
    assert semsearch("index", str(notes), *index, env=env).returncode == 0
    for mode in ("auto", "hybrid", "dense", "keyword"):
        question = "browser request" if mode == "keyword" else "how to add CORS"
        run = semsearch("query", question, *index, "--mode", mode, "--json", "-k", "5", env=env)
        assert run.returncode == 0, run.stderr
        shown = [(r["path"], r["score"]) for r in map(json.loads, run.stdout.splitlines())]
        assert len(shown) >= 3, mode
        if mode != "keyword":
            assert all(-1.0 <= score <= 1.0 for _, score in shown), (mode, shown)
        ordered = sorted((score for _, score in shown), reverse=True)
        floor = round((ordered[1] + ordered[2]) / 2, 6)  # between the second and the third score shown
        run = semsearch("query", question, *index, "--mode", mode, "--json", "-k", "5",
                        "--min-score", str(floor), env=env)  # fmt: skip
        kept = [(r["path"], r["score"]) for r in map(json.loads, run.stdout.splitlines())]
        assert kept == [(path, score) for path, score in shown if score >= floor], mode
        text = semsearch("query", question, *index, "--mode", mode, "-k", "1", env=env).stdout
        assert f"[{shown[0][1]:.3f}]" in text.splitlines()[0]  # the text output shows the same number
