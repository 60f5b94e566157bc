"""Tool input schemas that strict validators accept, and bad arguments as one line.

The SDK derives each tool's input schema from its signature with pydantic, which writes an
optional argument as `anyOf: [T, {"type": "null"}]` with no `type` of its own and a list of
objects as a `$ref` into `$defs`. Validators that accept only a plain subset of JSON Schema
(Gemini's among them) reject both, so `strict_schema` inlines the references and keeps only
the non-null branch: every property then declares its type. Arguments are still validated by
the same pydantic model; `argument_error` turns its multi-line report into one line naming the
argument.
"""

from __future__ import annotations

import copy
from typing import Any


def strict_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """The schema with `$ref`s inlined, `$defs` dropped and `anyOf [T, null]` made `T` (defaults of None dropped)."""
    definitions = schema.get("$defs", {})

    def walk(node: Any) -> Any:
        if isinstance(node, list):
            return [walk(item) for item in node]
        if not isinstance(node, dict):
            return node
        if "$ref" in node:
            target = definitions[node["$ref"].rsplit("/", 1)[-1]]
            node = {**copy.deepcopy(target), **{k: v for k, v in node.items() if k != "$ref"}}
        options = node.get("anyOf")
        if options is not None:
            kept = [option for option in options if option != {"type": "null"}]
            if len(kept) == 1:
                node = {**{k: v for k, v in node.items() if k != "anyOf"}, **kept[0]}
                if node.get("default", 0) is None:
                    del node["default"]
        return {key: walk(value) for key, value in node.items() if key != "$defs"}

    return walk(schema)


def untyped_properties(schema: dict[str, Any], where: str = "") -> list[str]:
    """Paths of properties (at any depth, array items included) that declare no `type`."""
    found = []
    for name, spec in schema.get("properties", {}).items():
        path = f"{where}{name}"
        if not isinstance(spec, dict) or "type" not in spec:
            found.append(path)
            continue
        found += untyped_properties(spec, path + ".")
        if isinstance(spec.get("items"), dict):
            items = spec["items"]
            if "type" not in items:
                found.append(path + "[]")
            found += untyped_properties(items, path + "[].")
    return found


def argument_error(errors: list[dict[str, Any]]) -> str:
    """One line for pydantic's validation errors: the first bad argument, named, and what was wrong."""
    first = errors[0]
    where = _location(first.get("loc", ()))
    if first.get("type") == "missing":
        line = f"missing argument {where}"
    else:
        message = str(first.get("msg", "invalid value"))
        message = message[:1].lower() + message[1:]
        line = f"invalid argument {where}: {message}, got {_shown(first.get('input'))}"
    more = len(errors) - 1
    return line + (f" (and {more} more problem{'s' * (more > 1)})" if more else "")


def _location(loc) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "arguments"


def _shown(value: Any, width: int = 40) -> str:
    import json

    try:
        text = json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        text = repr(value)
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"
