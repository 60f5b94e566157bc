"""Syntax-aware chunking: per language, a known file's chunks, their symbol paths and exact line ranges."""

from __future__ import annotations

import pytest

from semsearch.ingest.chunk import chunk_document
from semsearch.ingest.code import LANGUAGES, chunk_code, language_for
from semsearch.ingest.extract import extract
from tests.ingest import code_samples as samples


def words(texts: list[str]) -> list[int]:
    """A stand-in tokenizer: one token per whitespace-separated word, plus [CLS] and [SEP]."""
    return [len(t.split()) + 2 for t in texts]


def chunks(source: str, language: str, name: str, max_tokens: int = 40) -> list[tuple[int, int, str]]:
    return [
        (c.start_line, c.end_line, c.heading) for c in chunk_code(source, language, name, words, max_tokens=max_tokens)
    ]


@pytest.mark.parametrize(
    ("language", "name", "source", "expected"),
    [
        ("python", "r.py", samples.PYTHON, [(1, 13, "r.py > Router"), (16, 17, "r.py > helper")]),
        ("javascript", "a.js", samples.JAVASCRIPT, [(1, 6, "a.js > registerUser"), (8, 16, "a.js > Store, makeId")]),
        ("typescript", "a.ts", samples.TYPESCRIPT, [(1, 9, "a.ts > User, UserService"), (11, 11, "a.ts > Id")]),
        ("go", "a.go", samples.GO, [(1, 8, "a.go > Server"), (10, 14, "a.go > Start"), (16, 19, "a.go > main")]),
        ("rust", "a.rs", samples.RUST, [(1, 7, "a.rs > Point"), (9, 17, "a.rs > Point"), (19, 21, "a.rs > main")]),
        ("java", "G.java", samples.JAVA, [(1, 8, "G.java > Greeter > Greeter"), (10, 13, "G.java > Greeter > greet")]),
        ("ruby", "c.rb", samples.RUBY, [(1, 11, "c.rb > Shop")]),
        ("c", "a.c", samples.C, [(1, 9, "a.c > point, square"), (11, 14, "a.c > main")]),
        ("cpp", "a.cpp", samples.CPP, [(1, 8, "a.cpp > app > Greeter"), (10, 14, "a.cpp > app > add")]),
    ],
)
def test_definitions_become_chunks_with_symbol_paths_and_lines(language, name, source, expected):
    assert chunks(source, language, name) == expected


@pytest.mark.parametrize(
    ("language", "name", "source", "expected"),
    [
        # Over budget, a class splits at its methods; a decorator stays with its method.
        ("python", "r.py", samples.PYTHON,
         [(1, 1, "r.py"), (4, 5, "r.py > Router"), (7, 8, "r.py > Router > add_route"),
          (9, 9, "r.py > Router > add_route"), (11, 13, "r.py > Router > size"), (16, 17, "r.py > helper")]),
        # Doc comments and attributes belong to the item below them; impl blocks split at their functions.
        ("rust", "a.rs", samples.RUST,
         [(1, 1, "a.rs"), (3, 4, "a.rs > Point"), (5, 6, "a.rs > Point"), (7, 9, "a.rs > Point"),
          (10, 10, "a.rs > Point > new"), (11, 12, "a.rs > Point > new"), (14, 15, "a.rs > Point > norm"),
          (16, 17, "a.rs > Point > norm"), (19, 20, "a.rs > main"), (21, 21, "a.rs > main")]),
        ("ruby", "c.rb", samples.RUBY,
         [(1, 2, "c.rb > Shop > Cart"), (3, 4, "c.rb > Shop > Cart > add_item"),
          (5, 5, "c.rb > Shop > Cart > add_item"), (7, 9, "c.rb > Shop > Cart > total"),
          (10, 11, "c.rb > Shop > Cart")]),
    ],
)  # fmt: skip
def test_big_definitions_split_at_inner_definitions(language, name, source, expected):
    assert chunks(source, language, name, max_tokens=12) == expected


@pytest.mark.parametrize(
    ("language", "name", "source", "expected"),
    [
        ("csharp", "C.cs", samples.CSHARP,
         [(1, 8, "C.cs > Shop > Cart"), (10, 19, "C.cs > Shop > Cart > Cart, Total"),
          (21, 22, "C.cs > Shop > Cart > Count"), (24, 28, "C.cs > Shop > IStore, Color, Point"),
          (30, 31, "C.cs > Shop > Person")]),
        ("kotlin", "C.kt", samples.KOTLIN,
         [(1, 5, "C.kt"), (6, 14, "C.kt > Cart"), (16, 24, "C.kt > Store, Registry, Color"),
          (26, 30, "C.kt > main, Items")]),
        ("scala", "C.scala", samples.SCALA,
         [(1, 3, "C.scala"), (5, 10, "C.scala > Cart"), (12, 20, "C.scala > Cart, Store, Point"),
          (22, 27, "C.scala > Color, Items, helper")]),
        # A doc comment belongs to the class below it; `==` is an operator's name.
        ("swift", "C.swift", samples.SWIFT,
         [(1, 9, "C.swift > Cart > init"), (11, 14, "C.swift > Cart > add"), (16, 18, "C.swift > Point"),
          (20, 26, "C.swift > Point, Store"), (28, 36, "C.swift > Color, helper, Items")]),
        ("php", "C.php", samples.PHP,
         [(1, 10, "C.php > Cart"), (12, 21, "C.php > Cart > add, count"), (23, 31, "C.php > Store, Greets"),
          (33, 38, "C.php > Color, helper")]),
        # `@doc` goes with its def; defimpl is a module of its own.
        ("elixir", "cart.ex", samples.ELIXIR,
         [(1, 4, "cart.ex > Shop.Cart"), (6, 11, "cart.ex > Shop.Cart > add, total"),
          (13, 20, "cart.ex > Shop.Cart > empty, Size"), (22, 24, "cart.ex > Shop.Cart.Size")]),
        # A type signature (and its haddock) goes with its function.
        ("haskell", "Shop.hs", samples.HASKELL,
         [(1, 6, "Shop.hs > Cart"), (8, 10, "Shop.hs > add"), (12, 16, "Shop.hs > total, Store"),
          (18, 23, "Shop.hs > Show Cart, Items, Name")]),
        ("lua", "m.lua", samples.LUA,
         [(1, 6, "m.lua > M.add"), (8, 12, "m.lua > total"), (14, 22, "m.lua > M:size, M.helper")]),
        ("zig", "c.zig", samples.ZIG,
         [(1, 5, "c.zig > Cart"), (7, 14, "c.zig > Cart > add, total"), (15, 21, "c.zig > Color, main"),
          (23, 25, "c.zig > test cart")]),
        ("bash", "run.sh", samples.BASH, [(1, 11, "run.sh > greet, cleanup"), (13, 14, "run.sh")]),
        # Dart writes a method as a signature and a body, siblings: both are the method's.
        ("dart", "c.dart", samples.DART,
         [(1, 11, "c.dart > Cart > add"), (13, 14, "c.dart > Cart > size"), (16, 22, "c.dart > Greets, CartX"),
          (24, 30, "c.dart > Color, helper, Items")]),
    ],
)  # fmt: skip
def test_more_languages_definitions_become_chunks(language, name, source, expected):
    assert chunks(source, language, name) == expected


@pytest.mark.parametrize(
    ("language", "source", "names"),
    [
        ("swift", "struct P {\n  static func == (a: P, b: P) -> Bool { true }\n  subscript(i: Int) -> Int { i }\n"
                  "  init() { }\n  deinit { }\n}\n", ["P", "==", "subscript", "init", "deinit"]),
        ("csharp", "class V {\n  public static V operator +(V a, V b) { return a; }\n"
                   "  public static implicit operator int(V v) => 1;\n  public int this[int i] => i;\n}\n",
         ["V", "operator +", "operator int", "this"]),
        ("kotlin", "class A {\n  companion object {\n    fun make() = A()\n  }\n}\n",
         ["A", "companion object", "make"]),
        # Clauses of one function are one name; calls that define nothing are no definitions.
        ("elixir", "defmodule M do\n  def f(0), do: 1\n  def f(n) when n > 0, do: n\n  IO.puts(1)\nend\n", ["M", "f"]),
        # A class's method signatures are no definitions of the type variable `a`.
        ("haskell", "class Store a where\n  save :: a -> IO ()\nf :: Int -> Int\nf 0 = 1\nf n = n\n", ["Store", "f"]),
    ],
)  # fmt: skip
def test_definitions_without_a_plain_name_field_are_named(language, source, names):
    found = chunk_code(source, language, "x", words, max_tokens=400)
    assert sorted(n for c in found for n in c.symbols) == sorted(names)


def test_more_languages_split_big_definitions_along_the_symbol_path():
    assert chunks(samples.CSHARP, "csharp", "C.cs", max_tokens=12)[:7] == [
        (1, 1, "C.cs"), (3, 4, "C.cs > Shop"), (5, 6, "C.cs > Shop > Cart"), (7, 8, "C.cs > Shop > Cart"),
        (10, 11, "C.cs > Shop > Cart > Cart"), (12, 13, "C.cs > Shop > Cart > Cart"),
        (15, 17, "C.cs > Shop > Cart > Total"),
    ]  # fmt: skip
    # A Dart method's body (a sibling of its signature) stays in the method's chunk.
    assert chunks(samples.DART, "dart", "c.dart", max_tokens=12)[3:5] == [
        (9, 10, "c.dart > Cart > add"),
        (11, 11, "c.dart > Cart > add"),
    ]
    # Clauses of one function are named once in a merged heading.
    assert chunks("f 0 = 1\ng 0 = 1\ng n = n\n", "haskell", "x.hs", 400) == [(1, 3, "x.hs > f, g")]
    assert "C.kt > Cart > companion object > empty" in [h for _, _, h in chunks(samples.KOTLIN, "kotlin", "C.kt", 12)]
    assert chunks(samples.ELIXIR, "elixir", "cart.ex", max_tokens=12)[-2:] == [
        (22, 22, "cart.ex > Shop.Cart.Size"), (23, 24, "cart.ex > Shop.Cart.Size > size"),
    ]  # fmt: skip


def test_chunks_cover_every_non_blank_line_once():
    for language, source in [("python", samples.PYTHON), ("go", samples.GO), ("java", samples.JAVA)]:
        for budget in (12, 40, 400):
            covered = [n for s, e, _ in chunks(source, language, "f", budget) for n in range(s, e + 1)]
            lines = source.split("\n")
            assert covered == sorted(set(covered))
            assert {n for n in range(1, len(lines) + 1) if lines[n - 1].strip()} <= set(covered)


def test_every_listed_language_has_a_bundled_grammar():
    """The grammars ship in the wheel: loading each one in a fresh process with sockets disabled works."""
    import subprocess
    import sys

    for suffix, language in LANGUAGES.items():
        assert language_for(f"x{suffix}") == language
    script = (
        "import socket\n"
        "def refuse(*a, **k): raise OSError('network disabled by the test')\n"
        "socket.socket.connect = refuse; socket.create_connection = refuse; socket.getaddrinfo = refuse\n"
        "from semsearch.ingest.code import LANGUAGES, chunk_code\n"
        "for language in sorted(set(LANGUAGES.values())):\n"
        "    assert chunk_code('x\\n', language, 'x', lambda t: [3] * len(t)), language\n"
        "print('ok')\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and result.stdout == "ok\n", result.stderr[-2000:]


def test_documents_route_code_to_the_syntax_chunker_and_keep_others(tmp_path):
    source = tmp_path / "routing.py"
    source.write_text("\n\n" + samples.PYTHON)  # leading blank lines: line numbers stay the file's own
    pieces = chunk_document(extract(source), words, max_tokens=40)
    assert [(c.start_line, c.end_line, c.heading) for c in pieces] == [
        (3, 15, "routing.py > Router"),
        (18, 19, "routing.py > helper"),
    ]
    assert pieces[0].text.startswith("import os") and pieces[0].text.endswith("return len(self.routes)")
    query = tmp_path / "report.sql"  # no grammar: today's paragraph chunker, no symbol heading
    query.write_text("select 1;\n\nselect 2;\n")
    assert [c.heading for c in chunk_document(extract(query), words)] == [""]
    script = tmp_path / "run.kts"  # a suffix known only to the code chunker is still code
    script.write_text(samples.KOTLIN)
    assert [c.heading for c in chunk_document(extract(script), words, max_tokens=40)][1] == "run.kts > Cart"


def test_a_line_of_one_long_word_is_cut_within_the_limit(tmp_path):
    """An inline base64 image in source (plug's debugger.ex has a 36 KB line) once recursed without end."""
    source = tmp_path / "debugger.ex"
    source.write_text('defmodule D do\n  @logo "data:image/png;base64,' + "QUJD" * 3000 + '"\nend\n')

    def chars(texts: list[str]) -> list[int]:  # a stand-in tokenizer: a token per 4 characters
        return [len(t) // 4 + 2 for t in texts]

    pieces = chunk_document(extract(source), chars, max_tokens=200)
    assert len(pieces) > 10 and max(len(p.text) // 4 + 2 for p in pieces) <= 200
    assert "".join(p.text for p in pieces if p.start_line == 2).count("QUJD") == 3000
