"""What a search returns: one matching chunk with where it lives."""

from __future__ import annotations

from dataclasses import asdict, dataclass


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

    @property
    def location(self) -> str:
        where = f"{self.start_line}-{self.end_line}" if self.end_line != self.start_line else f"{self.start_line}"
        page = f" (page {self.page})" if self.page else ""
        return f"{self.path}:{where}{page}"

    def snippet(self, width: int = 200) -> str:
        flat = " ".join(self.text.split())
        return flat if len(flat) <= width else flat[: width - 1].rstrip() + "…"

    def to_dict(self) -> dict:
        return asdict(self)
