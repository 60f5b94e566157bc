"""The exploration notebook runs top to bottom, so it never rots."""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]


def test_explore_notebook_executes_and_finds_the_log_rotation_page():
    notebook = nbformat.read(ROOT / "notebooks" / "explore.ipynb", as_version=4)
    NotebookClient(notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(ROOT)}}).execute()
    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.get("outputs", [])]
    assert not [o for o in outputs if o.output_type == "error"]
    summary = "".join(o.get("text", "") for o in notebook.cells[1].outputs)
    assert " 0 failed" in summary
    table = notebook.cells[2].outputs[0]["data"]["text/plain"]
    assert "log" in table.splitlines()[1].lower()  # the top hit is a file about logs
    assert any("image/png" in o.get("data", {}) for o in notebook.cells[4].outputs)
