"""`max_tokens`: fit a search answer into a budget of text an agent is willing to read.

Tokens are estimated as 4 characters each of the answer's JSON as the client receives it
(indented by 2, UTF-8): no tokenizer matches every agent's model, and this estimate errs
long for code and English. Results are kept best first; the first one that does not fit is
trimmed at a line boundary (its end_line follows), and it and everything after it are dropped
when even a trimmed passage will not fit. The answer says what was cut, and does not repeat the
query (the caller has it), so that even 100 tokens leave room for a result.
"""

from __future__ import annotations

import json

CHARS_PER_TOKEN = 4
MIN_TEXT_CHARS = 80  # a trimmed passage shorter than this is dropped instead


def estimate_tokens(value: object) -> int:
    """Estimated tokens of `value` as JSON text (indent 2, UTF-8, as the MCP SDK sends it)."""
    return -(-len(json.dumps(value, indent=2, ensure_ascii=False)) // CHARS_PER_TOKEN)


MIN_TOKENS = 100  # the smallest budget accepted: the answer's fixed part takes about 50


def fit(answer: dict, max_tokens: int) -> dict:
    """`answer` (with a "results" list) cut to at most `max_tokens`, with a "budget" entry saying what was cut."""
    answer = {key: value for key, value in answer.items() if key not in ("query", "queries")}  # the caller knows
    results = answer["results"]
    kept: list[dict] = []
    trimmed = 0

    def total(items: list[dict], cut: int) -> int:
        return estimate_tokens(_with_budget(answer, items, max_tokens, cut, len(results) - len(items), final=False))

    for result in results:
        if total([*kept, result], trimmed) <= max_tokens:
            kept.append(result)
            continue
        shorter = _trim(result, lambda r, cut=trimmed: total([*kept, r], cut + 1) <= max_tokens)
        if shorter is not None:
            kept.append(shorter)
            trimmed += 1
        break
    return _with_budget(answer, kept, max_tokens, trimmed, len(results) - len(kept), final=True)


def _with_budget(answer: dict, kept: list[dict], max_tokens: int, trimmed: int, dropped: int, final: bool) -> dict:
    out = {**answer, "results": kept}
    out["budget"] = {"max_tokens": max_tokens, "estimated_tokens": 0, "trimmed": trimmed, "dropped": dropped}
    if trimmed or dropped:
        out["note"] = f"cut to fit max_tokens {max_tokens}: {trimmed} trimmed, {dropped} dropped; `get` reads the rest"
    if final:
        out["budget"]["estimated_tokens"] = estimate_tokens(out)
    else:
        out["budget"]["estimated_tokens"] = max_tokens  # reserve the digits the final count may need
    return out


def _trim(result: dict, fits) -> dict | None:
    """The longest head of the result's text (whole lines) that fits, or None under MIN_TEXT_CHARS."""
    lines = result["text"].split("\n")
    low, high = 0, len(lines)  # binary search on the number of whole lines kept
    while low < high:
        middle = (low + high + 1) // 2
        if fits(_cut(result, lines, middle)):
            low = middle
        else:
            high = middle - 1
    if low == 0 or len("\n".join(lines[:low])) < MIN_TEXT_CHARS:
        return None
    return _cut(result, lines, low)


def _cut(result: dict, lines: list[str], count: int) -> dict:
    cut = {**result, "text": "\n".join(lines[:count]), "trimmed": True}
    if result.get("page") is None and result.get("start_line"):
        cut["end_line"] = min(result["end_line"], result["start_line"] + count - 1)
    return cut
