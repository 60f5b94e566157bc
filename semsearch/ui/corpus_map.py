"""A 2-D map of the corpus: chunk vectors projected by PCA, colored by top-level folder.

A big index is sampled (evenly, reproducibly) so the map stays a few thousand points.
Folders beyond the palette share one grey "other" color, so every color in the legend
means one thing.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from semsearch.collection import Collection

# Tableau 10, the colorblind-friendlier categorical palette, without its grey (kept for "other").
PALETTE = ("#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7", "#9c755f")
OTHER_COLOR = "#9a9a9a"
OTHER = "other folders"
TOP_LEVEL_FILES = "(top-level files)"


@dataclass
class MapPoint:
    x: float  # 0..1
    y: float  # 0..1, up
    chunk_id: int
    file_id: int
    group: int  # index into CorpusMap.groups
    path: str
    heading: str


@dataclass
class Group:
    name: str
    color: str
    count: int


@dataclass
class CorpusMap:
    points: list[MapPoint] = field(default_factory=list)
    groups: list[Group] = field(default_factory=list)
    total_chunks: int = 0

    def to_dict(self) -> dict:
        return {
            "total_chunks": self.total_chunks,
            "groups": [{"name": g.name, "color": g.color, "count": g.count} for g in self.groups],
            "points": [
                {
                    "x": round(p.x, 4),
                    "y": round(p.y, 4),
                    "chunk_id": p.chunk_id,
                    "file_id": p.file_id,
                    "group": p.group,
                    "path": p.path,
                    "heading": p.heading,
                }
                for p in self.points
            ],
        }


def top_folder(display_path: str) -> str:
    """The first folder of a path relative to the corpus root; files right at the root share one name."""
    parts = display_path.replace("\\", "/").split("/")
    return parts[0] + "/" if len(parts) > 1 else TOP_LEVEL_FILES


def pca_2d(vectors: np.ndarray) -> np.ndarray:
    """The first two principal components, scaled to 0..1 on each axis."""
    if len(vectors) == 0:
        return np.zeros((0, 2))
    centered = vectors - vectors.mean(axis=0)
    if len(vectors) < 3:
        xy = np.zeros((len(vectors), 2))
    else:
        # the top eigenvectors of the covariance (dims x dims) are the principal axes: much cheaper
        # than an SVD of the points (points x dims), which took seconds on a busy machine
        _, eigenvectors = np.linalg.eigh(centered.T @ centered)
        xy = centered @ eigenvectors[:, [-1, -2]]
    low, high = xy.min(axis=0), xy.max(axis=0)
    span = np.where(high > low, high - low, 1.0)
    return (xy - low) / span


def build_map(collection: Collection, display: Callable[[str], str], *, max_points: int = 2500) -> CorpusMap:
    with collection.snapshot():
        return _build_map(collection, display, max_points)


def _build_map(collection: Collection, display: Callable[[str], str], max_points: int) -> CorpusMap:
    ids = collection.chunk_ids()
    total = len(ids)
    if total > max_points:
        ids = ids[np.linspace(0, total - 1, max_points).astype(np.int64)]
    if len(ids) == 0:
        return CorpusMap(total_chunks=0)
    rows = collection.chunks(ids.tolist())
    vectors = collection.stored_vectors([i for i in ids.tolist() if i in rows])
    ids = np.array(list(vectors), dtype=np.int64)
    xy = pca_2d(np.vstack(list(vectors.values())).astype(np.float64))
    paths = {i: display(rows[i].path or "") for i in ids.tolist()}
    folders = {i: top_folder(p) for i, p in paths.items()}
    counts = Counter(folders.values())
    ranked = [name for name, _ in counts.most_common()]
    named = ranked if len(ranked) <= len(PALETTE) else ranked[: len(PALETTE) - 1]
    groups = [Group(name, PALETTE[n], counts[name]) for n, name in enumerate(named)]
    position = {g.name: n for n, g in enumerate(groups)}
    if len(named) < len(ranked):
        groups.append(Group(OTHER, OTHER_COLOR, sum(counts[name] for name in ranked[len(named) :])))
    points = [
        MapPoint(
            x=float(xy[n, 0]),
            y=float(xy[n, 1]),
            chunk_id=chunk_id,
            file_id=int(rows[chunk_id].file_id),
            group=position.get(folders[chunk_id], len(groups) - 1),
            path=paths[chunk_id],
            heading=rows[chunk_id].heading or "",
        )
        for n, chunk_id in enumerate(ids.tolist())
    ]
    return CorpusMap(points, groups, total)
