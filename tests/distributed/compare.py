"""Compare two indexes chunk by chunk: same files, same chunk texts, vectors within float tolerance."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np


def snapshot(index_dir: Path, strip: str = "") -> dict[tuple[str, int], tuple[str, np.ndarray]]:
    """(path without `strip`, ordinal) -> (chunk text, vector), read straight from index.db."""
    conn = sqlite3.connect(index_dir / "index.db")
    try:
        rows = conn.execute(
            "SELECT f.path, c.ordinal, c.text, c.vector FROM chunks c JOIN files f ON f.id = c.file_id"
        ).fetchall()
    finally:
        conn.close()
    return {(p.removeprefix(strip), o): (t, np.frombuffer(v, dtype=np.float32)) for p, o, t, v in rows}


def assert_same_index(left: Path, right: Path, *, min_cosine: float = 0.9999) -> int:
    """Raise AssertionError naming the first difference; returns the chunk count."""
    a, b = snapshot(left), snapshot(right)
    assert a, "the reference index is empty"
    assert sorted({p for p, _ in a}) == sorted({p for p, _ in b}), "different files"
    assert sorted(a) == sorted(b), "different chunks"
    for key, (text, vector) in a.items():
        other_text, other_vector = b[key]
        assert text == other_text, f"chunk {key} differs"
        cosine = float(vector @ other_vector / (np.linalg.norm(vector) * np.linalg.norm(other_vector)))
        assert cosine >= min_cosine, f"chunk {key}: cosine {cosine:.6f} < {min_cosine}"
    return len(a)
