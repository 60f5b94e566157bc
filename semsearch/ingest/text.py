"""Reading a file's bytes and decoding them as text, whatever the encoding (one place for every format)."""

from __future__ import annotations

from pathlib import Path

from semsearch.ingest.document import ExtractError, UnreadableFileError


def read_bytes(path: Path) -> bytes:
    """The file's bytes; a file removed meanwhile is an ExtractError, one that cannot be read an UnreadableFileError."""
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise ExtractError(f"{path}: file was removed while indexing") from None
    except OSError as e:
        raise UnreadableFileError(f"{path}: cannot read file ({e.strerror or e})") from None


def decode(path: Path) -> str:
    """Text of a file in any encoding: BOMs first, then UTF-8, else what charset-normalizer detects.

    NUL characters are dropped (they carry no words and upset tokenizers and terminals).
    """
    return decode_bytes(read_bytes(path))


def decode_bytes(data: bytes) -> str:
    """Text of bytes in any encoding, as `decode` reads files (the CLI's --queries files too)."""
    if data.startswith(b"\xef\xbb\xbf"):
        text = data[3:].decode("utf-8", errors="replace")
    elif data.startswith((b"\xff\xfe", b"\xfe\xff")):
        text = data.decode("utf-16", errors="replace")
    else:
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            text = _detect(data)
    return text.replace("\x00", "")


def _detect(data: bytes) -> str:
    """Legacy 8-bit or CJK text, decoded with the encoding charset-normalizer finds least chaotic.

    Western text decodes cleanly in several code pages (é in cp1252 is č in cp1250), and the
    language guess that breaks the tie is unreliable on short files (French reads as Croatian):
    among the cleanest candidates Windows-1252 wins, by far the most common of them and what
    browsers read Latin-1 as. Text using letters only another code page has (Polish ł, Czech ř)
    is not clean in cp1252, so it keeps its own.
    """
    from charset_normalizer import from_bytes

    matches = list(from_bytes(data))
    if not matches:
        return data.decode("cp1252", errors="replace")  # nothing coherent: keep what Latin script survives
    cleanest = min(match.percent_chaos for match in matches)
    for match in matches:
        if match.percent_chaos == cleanest and "cp1252" in match.could_be_from_charset:
            return data.decode("cp1252", errors="replace")
    return str(matches[0])
