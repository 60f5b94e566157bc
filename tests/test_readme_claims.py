"""Every measured figure the README quotes is in a benchmark record (benchmarks/README.md or QUALITY.md).

Checked: every number with a unit (ms, s, x, MiB, GiB) and every nDCG-like score (0.xxx, 0.xxxx, with or
without a sign) in the README's "Speed" and "Retrieval quality" sections and in any other paragraph that
cites a benchmark. A README figure may round the record (0.44 s for 0.439 s); a record line that says
"superseded" or "not like for like" backs nothing, so a replaced measurement cannot be quoted as current.
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

from markdown_it import MarkdownIt

ROOT = Path(__file__).resolve().parents[1]
RECORDS = (ROOT / "benchmarks" / "README.md", ROOT / "benchmarks" / "QUALITY.md")
SECTIONS = ("Speed", "Retrieval quality")
NUMBER = r"[+\-−]?\d{1,3}(?:,\d{3})+(?:\.\d+)?|[+\-−]?\d+(?:\.\d+)?"
WITH_UNIT = re.compile(rf"(?<![\w.,])({NUMBER})\s?(ms|s|x|MiB|GiB)(?!\w)")
SCORE = re.compile(r"(?<![\w.,])([+\-−]?0\.\d{3,4})(?![\d.]*\w)")
NOT_BACKING = re.compile(r"superseded|not like for like", re.IGNORECASE)


def figures(text: str) -> set[tuple[str, str]]:
    """(number as written, unit) pairs; nDCG-like scores have the unit ""."""
    found = {(number, unit) for number, unit in WITH_UNIT.findall(text)}
    return found | {(number, "") for number in SCORE.findall(text)}


def value(number: str) -> Decimal:
    return abs(Decimal(number.replace(",", "").replace("−", "-")))


def claimed_texts(markdown: str) -> list[str]:
    """The README's text blocks that quote measurements: the Speed and quality sections, and benchmark citations."""
    texts, section, tokens = [], "", MarkdownIt().enable("table").parse(markdown)
    for token, following in zip(tokens, tokens[1:], strict=False):
        if token.type == "heading_open" and token.tag == "h2":
            section = following.content
        elif token.type == "inline" and (section in SECTIONS or "benchmark" in token.content.lower()):
            texts.append(token.content)
    return texts


def backed(figure: tuple[str, str], records: set[tuple[str, str]]) -> bool:
    number, unit = figure
    places = Decimal(1).scaleb(-len(number.partition(".")[2]))
    wanted = value(number)
    return any(
        u == unit and value(n).quantize(places, rounding=ROUND_HALF_UP) == wanted
        for n, u in records
        if len(n.partition(".")[2]) >= len(number.partition(".")[2])
    )


def record_figures(records: str) -> set[tuple[str, str]]:
    return figures("\n".join(line for line in records.splitlines() if not NOT_BACKING.search(line)))


def unbacked(readme: str, records: str) -> list[str]:
    records = record_figures(records)
    return sorted(
        f"{number} {unit}".strip() + f"  (in: {text[:80]!r})"
        for text in claimed_texts(readme)
        for number, unit in figures(text)
        if not backed((number, unit), records)
    )


def test_every_readme_figure_is_in_a_benchmark_record():
    records = "\n".join(path.read_text() for path in RECORDS)
    missing = unbacked((ROOT / "README.md").read_text(), records)
    assert not missing, "README figures with no benchmark record:\n" + "\n".join(missing)


def test_the_check_finds_an_unrecorded_or_superseded_figure():
    """The checker itself: a made-up figure and a figure only a superseded record holds are both reported."""
    readme = (
        "## Speed\n\nA query takes 123.4 ms, 2.3 ms on the old index, 0.44 s cold; nDCG +0.054.\n\n"
        "## Layout\n\nThe page answers in 9.87 s (benchmark row); the quiet period is 300 ms.\n"
    )
    records = "| 4. cold query | 0.439 s |\n| 5. old index (superseded) | 2.29 ms |\nauto +0.0541 over dense\n"
    assert [m.split()[0] for m in unbacked(readme, records)] == ["123.4", "2.3", "300", "9.87"]
    assert not backed(("0.44", "s"), {("0.4", "s")})  # a record coarser than the claim backs nothing
