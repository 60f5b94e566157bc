"""Watch rows: a saved file's time to searchable, and the cost of an event storm.

python benchmarks/bench_watch.py [--quick]

Both rows run a real `semsearch watch --json` subprocess (default settings, in-process model, warm
after its first run) and read its batch lines: a batch is printed after its commit, so from then on
any process finds the file. Baselines are measured in the same run.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from common import Row, doc_texts, main  # noqa: E402

ENV = {**os.environ, "SEMSEARCH_EMBEDDER": "local"}


class Watch:
    """A `semsearch watch --json` subprocess; batches arrive on a thread with their arrival time."""

    def __init__(self, folder: Path, index: Path):
        self.process = subprocess.Popen(
            [sys.executable, "-m", "semsearch", "watch", str(folder), "--index", str(index), "--json"],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            env=ENV,
        )
        self.batches: list[tuple[float, dict]] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.process.stdout:
            self.batches.append((time.perf_counter(), json.loads(line)))

    def wait(self, count: int, timeout: float = 600) -> None:
        ends = time.perf_counter() + timeout
        while len(self.batches) < count:
            if self.process.poll() is not None or time.perf_counter() > ends:
                raise RuntimeError(f"semsearch watch gave {len(self.batches)} batches, expected {count}")
            time.sleep(0.005)

    def settle(self, quiet: float = 2.0) -> None:
        """Wait until no batch came for `quiet` seconds."""
        seen = len(self.batches)
        ends = time.perf_counter() + quiet
        while time.perf_counter() < ends:
            time.sleep(0.05)
            if len(self.batches) != seen:
                seen, ends = len(self.batches), time.perf_counter() + quiet

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(60)


def page(seed: int) -> str:
    """A one-page Markdown file (~450 words in a few sections)."""
    parts = doc_texts(4, 100, 120)
    return f"# Page {seed}\n\n" + "\n\n".join(f"## Part {i} of page {seed}\n\n{text}" for i, text in enumerate(parts))


def latency_rows(quick: bool) -> list[Row]:
    """Median seconds from a file's save to the batch line that made it searchable."""
    repeats = 2 if quick else 10
    with tempfile.TemporaryDirectory() as tmp:
        folder, index = Path(tmp) / "docs", Path(tmp) / "index"
        folder.mkdir()
        (folder / "seed.md").write_text(page(0))
        watch = Watch(folder, index)
        try:
            watch.wait(1)  # the initial run (model loaded)
            latencies = []
            for i in range(repeats):
                before = len(watch.batches)
                saved = time.perf_counter()
                (folder / f"page{i}.md").write_text(page(i + 1) + f"\n\nUnique marker {i}.\n")
                watch.wait(before + 1)
                latencies.append(watch.batches[before][0] - saved)
            applied = statistics.median(b["seconds"] for _, b in watch.batches[1:])
        finally:
            watch.stop()
        # Baseline: the alternative without watch, a fresh `semsearch index` run after the save.
        cold = []
        for i in range(1 if quick else 3):
            (folder / f"extra{i}.md").write_text(page(100 + i))
            started = time.perf_counter()
            subprocess.run([sys.executable, "-m", "semsearch", "index", str(folder), "--index", str(index)],
                           check=True, capture_output=True, env=ENV)  # fmt: skip
            cold.append(time.perf_counter() - started)
    return [Row("watch: save to searchable, one-page file (median)", statistics.median(latencies),
                statistics.median(cold), "s", "< 2 s", higher_is_better=False,
                note=f"{repeats} saves; of which applying the batch {applied:.2f} s (300 ms quiet period first); "
                     "baseline = a `semsearch index` run after the save")]  # fmt: skip


def storm_rows(quick: bool) -> list[Row]:
    """A checkout-like storm (every file deleted and rewritten, a few changed) vs one `index` run."""
    from semsearch.embed.local import LocalEmbedder
    from semsearch.index import Index

    files = 100 if quick else 2_500  # two events each (deleted, added): 200 / 5,000 events
    changed = 5 if quick else 20
    contents = [f"# Topic {t}\n\n{text}\n" for t, text in enumerate(doc_texts(50, 40, 60))]

    def populate(folder: Path) -> None:
        for i in range(files):
            sub = folder / f"d{i // 250}"
            sub.mkdir(parents=True, exist_ok=True)
            (sub / f"f{i}.md").write_text(contents[i % len(contents)])

    def storm(folder: Path) -> None:
        for i in range(files):
            path = folder / f"d{i // 250}" / f"f{i}.md"
            path.unlink()
            text = contents[i % len(contents)]
            path.write_text(text if i >= changed else text + f"\nChanged in the storm ({i}).\n")

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        # Baseline: the same storm on a copy, then one in-process `index` run (warm model).
        embedder = LocalEmbedder()
        populate(tmp / "copy")
        with Index(tmp / "copy-index", embedder=embedder) as index:
            index.add([tmp / "copy"])
            storm(tmp / "copy")
            baseline = index.add([tmp / "copy"])

        populate(tmp / "docs")
        watch = Watch(tmp / "docs", tmp / "index")
        try:
            watch.wait(1)
            before = len(watch.batches)
            storm(tmp / "docs")
            ended = time.perf_counter()
            watch.wait(before + 1)
            watch.settle()
        finally:
            watch.stop()
        batches = [b for _, b in watch.batches[before:]]
    first = batches[0]
    events = sum(b["events"] for b in batches)
    latency = watch.batches[before][0] - ended
    return [Row(f"watch: {events:,}-event storm ({files:,} files rewritten, {changed} changed)", first["seconds"],
                baseline.seconds, "s", "one batch, no more work than `index`", higher_is_better=False,
                note=f"{len(batches)} batch(es); chunks embedded {sum(b['chunks_embedded'] for b in batches)} vs "
                     f"{baseline.chunks_embedded} by `index`; storm end to searchable {latency:.2f} s; "
                     "synthetic files (50 texts cycled)")]  # fmt: skip


def run(quick: bool = False) -> list[Row]:
    return latency_rows(quick) + storm_rows(quick)


if __name__ == "__main__":
    main(run, __doc__)
