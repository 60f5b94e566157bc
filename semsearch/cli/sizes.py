"""Sizes on the command line (--max-file-size 10MB, --max-body 500k): decimal units, as disks are sold."""

from __future__ import annotations

import click

UNITS = {"k": 1_000, "kb": 1_000, "m": 1_000_000, "mb": 1_000_000, "g": 1_000_000_000, "gb": 1_000_000_000}


def parse_size(value: str) -> int:
    """Bytes in "10MB", "500k", "1.5g" or "4096"; click.BadParameter otherwise."""
    text = value.strip().lower()
    for suffix in sorted(UNITS, key=len, reverse=True):
        if text.endswith(suffix) and text[: -len(suffix)].strip().replace(".", "", 1).isdigit():
            return int(float(text[: -len(suffix)]) * UNITS[suffix])
    if text.isdigit():
        return int(text)
    raise click.BadParameter(f"not a size: {value!r} (try 500k, 10MB)")


class Size(click.ParamType):
    """A click option type for sizes, so a bad one is a usage error naming the option."""

    name = "size"

    def convert(self, value, param, ctx) -> int:
        if isinstance(value, int):
            return value
        try:
            return parse_size(str(value))
        except click.BadParameter as e:
            self.fail(e.message, param, ctx)
