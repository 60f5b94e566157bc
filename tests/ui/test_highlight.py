"""Which words a result card marks, and the snippet window (pure functions, no browser)."""

from __future__ import annotations

from semsearch.ui.highlight import mark, query_terms, snippet


def marked(query: str, text: str) -> list[str]:
    return [piece for piece, matched in mark(text, query_terms(query)) if matched]


def test_a_query_word_marks_its_other_forms_but_not_other_words():
    text = "Logrotate rotates the log daily; rotation keeps logs. Logins are logged. Policies, policy."
    assert marked("how do I rotate the logs?", text) == ["rotates", "log", "rotation", "logs", "logged"]
    assert marked("backup policy", "Backups follow the policy; policies differ.") == [
        "Backups",
        "policy",
        "policies",
    ]


def test_stopwords_are_not_marked_unless_the_query_has_nothing_else():
    assert marked("what is the plan", "What is the plan?") == ["plan"]
    assert marked("what is", "What is it?") == ["What", "is"]


def test_parts_join_back_to_the_text_and_markup_stays_plain_text():
    text = "Keep <script>alert(1)</script> as text & more"
    parts = mark(text, query_terms("script alert"))
    assert "".join(piece for piece, _ in parts) == text
    assert [piece for piece, matched in parts if matched] == ["script", "alert", "script"]


def test_a_long_chunk_is_cut_around_its_matching_words():
    text = " ".join(["filler"] * 200 + ["the", "quokka", "keeper"] + ["filler"] * 200)
    parts = snippet(text, query_terms("quokka"), width=120)
    joined = "".join(piece for piece, _ in parts)
    assert joined.startswith("…") and joined.endswith("…") and len(joined) <= 122
    assert ("quokka", True) in parts


def test_words_are_marked_by_their_porter_stem_as_the_keyword_index_matches_them():
    text = "Files are uploaded with UploadFile; upload_file uploads them. Uploader, loading, unloaded."
    assert marked("upload", text) == ["uploaded", "Upload", "upload", "uploads", "Uploader"]
    assert marked("policies", "One policy, two policies, the police.") == ["policy", "policies"]
