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
}
# Wrappers whose range (decorators, `export`, Go's `type (...)`) belongs to the definition inside them.
_WRAPPERS = {"decorated_definition", "export_statement", "type_declaration"}
# Comments and attributes directly above a definition belong to it.
_LEADING = {
    "comment",
    "line_comment",
    "block_comment",
    "attribute_item",
    "decorator",
    "annotation",
    "marker_annotation",
}


# Node types that spell a defined name.
_NAME_NODES = {
    "identifier", "type_identifier", "field_identifier", "property_identifier", "constant", "name",
    "namespace_identifier", "operator_name", "destructor_name", "qualified_identifier", "scoped_type_identifier",
    "generic_type", "scoped_identifier", "private_property_identifier",
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
    kinds = DEFINITIONS[language]
    # Token counts per line in one batched call; a chunk's count is the sum of its lines'.
    line_tokens = [max(0, c - 2) + 1 for c in count_tokens(lines)] if lines else []
    prefix = [0]
    for count in line_tokens:
        prefix.append(prefix[-1] + count)

    def tokens(start: int, end: int) -> int:
        return prefix[end + 1] - prefix[start]

    budget = max(8, max_tokens - 8)
    segments = _split(tree.root_node, 0, len(lines) - 1, (), kinds, tokens, budget, lines)
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


def _definitions(node, kinds: set[str]) -> list[tuple[object, int, str]]:
    """(definition node, first row including leading comments, name) of the definitions directly in `node`."""
    found = []
    children = list(node.named_children)
    for i, child in enumerate(children):
        target = child
        while target.type in _WRAPPERS:
            inner = [c for c in target.named_children if c.type in kinds or c.type in _WRAPPERS]
            if not inner:
                break
            if target.type == "type_declaration" and len(inner) > 1:
                target = None  # a `type ( ... )` group: one segment named after its first type
                found.append((child, _leading_start(children, i, child), _name(inner[0]) or "type"))
                break
            target = inner[0]
        if target is None:
            continue
        if target.type in kinds:
            found.append((target, _leading_start(children, i, child), _name(target) or target.type))
        elif target.type in ("lexical_declaration", "variable_declaration") and len(target.named_children) == 1:
            declarator = target.named_children[0]  # const handler = () => {...}
            value = declarator.child_by_field_name("value")
            if value is not None and value.type in ("arrow_function", "function_expression", "function", "class"):
                found.append((child, _leading_start(children, i, child), _name(declarator) or "function"))
    return found


def _leading_start(children: list, i: int, node) -> int:
    row = node.start_point[0]
    j = i - 1
    while j >= 0 and children[j].type in _LEADING and children[j].end_point[0] >= row - 1:
        row = children[j].start_point[0]
        j -= 1
    return row


def _name(node) -> str | None:
    """The defined name: the `name` field, else the type of an impl block, else a C declarator's identifier."""
    for field_name in ("name", "declarator", "type"):
        child = node.child_by_field_name(field_name)
        depth = 0
        while child is not None and depth < 6:
            if child.type in _NAME_NODES:
                text = child.text.decode("utf-8", "replace")
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
    return None


def _body(node):
    """Where a definition's inner definitions live (class body, impl block, declaration list)."""
    for field_name in ("body", "declaration_list"):
        child = node.child_by_field_name(field_name)
        if child is not None:
            return child
    if node.type == "template_declaration":
        inner = [c for c in node.named_children if c.type != "template_parameter_list"]
        return _body(inner[-1]) if inner else None
    if node.type in ("class", "module", "singleton_class"):
        return node  # Ruby: methods are direct children
    return None


def _split(node, start: int, end: int, path, kinds, tokens, budget, lines) -> list[_Segment]:
    """Segments covering rows start..end of `node`'s span: its definitions and the gaps between them."""
    segments: list[_Segment] = []
    cursor = start
    for definition, first, name in _definitions(node, kinds):
        first = max(first, cursor)
        last = definition.end_point[0]
        if last < first:
            continue
        if first > cursor:
            segments.append(_Segment(cursor, first - 1, path))
        own = (*path, name)
        if tokens(first, last) <= budget:
            segments.append(_Segment(first, last, own, _names(definition, kinds, name), True))
        else:
            body = _body(definition)
            inner = _split(body, first, last, own, kinds, tokens, budget, lines) if body is not None else []
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


def _names(node, kinds, name: str) -> list[str]:
    """The name of a definition and of every definition nested in it."""
    names = [name]
    stack = list(node.named_children)
    while stack:
        child = stack.pop()
        if child.type in kinds:
            inner = _name(child)
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
    if len(b.path) > len(common):
        names.append(b.path[len(common)])
    # "a, b" after the common prefix; a third merge extends the list.
    if names and ", " in names[0]:
        return (*common, names[0] + (", " + names[1] if len(names) > 1 else ""))
    return (*common, ", ".join(names)) if names else tuple(common)
