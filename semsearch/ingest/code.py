"""Syntax-aware chunks for source code: one chunk per definition, headed by its symbol path.

A file is parsed with tree-sitter (grammars ship in the `tree-sitter-language-pack` wheel;
nothing is downloaded at run time). At each level (module, class, impl block...) the
definitions become segments and the code between them (imports, constants) fills the gaps.
A definition over the token budget is split at its inner definitions, and one with none is
cut at line boundaries; small neighbours at the same level are merged up to the budget.
Chunks cover whole lines, so their line ranges are exact, and each carries the names it
defines so keyword search can weight them.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

CountTokens = Callable[[list[str]], list[int]]

# File suffix -> tree-sitter grammar name.
LANGUAGES = {
    ".py": "python", ".pyi": "python",
    ".js": "javascript", ".mjs": "javascript", ".cjs": "javascript", ".jsx": "javascript",
    ".ts": "typescript", ".mts": "typescript", ".cts": "typescript", ".tsx": "tsx",
    ".go": "go", ".rs": "rust", ".java": "java", ".rb": "ruby",
    ".c": "c", ".h": "c", ".cc": "cpp", ".cpp": "cpp", ".cxx": "cpp", ".hpp": "cpp", ".hh": "cpp", ".hxx": "cpp",
    ".cs": "csharp", ".kt": "kotlin", ".kts": "kotlin", ".scala": "scala", ".sc": "scala", ".swift": "swift",
    ".php": "php", ".ex": "elixir", ".exs": "elixir", ".hs": "haskell", ".lua": "lua", ".zig": "zig",
    ".sh": "bash", ".bash": "bash", ".dart": "dart",
}  # fmt: skip

_JS = {
    "function_declaration", "generator_function_declaration", "class_declaration", "abstract_class_declaration",
    "method_definition", "interface_declaration", "type_alias_declaration", "enum_declaration", "module",
    "internal_module", "function_signature", "abstract_method_signature",
}  # fmt: skip
# Node types that are definitions, per grammar.
DEFINITIONS: dict[str, set[str]] = {
    "python": {"function_definition", "class_definition"},
    "javascript": _JS,
    "typescript": _JS,
    "tsx": _JS,
    "go": {"function_declaration", "method_declaration", "type_spec", "type_alias"},
    "rust": {
        "function_item",
        "struct_item",
        "enum_item",
        "trait_item",
        "impl_item",
        "mod_item",
        "macro_definition",
        "union_item",
        "type_item",
        "function_signature_item",
    },  # fmt: skip
    "java": {
        "class_declaration",
        "interface_declaration",
        "enum_declaration",
        "record_declaration",
        "method_declaration",
        "constructor_declaration",
        "annotation_type_declaration",
    },  # fmt: skip
    "ruby": {"method", "singleton_method", "class", "module", "singleton_class"},
    "c": {"function_definition", "struct_specifier", "union_specifier", "enum_specifier"},
    "cpp": {
        "function_definition",
        "struct_specifier",
        "union_specifier",
        "enum_specifier",
        "class_specifier",
        "namespace_definition",
        "template_declaration",
    },  # fmt: skip
    "csharp": {
        "class_declaration", "struct_declaration", "interface_declaration", "enum_declaration", "record_declaration",
        "method_declaration", "constructor_declaration", "destructor_declaration", "operator_declaration",
        "conversion_operator_declaration", "indexer_declaration", "property_declaration", "delegate_declaration",
        "namespace_declaration",
    },
    "kotlin": {"class_declaration", "object_declaration", "companion_object", "function_declaration", "type_alias",
               "secondary_constructor"},
    "scala": {
        "class_definition", "object_definition", "trait_definition", "enum_definition", "function_definition",
        "function_declaration", "type_definition", "given_definition", "extension_definition",
    },
    "swift": {
        "class_declaration", "protocol_declaration", "function_declaration", "protocol_function_declaration",
        "init_declaration", "deinit_declaration", "subscript_declaration", "typealias_declaration",
    },
    "php": {
        "class_declaration", "interface_declaration", "trait_declaration", "enum_declaration", "function_definition",
        "method_declaration",
    },
    "elixir": {"call"},  # only the calls of ELIXIR_DEFINITIONS
    "haskell": {"function", "bind", "data_type", "newtype", "type_synomym", "class", "instance", "type_family",
                "data_family"},
    "lua": {"function_declaration", "assignment_statement", "variable_declaration"},  # assignments of a function
    "zig": {"Decl", "TestDecl"},  # a Decl of a function or of a struct/enum/union
    "bash": {"function_definition"},
    "dart": {
        "class_definition", "mixin_declaration", "extension_declaration", "extension_type_declaration",
        "enum_declaration", "type_alias", "function_signature", "method_signature",
    },
}  # fmt: skip
# Elixir macros that define something; `test` and `describe` (ExUnit) only with a do-block.
ELIXIR_DEFINITIONS = {
    "defmodule", "def", "defp", "defmacro", "defmacrop", "defguard", "defguardp", "defdelegate", "defprotocol",
    "defimpl", "defn", "defnp", "test", "describe",
}  # fmt: skip
# Wrappers whose range (decorators, `export`, Go's `type (...)`) belongs to the definition inside them.
_WRAPPERS = {"decorated_definition", "export_statement", "type_declaration"}
# Containers whose children sit at their parent's level (Haskell's top-level `declarations`).
_TRANSPARENT = {"declarations"}
# Comments, attributes and signatures directly above a definition belong to it.
_LEADING = {
    "comment", "line_comment", "block_comment", "multiline_comment", "doc_comment", "documentation_comment",
    "attribute_item", "decorator", "annotation", "marker_annotation", "haddock", "signature",
}  # fmt: skip
# Dart writes a function as a signature followed by its body, as siblings.
_SIGNATURES = {"function_signature", "method_signature"}
# Where a definition's inner definitions live when the grammar has no field for it.
_BODIES = {"class_body", "enum_class_body", "do_block"}
# Definitions without a name of their own.
_FIXED_NAMES = {
    "init_declaration": "init", "deinit_declaration": "deinit", "subscript_declaration": "subscript",
    "indexer_declaration": "this", "companion_object": "companion object", "secondary_constructor": "constructor",
}  # fmt: skip


# Node types that spell a defined name.
_NAME_NODES = {
    "identifier", "type_identifier", "field_identifier", "property_identifier", "constant", "name",
    "namespace_identifier", "operator_name", "destructor_name", "qualified_identifier", "scoped_type_identifier",
    "generic_type", "scoped_identifier", "private_property_identifier", "simple_identifier", "variable", "word",
    "dot_index_expression", "method_index_expression",
}  # fmt: skip


@dataclass
class CodeChunk:
    start_line: int  # 1-based, inclusive
    end_line: int
    heading: str  # file name > symbol path
    symbols: tuple[str, ...] = ()  # names defined in the chunk


@dataclass
class _Segment:
    start: int  # 0-based rows, inclusive
    end: int
    path: tuple[str, ...]  # symbol path of the definition (or of the enclosing one, for gaps)
    symbols: list[str] = field(default_factory=list)
    is_definition: bool = False


@dataclass(frozen=True)
class _Grammar:
    language: str
    kinds: frozenset[str]

    def defines(self, node) -> bool:
        """Whether `node` is a definition (some node types are only in some shapes)."""
        if node.type not in self.kinds:
            return False
        if self.language == "elixir":
            return _elixir_name(node) is not None
        if self.language == "zig" and node.type == "Decl":
            return _zig_name(node) is not None
        if self.language == "lua" and node.type != "function_declaration":
            return _lua_function_name(node) is not None
        if self.language == "haskell" and node.type == "function":
            return node.child_by_field_name("name") is not None  # not a function type (`Int -> Cart`)
        return True


def language_for(path: Path | str) -> str | None:
    """The tree-sitter grammar for a file, or None where syntax-aware chunking does not apply."""
    return LANGUAGES.get(Path(path).suffix.lower())


@functools.cache
def _parser(language: str):
    from tree_sitter_language_pack import get_parser

    return get_parser(language)


def chunk_code(
    text: str, language: str, file_name: str, count_tokens: CountTokens, *, max_tokens: int = 200
) -> list[CodeChunk]:
    """Chunks of whole lines covering the non-blank code of `text`, each within `max_tokens`."""
    lines = text.split("\n")
    tree = _parser(language).parse(text.encode("utf-8"))
    grammar = _Grammar(language, frozenset(DEFINITIONS[language]))
    # Token counts per line in one batched call; a chunk's count is the sum of its lines'.
    line_tokens = [max(0, c - 2) + 1 for c in count_tokens(lines)] if lines else []
    prefix = [0]
    for count in line_tokens:
        prefix.append(prefix[-1] + count)

    def tokens(start: int, end: int) -> int:
        return prefix[end + 1] - prefix[start]

    budget = max(8, max_tokens - 8)
    segments = _split(tree.root_node, 0, len(lines) - 1, (), grammar, tokens, budget)
    chunks = _merge(segments, tokens, budget)
    result = []
    for segment in chunks:
        start, end = segment.start, segment.end
        while start <= end and not lines[start].strip():
            start += 1
        while end >= start and not lines[end].strip():
            end -= 1
        if start > end:
            continue
        heading = " > ".join((file_name, *segment.path))
        result.append(CodeChunk(start + 1, end + 1, heading, tuple(dict.fromkeys(segment.symbols))))
    return result


def _children(node) -> list:
    """Named children, with transparent containers opened."""
    out = []
    for child in node.named_children:
        out += _children(child) if child.type in _TRANSPARENT else [child]
    return out


def _definitions(node, grammar: _Grammar) -> list[tuple[object, int, int, str]]:
    """(definition node, first row including leading comments, last row, name) of the definitions in `node`."""
    found = []
    children = _children(node)
    for i, child in enumerate(children):
        target = child
        while target.type in _WRAPPERS:
            inner = [c for c in target.named_children if grammar.defines(c) or c.type in _WRAPPERS]
            if not inner:
                break
            if target.type == "type_declaration" and len(inner) > 1:
                target = None  # a `type ( ... )` group: one segment named after its first type
                first = _leading_start(children, i, child)
                found.append((child, first, _last_row(child), _name(inner[0]) or "type"))
                break
            target = inner[0]
        if target is None:
            continue
        if grammar.defines(target):
            last = _last_row(target)
            following = children[i + 1] if i + 1 < len(children) else None
            if target.type in _SIGNATURES and following is not None and following.type == "function_body":
                last = _last_row(following)  # Dart: `void add(int x)` then `{ ... }`
            name = _name(target, grammar.language) or target.type
            found.append((target, _leading_start(children, i, child), last, name))
        elif target.type in ("lexical_declaration", "variable_declaration") and len(target.named_children) == 1:
            declarator = target.named_children[0]  # const handler = () => {...}
            value = declarator.child_by_field_name("value")
            if value is not None and value.type in ("arrow_function", "function_expression", "function", "class"):
                found.append(
                    (child, _leading_start(children, i, child), _last_row(child), _name(declarator) or "function")
                )
    return found


def _last_row(node) -> int:
    """The node's last row; a node that ends at the start of a line (indentation-based syntax) ends above it."""
    row, column = node.end_point
    return row - 1 if column == 0 and row > node.start_point[0] else row


def _is_leading(node) -> bool:
    if node.type in _LEADING:
        return True
    # Elixir: `@doc`, `@spec`, `@impl` above a def (not the module's own `@moduledoc`).
    return node.type == "unary_operator" and node.text.startswith(b"@") and not node.text.startswith(b"@moduledoc")


def _leading_start(children: list, i: int, node) -> int:
    row = node.start_point[0]
    j = i - 1
    while j >= 0 and _is_leading(children[j]) and children[j].end_point[0] >= row - 1:
        row = children[j].start_point[0]
        j -= 1
    return row


def _name(node, language: str = "") -> str | None:
    """The defined name: the `name` field, else the type of an impl block, else a C declarator's identifier."""
    if language == "elixir":
        return _elixir_name(node)
    if language == "zig":
        return _zig_name(node)
    if language == "lua" and node.type != "function_declaration":
        return _lua_function_name(node)
    if node.type in _FIXED_NAMES and not any(c.type in _NAME_NODES for c in node.named_children):
        return _FIXED_NAMES[node.type]
    if node.type in ("operator_declaration", "conversion_operator_declaration"):  # C#
        symbol = node.child_by_field_name("operator") or node.child_by_field_name("type")
        return "operator " + _text(symbol) if symbol is not None else "operator"
    if node.type == "instance":  # Haskell: `instance Show Cart`
        names = [node.child_by_field_name(f) for f in ("name", "patterns")]
        return " ".join(_text(n) for n in names if n is not None) or None
    for field_name in ("name", "declarator", "type"):
        child = node.child_by_field_name(field_name)
        if child is not None and not child.is_named:
            return _text(child)  # an operator: Swift's `static func ==`
        depth = 0
        while child is not None and depth < 6:
            if child.type in _NAME_NODES:
                text = _text(child)
                if child.type == "generic_type":
                    text = text.split("<", 1)[0]
                return text
            child = (
                child.child_by_field_name("declarator")
                or child.child_by_field_name("name")
                or (child.named_children[0] if child.named_children else None)
            )
            depth += 1
    if node.type == "template_declaration":
        inner = [c for c in node.named_children if c.type != "template_parameter_list"]
        return _name(inner[-1]) if inner else None
    for child in node.named_children:  # grammars without a name field (Kotlin, Dart's mixins)
        if child.type in _NAME_NODES:
            return _text(child)
    if node.type in _SIGNATURES and node.named_children:  # Dart: method_signature > function_signature
        return _name(node.named_children[0])
    return None


def _text(node) -> str:
    return node.text.decode("utf-8", "replace")


def _elixir_name(node) -> str | None:
    """`def add(a, b)` -> add, `defmodule Shop.Cart` -> Shop.Cart, `test "adds"` -> adds; None for other calls."""
    target = node.child_by_field_name("target")
    if node.type != "call" or target is None or _text(target) not in ELIXIR_DEFINITIONS:
        return None
    has_block = any(c.type == "do_block" for c in node.named_children)
    if _text(target) in ("test", "describe") and not has_block:
        return None
    arguments = next((c for c in node.named_children if c.type == "arguments"), None)
    if arguments is None or not arguments.named_children:
        return None
    head = arguments.named_children[0]
    while head.type == "binary_operator" and head.child_by_field_name("left") is not None:
        head = head.child_by_field_name("left")  # def add(a, b) when is_integer(a)
    if head.type == "call" and head.child_by_field_name("target") is not None:
        head = head.child_by_field_name("target")
    if head.type == "string":
        return _text(head).strip("\"'") or None
    return _text(head) if head.type in ("identifier", "alias", "atom") else None


def _zig_container(decl):
    """The struct/enum/union a Zig `const X = struct {...}` declares, or None."""
    variable = next((c for c in decl.named_children if c.type == "VarDecl"), None)
    node = variable
    for _ in range(4):
        if node is None:
            return None
        node = next(
            (c for c in node.named_children if c.type in ("ErrorUnionExpr", "SuffixExpr", "ContainerDecl")), None
        )
        if node is not None and node.type == "ContainerDecl":
            return node
    return None


def _zig_name(node) -> str | None:
    """A Zig function's or container's name; a test's description; None for other declarations."""
    if node.type == "TestDecl":
        label = next(
            (c for c in node.named_children if c.type.startswith("STRINGLITERAL") or c.type == "IDENTIFIER"), None
        )
        return "test " + _text(label).strip('"') if label is not None else "test"
    proto = next((c for c in node.named_children if c.type == "FnProto"), None)
    holder = proto if proto is not None else (node.named_children[0] if _zig_container(node) is not None else None)
    if holder is None:
        return None
    name = next((c for c in holder.named_children if c.type == "IDENTIFIER"), None)
    return _text(name) if name is not None else None


def _lua_function_name(node) -> str | None:
    """`M.add = function() ... end` or `local add = function() ... end` -> the assigned name; else None."""
    if node.type == "variable_declaration":
        node = next((c for c in node.named_children if c.type == "assignment_statement"), None)
        if node is None:
            return None
    names = next((c for c in node.named_children if c.type == "variable_list"), None)
    values = next((c for c in node.named_children if c.type == "expression_list"), None)
    if names is None or values is None or len(values.named_children) != 1:
        return None
    if values.named_children[0].type != "function_definition" or not names.named_children:
        return None
    return _text(names.named_children[0])


def _body(node):
    """Where a definition's inner definitions live (class body, impl block, declaration list)."""
    for field_name in ("body", "declaration_list", "declarations"):
        child = node.child_by_field_name(field_name)
        if child is not None:
            return child
    if node.type == "template_declaration":
        inner = [c for c in node.named_children if c.type != "template_parameter_list"]
        return _body(inner[-1]) if inner else None
    if node.type in ("class", "module", "singleton_class"):
        return node  # Ruby: methods are direct children
    if node.type == "Decl":
        return _zig_container(node)
    return next((c for c in node.named_children if c.type in _BODIES), None)


def _split(node, start: int, end: int, path, grammar: _Grammar, tokens, budget) -> list[_Segment]:
    """Segments covering rows start..end of `node`'s span: its definitions and the gaps between them."""
    segments: list[_Segment] = []
    cursor = start
    for definition, first, last, name in _definitions(node, grammar):
        first = max(first, cursor)
        if last < first:
            continue
        if first > cursor:
            segments.append(_Segment(cursor, first - 1, path))
        own = (*path, name)
        if tokens(first, last) <= budget:
            segments.append(_Segment(first, last, own, _names(definition, grammar, name), True))
        else:
            body = _body(definition)
            inner = _split(body, first, last, own, grammar, tokens, budget) if body is not None else []
            if sum(s.is_definition for s in inner):
                inner[0].symbols.insert(0, name)
                segments += inner
            else:
                segments += _cut(first, last, own, [name], tokens, budget)
        cursor = last + 1
    if cursor <= end:
        segments.append(_Segment(cursor, end, path))
    # A long gap (a script's top-level code, a giant table) is cut at line boundaries.
    return [
        piece
        for s in segments
        for piece in (
            _cut(s.start, s.end, s.path, s.symbols, tokens, budget, s.is_definition)
            if tokens(s.start, s.end) > budget
            else [s]
        )
    ]  # noqa: E501


def _names(node, grammar: _Grammar, name: str) -> list[str]:
    """The name of a definition and of every definition nested in it."""
    names = [name]
    stack = list(node.named_children)
    while stack:
        child = stack.pop()
        if grammar.defines(child):
            inner = _name(child, grammar.language)
            if inner:
                names.append(inner)
        stack.extend(child.named_children)
    return names


def _cut(start: int, end: int, path, symbols, tokens, budget, is_definition: bool = True) -> list[_Segment]:
    """Rows start..end in runs of whole lines within the budget (a line over it stands alone)."""
    pieces = []
    first = start
    for row in range(start, end + 1):
        if row > first and tokens(first, row) > budget:
            pieces.append(_Segment(first, row - 1, path, list(symbols) if not pieces else [], is_definition))
            first = row
    pieces.append(_Segment(first, end, path, list(symbols) if not pieces else [], is_definition))
    return pieces


def _merge(segments: list[_Segment], tokens, budget: int) -> list[_Segment]:
    """Join neighbours at the same level while they fit: a run of short functions or a gap and its definition."""
    merged: list[_Segment] = []
    for segment in segments:
        if merged:
            last = merged[-1]
            same_level = (
                last.path[:-1] == segment.path[:-1]
                or last.path == segment.path[:-1]
                or (segment.path == last.path[:-1])
            )
            if same_level and tokens(last.start, segment.end) <= budget and segment.start == last.end + 1:
                merged[-1] = _Segment(
                    last.start,
                    segment.end,
                    _joined_path(last, segment),
                    last.symbols + segment.symbols,
                    last.is_definition or segment.is_definition,
                )
                continue
        merged.append(segment)
    return merged


def _joined_path(a: _Segment, b: _Segment) -> tuple[str, ...]:
    """The heading of two merged segments: a definition's own path wins over its enclosing gap's."""
    if not a.is_definition:
        return b.path if b.is_definition or len(b.path) > len(a.path) else a.path
    if not b.is_definition or a.path == b.path:
        return a.path
    common = []
    for x, y in zip(a.path, b.path, strict=False):
        if x != y:
            break
        common.append(x)
    names = [a.path[len(common)]] if len(a.path) > len(common) else []
    if len(b.path) > len(common) and not (names and b.path[len(common)] in names[0].split(", ")):
        names.append(b.path[len(common)])  # (a name already listed, a function's next clause, is not repeated)
    # "a, b" after the common prefix; a third merge extends the list.
    if names and ", " in names[0]:
        return (*common, names[0] + (", " + names[1] if len(names) > 1 else ""))
    return (*common, ", ".join(names)) if names else tuple(common)
