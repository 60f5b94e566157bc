"""`class Context`, `def parse_args`, `func Execute`: the declaring keyword asks for the definition (real index)."""

from __future__ import annotations

import pytest

from semsearch.embed.local import LocalEmbedder
from semsearch.index import Index
from semsearch.search import signals
from semsearch.search.query import analyze

TREE = {
    # Where Context is defined: a short class, in a file whose name says nothing.
    "src/core.py": '''class Context:
    """Holds the state of one invocation."""

    def __init__(self, command, parent=None):
        self.command = command
        self.parent = parent
''',
    # Uses of the class, and prose about "the context class", that outnumber the definition.
    "src/decorators.py": '''def pass_context(f):
    """Marks a callback as wanting to receive the current context class instance as first argument."""
    return make_context_decorator(f, Context)


def with_context(cls):
    """Class decorator: give the class a context attribute with a new Context."""
    cls.context = Context(cls)
    return cls
''',
    "docs/context.md": """# The context class

Every command gets a context. The context class holds the state of a command: its parent
context, its options and the class of context to create for subcommands. Set `context_class`
on a command to use your own context class.
""",
    "src/cli.py": '''def parse_args(argv):
    """Split argv into options and arguments."""
    return [a for a in argv if a.startswith("-")], [a for a in argv if not a.startswith("-")]
''',
    "docs/arguments.md": """# Parsing arguments

The parser reads the arguments: parse the args of the command line into options and values.
Arguments are parsed once per command; parse errors name the argument.
""",
    "cmd/root.go": """package cmd

// Execute runs the root command.
func Execute() error {
	return rootCmd.Execute()
}
""",
    "server/types.go": """package server

// A Handler responds to one request.
type Handler interface {
	ServeRequest(w Writer, r *Request)
}
""",
    "server/mux.go": """package server

// Handle registers the handler for a pattern: the Handler interface is called for each request.
func (m *Mux) Handle(pattern string, handler Handler) {
	m.handlers[pattern] = handler
}

// HandlerFunc adapts a function to the Handler interface.
type HandlerFunc func(w Writer, r *Request)
""",
    "docs/handlers.md": """# The handler interface

A handler is any value with the handler interface's method. Every handler interface value
answers one request; wrap a function in HandlerFunc to make it a handler.
""",
    "docs/execute.md": """# Executing commands

To execute a command, call execute on it: executing runs the command's function and returns
its error. Execution stops at the first error.
""",
}


@pytest.fixture(scope="module")
def index(tmp_path_factory):
    root = tmp_path_factory.mktemp("tree")
    for name, text in TREE.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    with Index(tmp_path_factory.mktemp("idx") / "index", embedder=LocalEmbedder()) as idx:
        idx.add([root])
        idx.root = root
        yield idx


@pytest.mark.parametrize(
    ("query", "path", "heading"),
    [
        ("class Context", "src/core.py", "core.py > Context"),
        ("def parse_args", "src/cli.py", "cli.py > parse_args"),
        ("func Execute", "cmd/root.go", "root.go > Execute"),
        ("interface Handler", "server/types.go", "types.go > Handler"),
    ],
)
def test_a_declaring_keyword_finds_the_definition_first(index, query, path, heading):
    best = index.search(query, k=3, mode="auto")[0]
    assert (best.path, best.heading) == (str(index.root / path), heading)


@pytest.mark.parametrize(
    ("query", "kind", "name"),
    [
        ("class Context", "class", "Context"),
        ("def parse_args()", "def", "parse_args"),
        ("interface Handler", "interface", "Handler"),
        ("pub fn main", "fn", "main"),
        ("struct point", "struct", "point"),
        ("class imbalance", None, None),  # words, not a name: still a question
        ("type safety", None, None),
        ("function composition", None, None),
    ],
)
def test_query_shape_of_a_definition(query, kind, name):
    shape = analyze(query)
    assert shape.definition_kind == kind
    assert (shape.is_symbol, shape.identifiers) == ((True, [name]) if kind else (False, []))


@pytest.mark.parametrize(
    ("query", "text", "declared"),
    [
        ("func Execute", "func (c *Command) Execute() error {", True),  # a Go method: the receiver sits between
        ("interface Handler", "type Handler interface {", True),
        ("struct Point", "pub struct Point<T> {", True),
        ("fun toSlug", "fun String.toSlug(): String =", True),  # a Kotlin extension function
        ("class Context", "class Context(object):", True),
        ("class Context", "ctx = Context(command)", False),
        ("class Context", "the context class holds its parent Context", False),
        ("interface Handler", "// Handler is called for each request", False),
    ],
)
def test_what_declares_a_name(query, text, declared):
    assert (signals.declares(text, analyze(query)) > 0) is declared
