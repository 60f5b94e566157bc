"""Looking at a whole index: its vectors, and a 2-D map whose clusters are named by their own words.

    ids, vectors = index.chunk_vectors()
    corpus = index.map()       # DataFrame: chunk_id, path, folder, heading, x, y, cluster, label, typical

The map is PCA of the chunk vectors (two axes a person can plot), the clusters are k-means on the
full vectors (cosine), and each cluster is named by the words that set it apart from the others
(class-based TF-IDF over its chunks' headings and text) and by its most central chunk's heading.
Everything is computed with numpy; pandas is needed only for the DataFrame.
"""

from __future__ import annotations

import math
import os
import re
from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import snowballstemmer

from semsearch.errors import SemsearchError
from semsearch.search.keywords import STOPWORDS

if TYPE_CHECKING:  # pragma: no cover
    from semsearch.collection import Collection

DEFAULT_MAX_POINTS = 2500
LABEL_WORDS = 3

_WORD = re.compile(r"[a-z][a-z0-9]+(?:'[a-z]+)?")
_URL = re.compile(r"https?://\S+|www\.\S+|<[^>\n]*>")  # links and HTML tags (`<font color=...>`) name no topic
# Words that name no topic: English glue beyond the keyword index's stopwords, and the web's and Markdown's own.
_GLUE_WORDS = (
    "also about after all any but each get got had here into just like make more most much must need not now "
    "one only other our out over same see set some such than then them they through too two use used uses "
    "using via want way well would you your yours com org http https www html png svg md py"
)
_GLUE = frozenset(_GLUE_WORDS.split())


def chunk_vectors(collection: Collection) -> tuple[np.ndarray, np.ndarray]:
    """(chunk ids, their vectors as float32 rows), read in one snapshot of the index; chunks still
    waiting for their vector (an indexing run in progress) are left out."""
    with collection.snapshot():
        found = collection.stored_vectors(collection.chunk_ids().tolist())
    return _as_matrix(found)


def _as_matrix(found: dict[int, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    ids = np.fromiter(found, dtype=np.int64, count=len(found))
    vectors = np.vstack(list(found.values())).astype(np.float32) if found else np.zeros((0, 0), np.float32)
    return ids, vectors


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


def default_clusters(n_points: int) -> int:
    """sqrt(chunks / 8), between 2 and 8: few enough to read on a map, enough to tell topics apart."""
    return max(2, min(8, round(math.sqrt(n_points / 8))))


def kmeans(vectors: np.ndarray, k: int, *, seed: int = 0, iterations: int = 50) -> tuple[np.ndarray, np.ndarray]:
    """(cluster of each row, centres): spherical k-means (cosine) with k-means++ seeding, reproducible by seed."""
    n = len(vectors)
    if n == 0:
        return np.zeros(0, np.int64), np.zeros((0, vectors.shape[1] if vectors.ndim == 2 else 0))
    k = max(1, min(k, n))
    unit = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    rng = np.random.default_rng(seed)
    centres = [unit[rng.integers(n)]]
    for _ in range(1, k):
        distance = np.clip(1 - (unit @ np.array(centres).T).max(axis=1), 0, None)
        total = distance.sum()
        centres.append(unit[rng.choice(n, p=distance / total) if total > 0 else rng.integers(n)])
    centres = np.array(centres)
    labels = np.full(n, -1)
    for _ in range(iterations):
        new = (unit @ centres.T).argmax(axis=1)
        if np.array_equal(new, labels):
            break
        labels = new
        for c in range(k):
            members = unit[labels == c]
            if len(members):
                mean = members.mean(axis=0)
                centres[c] = mean / max(np.linalg.norm(mean), 1e-12)
    return labels, centres


def words(text: str) -> list[str]:
    """The topic-bearing words of a text: lower case, no URLs, tags, numbers, stopwords or glue words."""
    return [
        w
        for w in _WORD.findall(_URL.sub(" ", text.lower()))
        if len(w) > 2 and w not in STOPWORDS and w not in _GLUE and not w.isdigit()
    ]


def distinctive_words(documents: list[list[str]], top: int = LABEL_WORDS) -> list[list[str]]:
    """The `top` words of each document (here: a cluster's words) that set it apart from the others.

    Class-based TF-IDF: a word's share of the cluster's words times log(1 + average cluster size /
    the word's count over all clusters), so a word frequent in one cluster and rare elsewhere wins.
    Forms of one word count as one (Porter stems: "certificate", "certificates"), shown in the
    form the corpus uses most.
    """
    stemmer = snowballstemmer.stemmer("porter")
    surface = Counter(w for doc in documents for w in doc)
    stem_of = {w: stemmer.stemWord(w) for w in surface}
    shown: dict[str, str] = {}
    for word, _ in surface.most_common():
        shown.setdefault(stem_of[word], word)
    counts = [Counter(stem_of[w] for w in doc) for doc in documents]
    overall = Counter()
    for c in counts:
        overall.update(c)
    average = sum(overall.values()) / max(1, len(documents))
    best = []
    for c in counts:
        size = max(1, sum(c.values()))
        scored = sorted(c, key=lambda w: (-(c[w] / size) * math.log(1 + average / overall[w]), w))
        best.append([shown[w] for w in scored[:top]])
    return best


@dataclass
class Cluster:
    """One cluster of the map: its words, its most central chunk's heading, its size."""

    label: str
    typical: str
    size: int


def label_clusters(
    assignment: np.ndarray, vectors: np.ndarray, centres: np.ndarray, headings: list[str], texts: list[str]
) -> list[Cluster]:
    """Name each cluster by its distinctive words (headings count twice) and its most central chunk's heading."""
    k = len(centres)
    documents: list[list[str]] = [[] for _ in range(k)]
    for c, heading, text in zip(assignment.tolist(), headings, texts, strict=True):
        documents[c] += words(heading) * 2 + words(text)
    unit = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    clusters = []
    for c, top in enumerate(distinctive_words(documents)):
        members = np.flatnonzero(assignment == c)
        typical = ""
        if len(members):
            order = members[np.argsort(-(unit[members] @ centres[c]))]
            typical = next((headings[i] for i in order if headings[i]), "")
        clusters.append(Cluster(" · ".join(top) or f"cluster {c + 1}", typical, len(members)))
    return clusters


def corpus_root(paths: list[str]) -> str:
    """The folder all indexed files share ("" when they are not all absolute paths)."""
    if not paths or not all(os.path.isabs(p) for p in paths):
        return ""
    root = os.path.commonpath(paths)
    return os.path.dirname(root) if len(set(paths)) == 1 or root in paths else root


def corpus_map(
    collection: Collection, clusters: int | None = None, *, max_points: int = DEFAULT_MAX_POINTS, seed: int = 0
):
    """The corpus as a pandas DataFrame, one row per chunk (an even sample above `max_points`).

    Columns: chunk_id, path (relative to the folder all files share), folder (the file's folder, "." for the top),
    heading, x and y (PCA, 0..1), cluster (0..k-1, largest first), label (the cluster's distinctive
    words), typical (the heading of the cluster's most central chunk).
    """
    try:
        import pandas as pd
    except ImportError as e:
        raise SemsearchError("Index.map needs pandas: pip install pandas") from e
    columns = ["chunk_id", "path", "folder", "heading", "x", "y", "cluster", "label", "typical"]
    with collection.snapshot():  # rows and vectors of one committed state
        ids = collection.chunk_ids()
        if len(ids) > max_points:
            ids = ids[np.linspace(0, len(ids) - 1, max_points).astype(np.int64)]
        rows = collection.chunks(ids.tolist())
        ids, vectors = _as_matrix(collection.stored_vectors([i for i in ids.tolist() if i in rows]))
    if len(ids) == 0:
        return pd.DataFrame(columns=columns)
    vectors = vectors.astype(np.float64)
    records = [rows[i] for i in ids.tolist()]
    root = corpus_root(sorted({r.path or "" for r in records}))
    paths = [os.path.relpath(r.path, root) if root else (r.path or "") for r in records]
    headings = [r.heading or "" for r in records]
    assignment, centres = kmeans(vectors, clusters or default_clusters(len(ids)), seed=seed)
    # number clusters largest first, so cluster 0 is the corpus's main topic
    by_size = np.argsort(-np.bincount(assignment, minlength=len(centres)), kind="stable")
    rank = np.empty_like(by_size)
    rank[by_size] = np.arange(len(by_size))
    assignment, centres = rank[assignment], centres[by_size]
    named = label_clusters(assignment, vectors, centres, headings, [r.text for r in records])
    xy = pca_2d(vectors)
    return pd.DataFrame(
        {
            "chunk_id": ids,
            "path": paths,
            "folder": [os.path.dirname(p) or "." for p in paths],
            "heading": headings,
            "x": xy[:, 0],
            "y": xy[:, 1],
            "cluster": assignment,
            "label": [named[c].label for c in assignment.tolist()],
            "typical": [named[c].typical for c in assignment.tolist()],
        },
        columns=columns,
    )
