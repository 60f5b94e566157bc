"""Shared helpers: medians over repeats, ratio rows, sample texts, CPU flags."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
FASTAPI_DOCS = SHARED / "eval" / "docs-corpus" / "fastapi"


@dataclass
class Row:
    """One benchmark line: a figure, the baseline measured in the same run, and their ratio."""

    name: str
    figure: float | None  # None: the row could not run here (its note says why)
    baseline: float | None
    unit: str
    goal: str
    higher_is_better: bool = True
    note: str = ""

    @property
    def ratio(self) -> float | None:
        """figure / baseline: above 1 means more throughput, or more time, than the baseline."""
        if not self.baseline or not self.figure:
            return None
        return self.figure / self.baseline

    def format(self) -> str:
        ratio = f"{self.ratio:.2f}x" if self.ratio is not None else "-"
        base = f"{self.baseline:,.3f}" if self.baseline is not None else "-"
        figure = f"{self.figure:,.3f} {self.unit}" if self.figure is not None else "not run"
        return f"| {self.name} | {figure} | {base} | {ratio} | {self.goal} | {self.note} |"


HEADER = "| row | figure | baseline (same run) | ratio | goal | note |\n|---|---|---|---|---|---|"


def median_time(action: Callable[[], object], repeats: int) -> float:
    """Median wall seconds of `action` over `repeats` runs."""
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def cpu_flags() -> str:
    try:
        flags = next(line for line in Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("flags"))
    except (OSError, StopIteration):
        return "unknown"
    present = set(flags.split())
    wanted = ["avx2", "fma", "avx512f", "avx512_vnni", "avx_vnni", "amx_int8"]
    return ", ".join(f for f in wanted if f in present) or "none of avx2/avx512/vnni"


def doc_texts(count: int, min_words: int = 60, max_words: int = 120) -> list[str]:
    """Realistic passages of varied length cut from the FastAPI docs (or data/ when absent)."""
    import re

    folder = FASTAPI_DOCS if FASTAPI_DOCS.is_dir() else ROOT / "data"
    words: list[str] = []
    for path in sorted(folder.rglob("*.md")):
        words += re.sub(r"[`#*|<>{}\[\]]", " ", path.read_text(errors="replace")).split()
        if len(words) > count * max_words * 2:
            break
    texts, position = [], 0
    for i in range(count):
        size = min_words + (i * 37) % (max_words - min_words + 1)
        if position + size > len(words):
            position = 0
        texts.append(" ".join(words[position : position + size]))
        position += size
    return texts


def main(run: Callable[[bool], list[Row]], description: str | None) -> None:
    """The command line every benchmark module shares: `python benchmarks/X.py [--quick]`."""
    import argparse

    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--quick", action="store_true", help="small sizes, one repeat: a smoke test")
    args = parser.parse_args()
    print(HEADER)
    for row in run(args.quick):
        print(row.format(), flush=True)
