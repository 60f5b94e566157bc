"""Text files in encodings other than UTF-8 are decoded by detection, not guessed."""

from __future__ import annotations

from pathlib import Path

import pytest

from semsearch.ingest.extract import ExtractError, UnreadableFileError, decode, extract

SAMPLES = {
    "latin-1": ("Café crème brûlée: caramelise the sugar with a torch, then serve.", "latin-1"),
    "french latin-1": ("Crème brûlée: caramélisez le sucre avec un chalumeau, puis servez.", "latin-1"),
    "spanish latin-1": ("El niño comió la piñata en la montaña; ¿dónde está el señor?", "latin-1"),
    "czech cp1250": ("Příliš žluťoučký kůň úpěl ďábelské ódy. Čeština je krásný jazyk.", "cp1250"),
    "greek cp1253": ("Καλημέρα κόσμε, αυτό είναι ένα ελληνικό κείμενο για δοκιμή.", "cp1253"),
    "german cp1252": ("Grüße aus München, über die Brücke. Ça va très bien, merci à tous.", "cp1252"),
    "polish cp1250": ("Zażółć gęślą jaźń. Przykładowy tekst, żeby sprawdzić wykrywanie znaków.", "cp1250"),
    "russian cp1251": ("Привет, как дела? Это текст в кодировке windows-1251 для проверки.", "cp1251"),
    "japanese shift-jis": ("日本語のテキストです。これはシフトJISでエンコードされています。", "shift_jis"),
}


@pytest.mark.parametrize("name", SAMPLES)
def test_legacy_encodings_are_detected(tmp_path, name):
    text, encoding = SAMPLES[name]
    path = tmp_path / "note.txt"
    path.write_bytes((text + "\n").encode(encoding))
    assert decode(path) == text + "\n"


def test_nul_characters_are_dropped(tmp_path):
    path = tmp_path / "nul.txt"
    path.write_bytes(b"before\x00after\n")
    assert decode(path) == "beforeafter\n"


def test_a_vanished_file_is_gone_but_an_unreadable_one_is_not(tmp_path, monkeypatch):
    with pytest.raises(ExtractError, match="file was removed while indexing") as gone:
        extract(tmp_path / "vanished.md")
    assert not isinstance(gone.value, UnreadableFileError)

    path = tmp_path / "locked.md"
    path.write_text("secret")

    def refuse(self):
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "read_bytes", refuse)  # tests run as root in CI: chmod cannot refuse a read
    with pytest.raises(UnreadableFileError, match="cannot read file \\(Permission denied\\)"):
        extract(path)
    with pytest.raises(UnreadableFileError):
        extract(tmp_path / "locked.pdf")
