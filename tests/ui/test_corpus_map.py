"""The status page's map: PCA projection (semsearch.explore) and folder groups (pure functions, no browser)."""

from __future__ import annotations

import numpy as np

from semsearch.explore import pca_2d
from semsearch.ui.corpus_map import TOP_LEVEL_FILES, top_folder


def test_pca_2d_spreads_points_along_the_two_widest_directions():
    rng = np.random.default_rng(0)
    points = rng.standard_normal((300, 20))
    points[:, 3] *= 10  # widest
    points[:, 7] *= 5  # second widest
    xy = pca_2d(points)
    assert xy.shape == (300, 2) and xy.min() == 0 and xy.max() == 1
    for axis, column in ((0, 3), (1, 7)):
        assert abs(np.corrcoef(xy[:, axis], points[:, column])[0, 1]) > 0.95


def test_pca_2d_copes_with_tiny_corpora():
    assert pca_2d(np.zeros((0, 4))).shape == (0, 2)
    assert pca_2d(np.ones((2, 4))).shape == (2, 2)


def test_points_are_grouped_by_top_level_folder():
    assert top_folder("docs/ops/logging.md") == "docs/"
    assert top_folder("faq.md") == TOP_LEVEL_FILES
