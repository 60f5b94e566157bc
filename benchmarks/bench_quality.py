"""Retrieval quality per mode, in one table: code questions (file-level nDCG@10), the docs folders
(hit@1 / hit@3) and SciFact (BEIR) test nDCG@10.

    python benchmarks/bench_quality.py [--code] [--docs] [--scifact] [--quick] [--index-time] [--model M]

Every evaluation index is built once in the cache dir ($SEMSEARCH_CACHE_DIR/eval, else the user
cache) and reused, so re-running after a ranking change costs only the queries.

Code questions (benchmarks/code_questions.json) are asked of public repositories at pinned
revisions, read from $SEMSEARCH_CODEREPOS/<name> (default /work/coderepos): this benchmark
fetches nothing. Check a repository out with
`git clone URL NAME && git -C NAME checkout REVISION` (`--checkouts` prints these commands for the
missing ones); a missing one is skipped with a message. `--code-repos koin,plug` asks only those sets.
"today's chunks" rows use the paragraph chunker for code (semsearch before syntax-aware chunks).

Tuning used only the code and docs questions and SciFact *train*; SciFact test is reported.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from common import SHARED  # noqa: E402

SCIFACT = SHARED / "eval" / "scifact"
DOCS = SHARED / "eval" / "docs-corpus"
QUESTIONS = Path(__file__).with_name("docs_questions.json")
CODE_QUESTIONS = Path(__file__).with_name("code_questions.json")
CODE_REPOS = Path(os.environ.get("SEMSEARCH_CODEREPOS", "/work/coderepos"))
MODES = ("dense", "keyword", "hybrid", "auto")
DEFAULT_MODEL = "all-minilm"


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _eval_dir() -> Path:
    from semsearch.embed.local import cache_dir

    return cache_dir() / "eval"


def _embedder(model: str):
    """The in-process embedder for `model` (all-minilm, all-minilm:int8, all-minilm:static)."""
    from semsearch.embed import LOCAL, get_embedder

    return get_embedder(LOCAL, model=model)


def _model_suffix(model: str) -> str:
    """'' for the default model (its indexes keep their names), else '-<model>' for an index path."""
    return "" if model == DEFAULT_MODEL else "-" + model.replace(":", "_")


# -- code ------------------------------------------------------------------------------------------


@contextlib.contextmanager
def code_chunker(syntax: bool):
    """Chunk code syntax-aware (True) or with today's paragraph chunker (False) inside the block."""
    from semsearch.ingest import chunk

    chunk.SYNTAX_AWARE_CODE = syntax
    try:
        yield
    finally:
        chunk.SYNTAX_AWARE_CODE = True


def code_index(name: str, repo: dict, syntax: bool, model: str = DEFAULT_MODEL):
    """The repository's index (built once), with syntax-aware code chunks or today's paragraph chunks."""
    from semsearch.index import Index

    chunker = "syntax" if syntax else "paragraphs"
    path = _eval_dir() / f"code-{name}-{repo['revision'][:12]}-{chunker}{_model_suffix(model)}"
    index = Index(path, embedder=_embedder(model))
    part = repo.get("index", {})
    with code_chunker(syntax):
        report = index.add([CODE_REPOS / name / p for p in part.get("paths", ["."])], include=part.get("include", ()))
    timing = path / "build-seconds.json"
    if report.new:
        timing.write_text(json.dumps({"seconds": report.seconds, "chunks": index.db.chunk_count()}))
        _log(f"  {name} ({'syntax' if syntax else 'paragraphs'}): {report.summary()}")
    return index


def file_ndcg(files: list[str], targets: list[str], k: int = 10) -> float:
    """nDCG@k of a file ranking with binary relevance."""
    dcg = sum(1 / math.log2(rank + 2) for rank, f in enumerate(files[:k]) if f in targets)
    ideal = sum(1 / math.log2(rank + 2) for rank in range(min(k, len(targets))))
    return dcg / ideal if ideal else 0.0


def ranked_files(index, root: Path, question: str, mode: str, k: int = 10) -> list[str]:
    hits = index.search(question, k=k, mode=mode, files=True)
    return [Path(h.path).relative_to(root).as_posix() for h in hits]


def code_scores(
    quick: bool = False, model: str = DEFAULT_MODEL, only: set[str] | None = None
) -> dict[str, dict[str, tuple]]:
    """{row: {repo or 'all': (nDCG@10, symbol questions with the defining file first, symbol questions)}}."""
    data = json.loads(CODE_QUESTIONS.read_text())
    if only:
        data["repos"] = {name: repo for name, repo in data["repos"].items() if name in only}
    rows: dict[str, dict[str, tuple]] = {}
    present = [name for name in data["repos"] if (CODE_REPOS / name).is_dir()]
    for name in data["repos"]:
        if name not in present:
            _log(f"  code: {CODE_REPOS / name} not found, skipping {name} (check out {data['repos'][name]['url']} "
                 f"at {data['repos'][name]['revision']}; set SEMSEARCH_CODEREPOS)")  # fmt: skip
    if not present:
        return rows
    variants = [("dense, today's chunks", False, "dense"), ("auto, today's chunks", False, "auto")]
    variants += [(mode, True, mode) for mode in MODES]
    for label, syntax, mode in variants:
        totals = {"all": [0.0, 0, 0, 0]}
        for name in present:
            root = (CODE_REPOS / name).resolve()
            questions = [q for q in data["questions"] if q["repo"] == name][: 6 if quick else None]
            with code_index(name, data["repos"][name], syntax, model) as index:
                for q in questions:
                    files = ranked_files(index, root, q["query"], mode)
                    score = file_ndcg(files, q["targets"])
                    first = q["kind"] == "symbol" and files[:1] == q["targets"][:1]
                    for key in ("all", name):
                        t = totals.setdefault(key, [0.0, 0, 0, 0])
                        t[0] += score
                        t[1] += 1
                        t[2] += first
                        t[3] += q["kind"] == "symbol"
        rows[label] = {key: (t[0] / t[1], t[2], t[3]) for key, t in totals.items() if t[1]}
    return rows


def checkout_commands() -> list[str]:
    """Shell commands that check out the missing code repositories at their pinned revisions."""
    data = json.loads(CODE_QUESTIONS.read_text())
    return [
        f"git clone {repo['url']} {CODE_REPOS / name} && git -C {CODE_REPOS / name} checkout {repo['revision']}"
        for name, repo in data["repos"].items()
        if not (CODE_REPOS / name).is_dir()
    ]


def index_time_rows(repeats: int = 3) -> list[str]:
    """Index time of each code tree with both chunkers, measured now, in the same run.

    Each repeat indexes the tree into a fresh temporary index with today's paragraph chunker and then
    with the syntax-aware one (interleaved, so a change in machine load hits both); the in-process
    model, loaded before the first build, is warm for all. Median of `repeats`.
    """
    import tempfile

    from semsearch.embed.local import LocalEmbedder
    from semsearch.index import Index

    data = json.loads(CODE_QUESTIONS.read_text())
    embedder = LocalEmbedder()
    embedder.embed(["warm up"])
    lines = [
        f"| code tree | chunks (paragraphs / syntax) | index s, paragraphs (median of {repeats}) "
        f"| index s, syntax (median of {repeats}) | syntax / paragraphs |",
        "|---|---|---|---|---|",
    ]
    ratios = []
    for name, repo in data["repos"].items():
        if not (CODE_REPOS / name).is_dir():
            continue
        part = repo.get("index", {})
        roots = [CODE_REPOS / name / p for p in part.get("paths", ["."])]
        seconds: dict[bool, list[float]] = {False: [], True: []}
        chunks: dict[bool, int] = {}
        for _ in range(repeats):
            for syntax in (False, True):
                with (
                    code_chunker(syntax),
                    tempfile.TemporaryDirectory() as tmp,
                    Index(Path(tmp) / "idx", embedder=embedder) as index,
                ):
                    report = index.add(roots, include=part.get("include", ()))
                    seconds[syntax].append(report.seconds)
                    chunks[syntax] = report.chunks_embedded
        old, new = sorted(seconds[False])[repeats // 2], sorted(seconds[True])[repeats // 2]
        ratios.append(new / old)
        lines.append(f"| {name} | {chunks[False]} / {chunks[True]} | {old:.1f} | {new:.1f} | {new / old:.2f}x |")
        _log(f"  index time {name}: paragraphs {seconds[False]}, syntax {seconds[True]}")
    if ratios:
        lines.append(f"| all (geometric mean) | | | | {math.prod(ratios) ** (1 / len(ratios)):.2f}x |")
    return lines


# -- docs ------------------------------------------------------------------------------------------


def docs_scores(quick: bool = False, model: str = DEFAULT_MODEL) -> dict[str, dict[str, tuple[int, int, int]]]:
    """{mode: {folder: (hit@1, hit@3, questions)}}."""
    from semsearch.index import Index

    questions = json.loads(QUESTIONS.read_text())
    scores: dict[str, dict[str, tuple[int, int, int]]] = {mode: {} for mode in MODES}
    for folder, items in questions.items():
        root = DOCS / folder
        if not root.is_dir():
            _log(f"  docs: {root} not found, skipping {folder}")
            continue
        with Index(_eval_dir() / f"docs-{folder}{_model_suffix(model)}", embedder=_embedder(model)) as index:
            started = time.perf_counter()
            report = index.add([root])
            _log(f"  {folder}: {report.summary()} ({time.perf_counter() - started:.0f} s)")
            asked = list(items.items())[: 5 if quick else None]
            for mode in MODES:
                hit1 = hit3 = 0
                for question, targets in asked:
                    files = ranked_files(index, root, question, mode, k=3)
                    hit1 += files[:1] != [] and files[0] in targets
                    hit3 += any(f in targets for f in files[:3])
                scores[mode][folder] = (hit1, hit3, len(asked))
    return scores


# -- SciFact ---------------------------------------------------------------------------------------


def scifact_scores(splits=("train", "test"), model: str = DEFAULT_MODEL) -> dict[str, dict[str, float]]:
    from semsearch.evaluate import evaluate

    scores: dict[str, dict[str, float]] = {}
    for mode in MODES:
        for split in splits:
            result = evaluate(SCIFACT, split=split, mode=mode, embedder="local", model=model)
            scores.setdefault(mode, {})[split] = result.ndcg_at_10
            _log(f"  scifact {split} {mode}: {result.ndcg_at_10:.4f} (index {result.index_seconds:.0f} s, 0 = reused)")
    return scores


def unchunked_dense(model: str = DEFAULT_MODEL) -> float:
    """Dense retrieval the way MTEB scores it: title + ' ' + text, truncated to 256 tokens, exact search."""
    import numpy as np

    from semsearch.evaluate import load_beir, ndcg_at

    dataset = load_beir(SCIFACT, "test")
    ids, texts = [], []
    for doc_id, title, text in dataset.documents():
        ids.append(doc_id)
        texts.append(f"{title} {text}".strip())
    embedder = _embedder(model)
    docs = embedder.embed(texts)
    qids = list(dataset.queries)
    queries = embedder.embed([dataset.queries[q] for q in qids])
    scores = queries @ docs.T
    run = {}
    for n, qid in enumerate(qids):
        top = np.argsort(-scores[n])[:100]
        run[qid] = {ids[i]: float(scores[n, i]) for i in top}
    return ndcg_at(run, dataset.qrels)


def table(code: dict, docs: dict, scifact: dict) -> str:
    head = ["mode"]
    repos = sorted({key for row in code.values() for key in row if key != "all"})
    if code:
        head += ["code nDCG@10", *[f"{r} nDCG@10" for r in repos], "symbol: defining file first"]
    folders = sorted({f for row in docs.values() for f in row})
    head += [f"{f} hit@1 / hit@3" for f in folders]
    if scifact:
        head += ["SciFact train nDCG@10", "SciFact test nDCG@10"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    labels = list(code) if code else list(MODES)
    for label in labels:
        mode = label if label in MODES else None
        cells = [label]
        if code:
            row = code.get(label, {})
            all_ = row.get("all")
            cells.append(f"{all_[0]:.3f}" if all_ else "-")
            cells += [f"{row[r][0]:.3f}" if r in row else "-" for r in repos]
            cells.append(f"{all_[1]}/{all_[2]}" if all_ else "-")
        for f in folders:
            hit = docs.get(mode, {}).get(f) if mode else None
            cells.append(f"{hit[0]}/{hit[2]} / {hit[1]}/{hit[2]}" if hit else "-")
        if scifact:
            s = scifact.get(mode, {}) if mode else {}
            cells += [f"{s['train']:.4f}" if "train" in s else "-", f"{s['test']:.4f}" if "test" in s else "-"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--code", action="store_true")
    parser.add_argument("--docs", action="store_true")
    parser.add_argument("--scifact", action="store_true")
    parser.add_argument("--quick", action="store_true", help="only the first few questions of each set")
    parser.add_argument("--index-time", action="store_true", help="code trees: index and chunking time per chunker")
    parser.add_argument("--unchunked", action="store_true", help="SciFact dense without chunking, as MTEB scores it")
    parser.add_argument("--model", default=DEFAULT_MODEL, help="in-process model: all-minilm, all-minilm:static, ...")
    parser.add_argument("--code-repos", help="comma-separated repository names: only these code question sets")
    parser.add_argument("--checkouts", action="store_true", help="print the git commands for missing code repos")
    args = parser.parse_args()
    if args.checkouts:
        print("\n".join(checkout_commands()) or "every code repository is checked out")
        sys.exit(0)
    if not (args.code or args.docs or args.scifact or args.index_time):
        args.code = args.docs = args.scifact = args.index_time = True
    print(f"Code repositories from {CODE_REPOS} (SEMSEARCH_CODEREPOS); indexes cached in {_eval_dir()}\n", flush=True)
    print(f"Model: {args.model}\n", flush=True)
    only = set(args.code_repos.split(",")) if args.code_repos else None
    code = code_scores(args.quick, args.model, only) if args.code else {}
    docs = docs_scores(args.quick, args.model) if args.docs else {}
    scifact = scifact_scores(model=args.model) if args.scifact else {}
    print(table(code, docs, scifact) + "\n", flush=True)
    if args.index_time:
        print("\n".join(index_time_rows()), flush=True)
    if args.unchunked:
        print(f"SciFact test dense without chunking: {unchunked_dense(args.model):.4f} nDCG@10")
