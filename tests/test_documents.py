"""Documents end to end: Word, PowerPoint, EPUB, OpenDocument and an executed notebook, indexed and asked in
words through the real `semsearch` console script (real index, in-process model)."""

from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path

import pytest

from tests.console import cli_env, semsearch
from tests.ingest.document_files import write_docx, write_epub, write_odt, write_pptx

QUESTIONS = {
    "how often should tomato plants be watered": "garden.docx",
    "is the travel budget being cut": "review.pptx",
    "who polished the lamp so that ships could see the rocks": "keeper.epub",
    "when should I replace the brake pads on my bike": "bike.odt",
    "which month had the most rain": "rainfall.ipynb",
}
OTHERS = {
    "cooking.md": "# Pancakes\n\nWhisk two eggs with milk and flour; fry in butter until golden.\n",
    "network.md": "# Firewall\n\nOpen port 443 for HTTPS traffic and close everything else.\n",
    "taxes.md": "# Tax return\n\nFile the return before the end of April and keep the receipts for six years.\n",
}


def executed_notebook(path):
    """A notebook run by a real kernel: a printed line and a matplotlib figure (a base64 PNG output)."""
    import nbformat
    from nbclient import NotebookClient
    from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

    notebook = new_notebook(
        cells=[
            new_markdown_cell("# Rainfall at the weather station\n\nMonthly totals from the rain gauge."),
            new_code_cell(
                "totals = {'october': 88, 'november': 143, 'december': 97}\n"
                "wettest = max(totals, key=totals.get)\n"
                "print(f'wettest month: {wettest} with {totals[wettest]} millimetres')"
            ),
            new_code_cell(
                "import matplotlib\nmatplotlib.use('module://matplotlib_inline.backend_inline')\n"
                "import matplotlib.pyplot as plt\nplt.bar(list(totals), list(totals.values()))\nplt.show()"
            ),
        ]
    )
    NotebookClient(notebook, timeout=300, kernel_name="python3").execute()
    nbformat.write(notebook, path)
    return path


@pytest.fixture(scope="module")
def indexed(tmp_path_factory):
    folder = tmp_path_factory.mktemp("docs")
    write_docx(folder / "garden.docx")
    write_pptx(folder / "review.pptx")
    write_epub(folder / "keeper.epub")
    write_odt(folder / "bike.odt")
    executed_notebook(folder / "rainfall.ipynb")
    for name, text in OTHERS.items():
        (folder / name).write_text(text)
    env = cli_env(tmp_path_factory.mktemp("home"))
    result = semsearch("index", str(folder), env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("8 new, 0 changed"), result.stdout
    return folder, env


def test_a_question_in_words_finds_each_document_in_the_top_3(indexed, tmp_path):
    folder, env = indexed
    (tmp_path / "questions.txt").write_text("\n".join(QUESTIONS) + "\n")
    result = semsearch("query", "--queries", str(tmp_path / "questions.txt"), "-k", "3", env=env)
    assert result.returncode == 0, result.stderr
    answers = [json.loads(line) for line in result.stdout.splitlines()]
    found = {a["query"]: [r["path"].rsplit("/", 1)[-1] for r in a["results"]] for a in answers}
    assert {q: name for q, name in QUESTIONS.items() if name in found[q]} == QUESTIONS, found


def test_slide_and_cell_hits_name_them_in_json_and_text(indexed):
    folder, env = indexed
    slide = json.loads(semsearch("query", "is the travel budget being cut", "--json", "-k", "1", env=env).stdout)
    assert (slide["path"].rsplit("/", 1)[-1], slide["slide"], slide["cell"]) == ("review.pptx", 3, None)
    assert slide["heading"] == "Budget" and "Notes: Mention that the offsite in Porto is cancelled." in slide["text"]
    cell = json.loads(semsearch("query", "wettest month", "--json", "-k", "1", env=env).stdout)
    assert (cell["path"].rsplit("/", 1)[-1], cell["cell"], cell["slide"]) == ("rainfall.ipynb", 2, None)
    assert "wettest month: november with 143 millimetres" in cell["text"]  # found by its output's text
    text = semsearch("query", "wettest month", "-k", "1", env=env).stdout.splitlines()
    assert re.fullmatch(r" 1\. .*rainfall\.ipynb:\d+-\d+ \(cell 2\)  \[\d\.\d{3}\]  Rainfall at the weather station",
                        text[0]), text  # fmt: skip


def test_the_executed_notebooks_image_is_left_out(indexed):
    folder, env = indexed
    notebook = json.loads((folder / "rainfall.ipynb").read_text())
    png = notebook["cells"][2]["outputs"][-1]["data"]["image/png"]
    assert len(png) > 5000  # a real figure
    database = next(Path(env["SEMSEARCH_HOME"]).rglob("index.db"))
    query = "SELECT c.text FROM chunks c JOIN files f ON f.id = c.file_id WHERE f.path LIKE '%rainfall.ipynb'"
    texts = [text for (text,) in sqlite3.connect(database).execute(query)]
    assert len(texts) == 3  # a chunk per cell; the figure's cell keeps its code and "<Figure size ...>"
    assert not any(png[:64] in t or re.search(r"[A-Za-z0-9+/]{200,}", t) for t in texts)
