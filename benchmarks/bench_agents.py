"""What agents get: one plain query against typed sub-queries, and `related` files, on the code repositories.

    python benchmarks/bench_agents.py [--related]

Reuses bench_quality's code indexes (built once in the cache dir, syntax-aware chunks) and its
file-level nDCG@10. Typed sub-queries (benchmarks/code_subqueries.json) were written per question the
way an agent would, from the question alone: a lex line of identifiers, a vec question and a hyde
hypothetical code passage. `related` is scored on RELATED below: a file and the files a maintainer
would call related to it (file-level nDCG@5, binary relevance).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import bench_quality as quality  # noqa: E402 - the benchmarks folder is not a package

SUBQUERIES = Path(__file__).with_name("code_subqueries.json")

# file -> files a maintainer would call related (written from the repositories' layout, before measuring).
RELATED = {
    "click": {
        "src/click/termui.py": ["src/click/_termui_impl.py", "src/click/utils.py"],
        "src/click/_winconsole.py": ["src/click/_compat.py"],
        "src/click/parser.py": ["src/click/core.py"],
        "src/click/formatting.py": ["src/click/_textwrap.py"],
        "src/click/decorators.py": ["src/click/core.py"],
    },
    "cobra": {
        "bash_completions.go": ["bash_completionsV2.go", "zsh_completions.go", "fish_completions.go",
                                "powershell_completions.go", "completions.go", "bash_completions_test.go"],
        "doc/md_docs.go": ["doc/rest_docs.go", "doc/man_docs.go", "doc/yaml_docs.go", "doc/md_docs_test.go"],
        "args.go": ["args_test.go"],
        "flag_groups.go": ["flag_groups_test.go", "command.go"],
    },
    "json": {
        "src/lexical/bhcomp.rs": ["src/lexical/algorithm.rs", "src/lexical/bignum.rs", "src/lexical/math.rs",
                                  "src/lexical/parse.rs"],
        "src/value/de.rs": ["src/de.rs", "src/value/ser.rs", "src/value/mod.rs"],
        "src/ser.rs": ["src/value/ser.rs", "src/de.rs"],
        "src/read.rs": ["src/de.rs", "src/iter.rs", "src/io/mod.rs"],
    },
}  # fmt: skip

TYPED_VARIANTS = {
    "typed lex+vec+hyde (convex, signals)": ({"lex", "vec", "hyde"}, {}),
    "typed lex+vec+hyde (convex, BM25 min-max)": ({"lex", "vec", "hyde"}, {"lex_norm": "minmax"}),
    "typed lex+vec+hyde (convex, no signals)": ({"lex", "vec", "hyde"}, {"signals": False}),
    "typed lex+vec+hyde (RRF, signals)": ({"lex", "vec", "hyde"}, {"fusion": "rrf"}),
    "typed lex+vec (convex, signals)": ({"lex", "vec"}, {}),
    "typed lex+hyde (convex, signals)": ({"lex", "hyde"}, {}),
    "typed vec+hyde (convex, signals)": ({"vec", "hyde"}, {}),
}


def typed_scores(repos: list[str]) -> dict[str, dict[str, float]]:
    """{row: {'all' | 'symbol' | 'question' | repo: mean nDCG@10}}."""
    from semsearch.search.subqueries import SubQuery, TypedSettings, search_typed

    data = json.loads(quality.CODE_QUESTIONS.read_text())
    typed = {(q["repo"], q["query"]): q["subqueries"] for q in json.loads(SUBQUERIES.read_text())["questions"]}
    sums: dict[str, dict[str, list[float]]] = {}

    def record(row: str, q: dict, score: float) -> None:
        for key in ("all", q["kind"], q["repo"]):
            sums.setdefault(row, {}).setdefault(key, []).append(score)

    for name in repos:
        root = (quality.CODE_REPOS / name).resolve()
        with quality.code_index(name, data["repos"][name], True) as index:
            for q in [q for q in data["questions"] if q["repo"] == name]:
                plain = quality.ranked_files(index, root, q["query"], "auto")
                record("plain query (auto)", q, quality.file_ndcg(plain, q["targets"]))
                subs = [SubQuery(s["type"], s["query"]) for s in typed[(name, q["query"])]]
                for row, (kinds, options) in TYPED_VARIANTS.items():
                    hits = search_typed(index.collection, [s for s in subs if s.type in kinds], 10, files=True,
                                        settings=TypedSettings(**options))  # fmt: skip
                    files = [Path(h.path).relative_to(root).as_posix() for h in hits]
                    record(row, q, quality.file_ndcg(files, q["targets"]))
    return {row: {key: sum(v) / len(v) for key, v in cells.items()} for row, cells in sums.items()}


def mean_vector_related(index, path: Path, k: int) -> list[str]:
    """The baseline `related` was measured against: files ranked by their best chunk's cosine to the mean vector."""
    import numpy as np

    collection = index.collection
    record = collection.file_by_path(str(path))
    own = collection.file_chunks(record.id)
    mean = np.vstack(list(collection.stored_vectors([c.id for c in own]).values())).mean(axis=0)
    mean = (mean / np.linalg.norm(mean)).astype(np.float32)
    with collection.snapshot():
        ranking = collection.dense_candidates(mean, len(own) + 50 * k)
        paths = collection.chunk_paths([i for i, _ in ranking])
    files = [paths[i] for i, _ in ranking if paths.get(i) and paths[i] != str(path)]
    return list(dict.fromkeys(files))[:k]


def related_scores(repos: list[str], k: int = 5, baseline: bool = False) -> tuple[float, int, int, list[str]]:
    """(mean nDCG@k, items whose first result is a related file, items, one line per item).

    baseline=True: the mean-vector ranking instead of `Index.related`.
    """
    data = json.loads(quality.CODE_QUESTIONS.read_text())
    scores, firsts, lines = [], 0, []
    for name in repos:
        root = (quality.CODE_REPOS / name).resolve()
        with quality.code_index(name, data["repos"][name], True) as index:
            for source, targets in RELATED[name].items():
                if baseline:
                    found = mean_vector_related(index, root / source, k)
                else:
                    found = [h.path for h in index.related(root / source, k=k)]
                files = [Path(p).relative_to(root).as_posix() for p in found]
                assert source not in files
                scores.append(quality.file_ndcg(files, targets, k))
                firsts += bool(files) and files[0] in targets
                lines.append(f"{name}/{source}: {scores[-1]:.2f}  -> {', '.join(files)}")
    return sum(scores) / len(scores), firsts, len(scores), lines


def main() -> None:
    data = json.loads(quality.CODE_QUESTIONS.read_text())
    repos = [name for name in data["repos"] if (quality.CODE_REPOS / name).is_dir()]
    if not repos:
        print(f"no code repositories under {quality.CODE_REPOS} (set SEMSEARCH_CODEREPOS)")
        return
    if "--related" in sys.argv:
        return print_related(repos)
    rows = typed_scores(repos)
    print("| query | code nDCG@10 | symbol | question | " + " | ".join(repos) + " |")
    print("|---|---|---|---|" + "---|" * len(repos))
    for row, cells in rows.items():
        print(f"| {row} | {cells['all']:.3f} | {cells['symbol']:.3f} | {cells['question']:.3f} | "
              + " | ".join(f"{cells[r]:.3f}" for r in repos) + " |")  # fmt: skip
    print_related(repos)


def print_related(repos: list[str]) -> None:
    for label, baseline in (("mean vector (baseline)", True), ("Index.related (chunks vote)", False)):
        mean, firsts, items, lines = related_scores(repos, baseline=baseline)
        print(f"\nrelated, {label}: nDCG@5 {mean:.3f}, first result related in {firsts}/{items}")
        print("\n".join(lines))


if __name__ == "__main__":
    main()
