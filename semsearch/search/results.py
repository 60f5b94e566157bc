"""What a search returns: one matching chunk with where it lives."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from semsearch.store.db import ChunkRecord

ANCHOR_KINDS = ("cell", "slide")  # the numbered parts a chunk's anchor names ("cell 3": a notebook's third cell)


@dataclass
class SearchResult:
    """One matching chunk."""

    path: str
    start_line: int
    end_line: int
    heading: str
    text: str
    score: float | None  # cosine similarity to the query (BM25 in keyword mode); None: not embedded yet
    page: int | None = None
    chunk_id: int = 0
    cell: int | None = None  # a notebook's cell (1-based, markdown cells counted)
    slide: int | None = None  # a presentation's slide (1-based)

    @property
    def location(self) -> str:
        where = f"{self.start_line}-{self.end_line}" if self.end_line != self.start_line else f"{self.start_line}"
        parts = (("page", self.page), ("cell", self.cell), ("slide", self.slide))
        part = next((f" ({kind} {number})" for kind, number in parts if number), "")
        return f"{self.path}:{where}{part}"

    def snippet(self, width: int = 200) -> str:
        flat = " ".join(self.text.split())
        return flat if len(flat) <= width else flat[: width - 1].rstrip() + "…"

    def to_dict(self) -> dict:
        return asdict(self)


class SearchResults(list):
    """A list of SearchResult that Jupyter shows as a table (location, heading, score, snippet)."""

    def _repr_html_(self) -> str:
        from html import escape

        rows = "".join(
            f"<tr><td>{n}</td><td>{escape(r.location)}</td><td>{escape(r.heading or '')}</td>"
            f"<td>{format_score(r.score)}</td><td style='text-align:left'>{escape(r.snippet(160))}</td></tr>"
            for n, r in enumerate(self, start=1)
        )
        head = "".join(f"<th>{name}</th>" for name in ("#", "location", "heading", "score", "snippet"))
        return f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"


def to_results(ranked: Sequence[tuple[int, float | None]], rows: dict[int, ChunkRecord]) -> list[SearchResult]:
    """Results for (chunk id, score shown) pairs, in that order; a chunk whose row is gone is skipped."""
    return [
        SearchResult(
            path=r.path or "",
            start_line=r.start_line,
            end_line=r.end_line,
            heading=r.heading,
            text=r.text,
            score=score,
            page=r.page,
            chunk_id=i,
            **anchor_fields(r.anchor),
        )
        for i, score in ranked
        if (r := rows.get(i)) is not None
    ]


def anchor_fields(anchor: str | None) -> dict[str, int]:
    """The SearchResult fields a stored anchor fills: "cell 3" -> {"cell": 3}; nothing for none or an unknown kind."""
    kind, _, number = (anchor or "").partition(" ")
    return {kind: int(number)} if kind in ANCHOR_KINDS and number.isdigit() else {}


def format_score(score: float | None) -> str:
    """A score as people read it: three decimals, or a dash for a chunk not embedded yet."""
    return "–" if score is None else f"{score:.3f}"
