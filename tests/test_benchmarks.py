"""The benchmark suite runs end to end in quick mode, so it never rots (no speed is asserted)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from semsearch.embed.local import cuda_provider_available

ROOT = Path(__file__).resolve().parents[1]


def test_quick_benchmark_suite_prints_every_row_with_a_baseline():
    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "run.py"), "--quick"], capture_output=True, text=True, timeout=1500
    )
    assert result.returncode == 0, result.stderr[-3000:]
    rows = [line for line in result.stdout.splitlines() if line.startswith("| ") and not line.startswith("| row")]
    names = [row.split("|")[1].strip() for row in rows]
    for number in ("1.", "2.", "3.", "4.", "5.", "5b.", "6.", "7.", "7b.", "10.", "10b.", "11.", "11b.", "13."):
        assert any(name.startswith(number) for name in names), (number, names)
    for prefix in ("serve:", "watch: save to searchable", "ui: keystroke to results"):
        assert any(name.startswith(prefix) for name in names), (prefix, names)
    assert any(name.startswith("watch:") and "event storm" in name for name in names), names
    has_cuda = cuda_provider_available()
    for row in rows:
        cells = [c.strip() for c in row.split("|")[1:-1]]
        if cells[0].startswith("10b.") and not has_cuda:  # the GPU row says why it could not run
            assert cells[1] == "not run" and "no CUDA provider" in cells[5], row
            continue
        assert cells[1] and cells[1] not in ("-", "not run"), row  # every other row has a measured figure
