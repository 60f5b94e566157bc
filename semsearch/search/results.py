"""What a search returns: one matching chunk with where it lives."""

from __future__ import annotations

from dataclasses import asdict, dataclass

ANCHOR_KINDS = ("cell", "slide")  # the numbered parts a chunk's anchor names ("cell 3": a notebook's third cell)


@dataclass
class SearchResult:
    """One matching chunk."""

    path: str
    start_line: int
    end_line: int
    heading: str
    text: str
    score: float
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


def anchor_fields(anchor: str | None) -> dict[str, int]:
    """The SearchResult fields a stored anchor fills: "cell 3" -> {"cell": 3}; nothing for none or an unknown kind."""
    kind, _, number = (anchor or "").partition(" ")
    return {kind: int(number)} if kind in ANCHOR_KINDS and number.isdigit() else {}
