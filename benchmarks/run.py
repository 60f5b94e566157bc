"""The benchmark suite: every row prints its figure, a baseline measured in the same run, and the ratio.

python benchmarks/run.py            # full measurement (tens of minutes on 2 cores)
python benchmarks/run.py --quick    # smoke test for CI (small sizes; asserts nothing about speed)
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import bench_embed  # noqa: E402
import bench_index  # noqa: E402
import bench_query  # noqa: E402
import bench_scale  # noqa: E402
import bench_search  # noqa: E402
import bench_serve  # noqa: E402
import bench_static  # noqa: E402
import bench_ui  # noqa: E402
import bench_watch  # noqa: E402
from common import HEADER, cpu_flags  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small sizes, one repeat: a smoke test")
    args = parser.parse_args()
    print(f"# semsearch benchmarks ({'quick' if args.quick else 'full'})")
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, CPU flags: {cpu_flags()}; "
          f"python {platform.python_version()}\n")  # fmt: skip
    print(HEADER, flush=True)
    started = time.perf_counter()
    for module in (
        bench_embed,
        bench_static,
        bench_serve,
        bench_index,
        bench_search,
        bench_query,
        bench_scale,
        bench_watch,
        bench_ui,
    ):
        for row in module.run(args.quick):
            print(row.format(), flush=True)
    print(f"\n(ran in {time.perf_counter() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
