"""Environment knobs (SEMSEARCH_BUSY_TIMEOUT, SEMSEARCH_FLAT_LIMIT, ...), read where they are used.

Read at use, never at import: a bad value is then one line naming the variable (a SettingError,
which the CLI prints as such), not an import that fails as a bug.
"""

from __future__ import annotations

import math
import os

from semsearch.errors import SettingError


def env_float(name: str, default: float, *, meaning: str = "a number", minimum: float | None = 0.0) -> float:
    """$name as a finite number (default when unset or blank), or a SettingError saying what it must be."""
    raw = os.environ.get(name, "")
    if not raw.strip():
        return default
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or (minimum is not None and value < minimum):
        raise SettingError(f"{name} must be {meaning}, not {raw!r}")
    return value


def env_int(name: str, default: int, *, meaning: str = "a whole number", minimum: int | None = 0) -> int:
    """$name as an integer (default when unset or blank), or a SettingError saying what it must be."""
    raw = os.environ.get(name, "")
    if not raw.strip():
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingError(f"{name} must be {meaning}, not {raw!r}") from None
    if minimum is not None and value < minimum:
        raise SettingError(f"{name} must be {meaning}, not {raw!r}")
    return value
