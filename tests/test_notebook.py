"""The exploration notebook runs top to bottom, on the public API only: it never rots and shows what users can do."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "notebooks" / "explore.ipynb"
INTERNAL_ATTRIBUTES = {"db", "vectors_for", "writer_lock"}  # Index's storage handles, not its API


def internal_uses(source: str) -> list[str]:
    """Names a notebook must not use: any starting with an underscore, any semsearch module but the package
    itself (semsearch.ui, semsearch.store, ...), and the storage behind an Index."""
    found = []
    for node in ast.walk(ast.parse(source)):
        names = []
        if isinstance(node, ast.Name):
            names = [node.id]
        elif isinstance(node, ast.Attribute):
            names = [node.attr]
            if node.attr in INTERNAL_ATTRIBUTES:
                found.append(f".{node.attr}")
            if isinstance(node.value, ast.Name) and node.value.id == "semsearch" and node.attr[0].islower():
                found.append(f"semsearch.{node.attr}")  # a module: semsearch.ui, semsearch.store, ...
        elif isinstance(node, ast.Import):
            names = [a.asname or a.name for a in node.names]
            found += [a.name for a in node.names if a.name.startswith("semsearch.")]
        elif isinstance(node, ast.ImportFrom):
            names = [a.asname or a.name for a in node.names]
            if (node.module or "").split(".")[0] == "semsearch":
                found.append(f"from {node.module} import")
        elif isinstance(node, ast.FunctionDef | ast.ClassDef):
            names = [node.name]
        elif isinstance(node, ast.keyword) and node.arg:
            names = [node.arg]
        found += [n for n in names if n.startswith("_")]
    return found


def code_cells(notebook) -> list[str]:
    return [cell.source for cell in notebook.cells if cell.cell_type == "code"]


def tagged(notebook, tag: str):
    return next(cell for cell in notebook.cells if tag in cell.get("metadata", {}).get("tags", []))


def test_the_check_catches_what_the_old_notebook_did():
    old = (
        "from semsearch.ui.corpus_map import pca_2d\nimport semsearch.store.db\n"
        "vectors = index.db.vectors_for(ids)\nx = index._vectors\nsemsearch.explore.pca_2d(vectors)"
    )
    assert sorted(internal_uses(old)) == [
        ".db",
        ".vectors_for",
        "_vectors",
        "from semsearch.ui.corpus_map import",
        "semsearch.explore",
        "semsearch.store.db",
    ]
    assert internal_uses("import semsearch\nindex = semsearch.Index('x')\nindex.map()") == []


def test_the_notebook_uses_the_public_api_only():
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    problems = {source.splitlines()[0]: internal_uses(source) for source in code_cells(notebook)}
    assert {first: found for first, found in problems.items() if found} == {}
    assert any("import semsearch" in source for source in code_cells(notebook))


def test_explore_notebook_executes_maps_labelled_clusters_and_finds_the_log_rotation_page():
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(ROOT)}}).execute()
    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.get("outputs", [])]
    assert not [o for o in outputs if o.output_type == "error"]
    summary = "".join(o.get("text", "") for o in tagged(notebook, "index").outputs)
    assert " 0 failed" in summary
    # the results show as a table in Jupyter, the top hit a page about logs
    table = tagged(notebook, "search").outputs[0]["data"]["text/html"]
    first_row = table.split("<tbody>")[1].split("</tr>")[0]
    assert "logging.md" in first_row and "Rotating the logs" in first_row
    # the map's clusters are named: three distinctive words each, no two clusters alike
    clusters = tagged(notebook, "clusters").outputs[-1]["data"]["text/plain"]
    labels = re.findall(r"^\d+\s+(\S+ · \S+ · \S+)", clusters, re.M)
    assert len(labels) >= 3 and len(set(labels)) == len(labels), clusters
    assert any("image/png" in o.get("data", {}) for o in tagged(notebook, "map").outputs)
