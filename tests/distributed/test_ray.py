"""`semsearch index --ray` on a real local Ray cluster gives the index a local run gives."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from semsearch.cli import cli
from semsearch.distributed.ray_index import EmbedPlan, embed_plan
from semsearch.errors import SemsearchError
from semsearch.index import Index
from tests.distributed.compare import assert_same_index

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT.parent / "shared" / "eval" / "docs-corpus" / "fastapi" / "deployment"  # 9 real docs, ~150 chunks


@pytest.fixture(scope="module")
def ray_cluster():
    """A real two-CPU Ray cluster in this process, on loopback only, shut down after the module."""
    import ray

    ray.init(
        num_cpus=2,
        object_store_memory=100 * 2**20,
        include_dashboard=False,
        log_to_driver=False,
        _node_ip_address="127.0.0.1",
    )
    try:
        yield ray
    finally:
        ray.shutdown()


@pytest.fixture
def corpus(tmp_path) -> list[Path]:
    """A copy of data/ (the tests change it) and the FastAPI deployment docs (read-only, from ../shared)."""
    assert DOCS.is_dir(), f"missing {DOCS}"
    data = tmp_path / "data"
    shutil.copytree(ROOT / "data", data)
    return [data, DOCS]


def index_with_ray(index_dir: Path, paths: list[Path]) -> tuple[int, dict]:
    result = CliRunner().invoke(
        cli, ["index", "--ray", "--embedder", "local", "--index", str(index_dir), "--json", *map(str, paths)]
    )
    assert result.exit_code == 0, result.output
    return result.exit_code, json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_ray_index_is_the_local_index_and_reruns_are_incremental(ray_cluster, corpus, tmp_path):
    local = tmp_path / "local"
    with Index(local, embedder="local") as idx:
        local_report = idx.add(corpus)

    _, first = index_with_ray(tmp_path / "ray", corpus)
    assert first["failed"] == local_report.failed
    assert first["new"] == local_report.new and first["chunks_embedded"] == local_report.chunks_embedded
    chunks = assert_same_index(local, tmp_path / "ray")  # same files, chunk texts, vectors (cosine >= 0.9999)
    assert chunks > 150

    _, again = index_with_ray(tmp_path / "ray", corpus)
    assert again["chunks_embedded"] == 0 and again["new"] == 0 and again["changed"] == 0
    assert again["unchanged"] == first["new"]

    # One file edited, one touched without change, one deleted: the same as a local re-run does.
    data = corpus[0]
    (data / "faq.md").write_text((data / "faq.md").read_text() + "\n\n## Added\n\nA new answer about tides.\n")
    os.utime(data / "docs" / "index.md", ns=(1, 1))
    (data / "notes" / "ideas.txt").unlink()
    _, third = index_with_ray(tmp_path / "ray", corpus)
    assert (third["new"], third["changed"], third["deleted"]) == (0, 1, 1)
    assert third["unchanged"] == first["new"] - 2
    with Index(local, embedder="local") as idx:
        idx.add(corpus)
    assert_same_index(local, tmp_path / "ray")
    # The vector cache follows SQLite: search finds the new text.
    with Index(tmp_path / "ray", embedder="local") as idx:
        assert idx.search("a new answer about tides", k=1)[0].path.endswith("faq.md")


def run_cli(code: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=120)


def test_without_the_extra_ray_is_one_line_and_nothing_is_written(tmp_path):
    code = "import sys; sys.modules['ray'] = None\nfrom semsearch.cli import main; sys.argv[0] = 'semsearch'; main()"
    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "a.md").write_text("# A\n\nSome text.\n")
    out = run_cli(code, "index", "--ray", "--embedder", "local", "--index", str(tmp_path / "idx"), str(folder))
    assert out.returncode == 1
    assert out.stderr.splitlines()[-1] == "Error: --ray needs the Ray extra: pip install 'semsearch[ray]'"
    assert "Traceback" not in out.stderr
    assert not (tmp_path / "idx" / "index.db").exists() or Index(tmp_path / "idx").db.file_count() == 0


def test_a_local_run_never_imports_ray(tmp_path):
    code = (
        "import sys\nfrom semsearch.cli import main\nsys.argv[0] = 'semsearch'\n"
        "try:\n    main()\nexcept SystemExit as e:\n    assert not e.code, e.code\n"
        "print('RAY' if any(m == 'ray' or m.startswith('ray.') for m in sys.modules) else 'NO RAY')"
    )
    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "a.md").write_text("# A\n\nSome text.\n")
    out = run_cli(code, "index", "--embedder", "local", "--index", str(tmp_path / "idx"), str(folder))
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines()[-1] == "NO RAY"


def test_reindex_with_ray_is_refused_and_keeps_the_index(tmp_path):
    """--reindex must stay crash-safe (built beside, then swapped), so --ray leaves it to the local pipeline."""
    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "a.md").write_text("# A\n\nSome text about tea.\n")
    index_dir = tmp_path / "idx"
    runner = CliRunner()
    first = runner.invoke(cli, ["index", "--embedder", "local", "--index", str(index_dir), str(folder)])
    assert first.exit_code == 0, first.output
    again = runner.invoke(
        cli, ["index", "--ray", "--reindex", "--embedder", "local", "--index", str(index_dir), str(folder)]
    )
    assert again.exit_code == 1
    assert again.output.splitlines()[-1] == (
        "Error: --reindex runs locally: drop --ray for the rebuild, then use --ray for updates"
    )
    assert Index(index_dir).db.file_count() == 1


@pytest.mark.parametrize(
    ("resources", "spec", "expected"),
    [
        ({"CPU": 16.0, "GPU": 2.0}, "local", EmbedPlan("local:cuda", 2, num_cpus=1, num_gpus=1)),
        ({"CPU": 16.0, "GPU": 2.0}, "local:cpu", EmbedPlan("local:cpu", 4, num_cpus=1)),
        ({"CPU": 16.0}, "local", EmbedPlan("local", 4, num_cpus=1)),
        ({"CPU": 2.0}, "local", EmbedPlan("local", 1, num_cpus=1)),
        ({"CPU": 16.0, "GPU": 1.0}, "http://a:1,http://b:2", EmbedPlan("http://a:1,http://b:2", 2, num_cpus=0.25)),
    ],
)
def test_embed_actors_use_the_clusters_gpus_for_the_local_model(resources, spec, expected):
    assert embed_plan(resources, spec) == expected


def test_local_cuda_on_a_cluster_without_gpus_is_one_line():
    with pytest.raises(SemsearchError, match="the Ray cluster has no GPUs"):
        embed_plan({"CPU": 16.0}, "local:cuda")


# A real local cluster that declares one GPU: the embedding actors reserve it and run the model on ONNX
# Runtime's CUDA provider. Without that provider (no semsearch[gpu], no GPU) the run stops with one line;
# with it, the index is the CPU's. "local:cpu" keeps the actors on the CPUs of the same cluster.
GPU_CLUSTER = """
import json, os, sys
import ray
ray.init(num_cpus=2, num_gpus=1, object_store_memory=100 * 2**20, include_dashboard=False, log_to_driver=False,
         _node_ip_address="127.0.0.1")
from semsearch.cli import main
for args in json.loads(os.environ["RUNS"]):
    sys.argv = ["semsearch", *args]
    try:
        main()
    except SystemExit as e:
        print(f"EXIT {e.code or 0}", flush=True)
"""


@pytest.mark.slow
def test_a_cluster_with_a_gpu_runs_the_embedding_actors_on_it(tmp_path):
    from semsearch.embed.local import cuda_provider_available

    folder = tmp_path / "notes"
    shutil.copytree(ROOT / "data", folder)
    gpu, cpu, local = tmp_path / "gpu", tmp_path / "cpu", tmp_path / "local"
    runs = [
        ["index", "--ray", "--embedder", "local", "--index", str(gpu), str(folder)],
        ["index", "--ray", "--embedder", "local:cpu", "--index", str(cpu), str(folder)],
    ]
    out = subprocess.run(
        [sys.executable, "-c", GPU_CLUSTER],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "RUNS": json.dumps(runs)},
    )
    exits = [line for line in out.stdout.splitlines() if line.startswith("EXIT")]
    assert CliRunner().invoke(cli, ["index", "--embedder", "local", "--index", str(local), str(folder)]).exit_code == 0
    if cuda_provider_available():
        assert exits == ["EXIT 0", "EXIT 0"], out.stderr[-3000:]
        assert_same_index(local, gpu)
    else:
        assert exits == ["EXIT 1", "EXIT 0"], out.stderr[-3000:]
        errors = [line for line in out.stderr.splitlines() if line.startswith("Error:")]
        assert errors == [
            "Error: GPU embedding needs ONNX Runtime's CUDA provider and an NVIDIA GPU: pip install "
            "'semsearch[gpu]' in place of onnxruntime (see the README's GPU notes)"
        ]
        assert Index(gpu).db.file_count() == 0  # stopped before anything was written
    assert_same_index(local, cpu)


@pytest.mark.slow
def test_local_and_ray_runs_agree_on_a_hostile_tree(ray_cluster, tmp_path, monkeypatch):
    """One pipeline: an unreadable folder keeps its files, a file turned binary or too big leaves, a renamed
    file reuses its vectors, in both runs alike (listing and diffing are the local code; Ray only extracts,
    chunks and embeds)."""
    from semsearch.distributed.ray_index import RayOptions, add_paths_ray

    tree = tmp_path / "tree"
    files = {
        "a/one.md": "# One\n\nRivers carry sediment to the sea.\n",
        "a/two.md": "# Two\n\nGlaciers carve valleys over centuries.\n",
        "locked/three.md": "# Three\n\nDeserts bloom after rare rain.\n",
        "big.md": "# Big\n\nVolcanoes build islands.\n",
        "bin.txt": "Plain text about coral reefs.\n",
        "ren/old.md": "# Tides\n\nThe moon pulls the tides twice a day.\n",
    }
    for rel, text in files.items():
        (tree / rel).parent.mkdir(parents=True, exist_ok=True)
        (tree / rel).write_text(text)
    limit = 2_000

    def run(where: Path, with_ray: bool) -> dict:
        with Index(where, embedder="local") as idx:
            if with_ray:
                report = add_paths_ray(idx, [tree], RayOptions(embedder_spec="local"), max_file_bytes=limit)
            else:
                report = idx.add([tree], max_file_bytes=limit)
        return report.to_dict()

    first = {kind: run(tmp_path / kind, kind == "ray") for kind in ("local", "ray")}
    assert first["local"]["new"] == first["ray"]["new"] == 6
    assert_same_index(tmp_path / "local", tmp_path / "ray")

    (tree / "bin.txt").write_bytes(b"\x00\x01binary now\x00" * 10)
    (tree / "big.md").write_text("# Big\n\n" + "Volcanoes build islands. " * 200)
    (tree / "ren" / "old.md").rename(tree / "ren" / "new.md")
    real_scandir = os.scandir

    def scandir(path="."):
        if Path(path) == tree / "locked":
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    second = {kind: run(tmp_path / kind, kind == "ray") for kind in ("local", "ray")}
    for kind, report in second.items():
        assert (report["new"], report["deleted"], report["chunks_embedded"]) == (1, 3, 0), kind  # rename: reused
    assert_same_index(tmp_path / "local", tmp_path / "ray")
    with Index(tmp_path / "ray", embedder="local") as idx:
        names = sorted(Path(p).name for p in idx.db.files())
    assert names == ["new.md", "one.md", "three.md", "two.md"]  # the unreadable folder's file is kept
