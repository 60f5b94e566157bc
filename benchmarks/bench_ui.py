"""Row ui: keystroke to results on the search page, over the 100k-chunk benchmark index.

    python benchmarks/bench_ui.py [--quick]

A real `semsearch ui` process answers GET /api/search (what the page sends on each
keystroke, after its 80 ms debounce) for every prefix of a few typed questions; the figure
is the median round trip, warm (model and vectors loaded, keep-alive connection, as a
browser holds). The baseline is `Index.search` for the same queries in this process, so the
ratio is what the page adds (HTTP, JSON, snippets). Vectors and chunk texts are synthetic
(bench_search), and no word of QUESTIONS occurs in those texts, so the keyword half of `auto`
finds nothing: a floor for `auto` on real text (benchmarks/README.md, "How to read").
"""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from bench_search import synthetic_index  # noqa: E402
from common import Row, main  # noqa: E402

QUESTIONS = ("how do I rotate the logs", "backup retention policy", "why is sync stuck")


def keystrokes(count: int) -> list[str]:
    """What the box holds after each keystroke (from 3 characters on), cycling through the questions."""
    typed = [q[:n] for q in QUESTIONS for n in range(3, len(q) + 1)]
    return [typed[i % len(typed)] for i in range(count)]


def start_ui(index: Path) -> tuple[subprocess.Popen, str]:
    command = [sys.executable, "-m", "semsearch", "ui", "--index", str(index), "--embedder", "local", "--port", "0"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines: queue.Queue = queue.Queue()
    threading.Thread(target=lambda: [lines.put(x) for x in process.stdout] + [lines.put(None)], daemon=True).start()
    while True:
        line = lines.get(timeout=300)
        if line is None:
            raise RuntimeError("semsearch ui exited before it served the page")
        if "search page at " in line:
            return process, line.split("search page at ", 1)[1].split()[0]


def median_ms(times: list[float]) -> float:
    ordered = sorted(times)
    return ordered[len(ordered) // 2] * 1000


def run(quick: bool = False) -> list[Row]:
    import requests

    from semsearch.index import Index

    chunks = 5_000 if quick else 100_000
    count = 10 if quick else 200
    queries = keystrokes(count)
    with tempfile.TemporaryDirectory() as tmp:
        folder = synthetic_index(Path(tmp) / "index", chunks)
        process, url = start_ui(folder)
        try:
            session = requests.Session()
            for q in queries[:5]:  # warm: first requests, connection
                session.get(url + "api/search", params={"q": q, "k": 10}).raise_for_status()
            page_times = []
            for q in queries:
                started = time.perf_counter()
                response = session.get(url + "api/search", params={"q": q, "k": 10})
                response.json()
                page_times.append(time.perf_counter() - started)
                response.raise_for_status()
        finally:
            process.send_signal(signal.SIGINT)
            process.wait(timeout=30)
        # the baseline runs with the page's settings (one thread per query), so the ratio is what the page adds
        import faiss

        threads, os.environ["SEMSEARCH_THREADS"] = os.environ.get("SEMSEARCH_THREADS"), "1"
        omp_threads = faiss.omp_get_max_threads()
        faiss.omp_set_num_threads(1)
        with Index(folder, create=False, embedder="local") as index:
            for q in queries[:5]:
                index.search(q, 10)
            direct_times = []
            for q in queries:
                started = time.perf_counter()
                index.search(q, 10)
                direct_times.append(time.perf_counter() - started)
        faiss.omp_set_num_threads(omp_threads)
        if threads is None:
            os.environ.pop("SEMSEARCH_THREADS")
        else:
            os.environ["SEMSEARCH_THREADS"] = threads
    page_ms, direct_ms = median_ms(page_times), median_ms(direct_times)
    p90 = sorted(page_times)[int(len(page_times) * 0.9) - 1] * 1000 if len(page_times) >= 10 else max(page_times) * 1000
    return [
        Row(f"ui: keystroke to results (/api/search), {chunks:,}-chunk index", page_ms, direct_ms, "ms",
            "<= 150 ms warm", higher_is_better=False,
            note=f"baseline = in-process Index.search, same settings (1 thread/query, `ui --threads` default); "
                 f"{count} keystrokes, p90 {p90:.1f} ms; the page waits 80 ms after the last keystroke first"),
    ]  # fmt: skip


if __name__ == "__main__":
    main(run, __doc__)
