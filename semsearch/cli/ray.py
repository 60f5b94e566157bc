"""`index --ray`: the indexing run as a Ray job; a missing extra is one line, before any work."""

from __future__ import annotations

import functools

from semsearch.cli.output import say


def ray_adder(idx, address: str, embedder_spec: str | None):
    """A stand-in for `idx.add` that runs the pipeline on the Ray cluster at `address` ("auto": any)."""
    from semsearch.distributed.ray_index import RayOptions, add_paths_ray, import_ray

    import_ray()
    say(f"indexing on Ray ({address}: the running cluster, else a local one)"
        if address == "auto" else f"indexing on the Ray cluster at {address}")  # fmt: skip
    options = RayOptions(address=address, embedder_spec=embedder_spec)
    return functools.partial(add_paths_ray, idx, options=options)
