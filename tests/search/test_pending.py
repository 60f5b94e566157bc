"""A chunk committed a moment ago has no vector yet: fusion must not sink it below every embedded chunk."""

from __future__ import annotations

from semsearch.search.fusion import fuse


def test_an_unembedded_chunk_ranks_by_its_words_in_both_halves():
    dense = [("embedded", 0.9), ("other", 0.2)]  # the new chunk has no vector: it is in no dense list
    keyword = [("new", 12.0), ("embedded", 3.0), ("other", 1.0)]
    assert fuse([dense, keyword], dense_weight=0.8)[0][0] == "embedded"  # missing meaning counted as none
    ranked = fuse([dense, keyword], dense_weight=0.8, unembedded={"new"})
    assert ranked[0] == ("new", 1.0)  # top words, meaning unknown: as if dense agreed
    assert dict(ranked)["embedded"] == dict(fuse([dense, keyword], dense_weight=0.8))["embedded"]
