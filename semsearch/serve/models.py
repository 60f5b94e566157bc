"""Which embedded models are loaded, and when they unload (Ollama's keep_alive)."""

from __future__ import annotations

import math
import re
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from semsearch.embed.local import GPU_BATCH, LocalEmbedder, resolve_local_model, unload_model
from semsearch.errors import InvalidInputError

DEFAULT_KEEP_ALIVE = 300.0  # seconds, Ollama's 5m
FOREVER = float("inf")

_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)")
_UNIT_SECONDS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


MAX_FINITE_KEEP_ALIVE = 100 * 365 * 24 * 3600.0  # longer than this is "forever" (and stays printable)
_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")


def parse_keep_alive(value: object) -> float:
    """Seconds to stay loaded: "5m", "1h30m", "30s", a number of seconds; negative = forever.

    Huge values (1e12 seconds, "99999999h") mean forever too: a deadline past year 9999
    cannot be shown by /api/ps, so it is never computed.
    """
    if value is None or value == "":
        return DEFAULT_KEEP_ALIVE
    if isinstance(value, bool):
        raise InvalidInputError("keep_alive must be a duration like '5m' or a number of seconds")
    if isinstance(value, int | float):
        return _seconds(value)
    if isinstance(value, str):
        text = value.strip()
        if _NUMBER.fullmatch(text):
            return _seconds(float(text))
        negative = text.startswith("-")
        body = text.lstrip("+-")
        parts = _DURATION_PART.findall(body)
        if parts and "".join(n + u for n, u in parts) == body:
            seconds = sum(float(n) * _UNIT_SECONDS[u] for n, u in parts)
            return FOREVER if negative else _seconds(seconds)
        raise InvalidInputError(f"invalid keep_alive {text[:40]!r}: use a duration like '5m' or a number of seconds")
    raise InvalidInputError("invalid keep_alive: use a duration like '5m' or a number of seconds")


def _seconds(number: int | float) -> float:
    try:
        seconds = float(number)
    except OverflowError:  # an int past float range: forever one way or the other
        return FOREVER
    if math.isnan(seconds):
        raise InvalidInputError("invalid keep_alive: not a number")
    if seconds < 0 or seconds > MAX_FINITE_KEEP_ALIVE:
        return FOREVER
    return seconds


@dataclass
class LoadedModel:
    name: str
    embedder: LocalEmbedder
    loaded_at: float
    expires_at: float  # time.time() seconds; inf = never
    busy: int = 0


CPU_BATCH = 8  # texts per model run on a CPU, where tokens/s hardly depend on the batch


class ModelManager:
    """Loads a model on first use and unloads it after its keep_alive has passed idle."""

    def __init__(self, *, threads: int | None = None, batch_size: int | None = None, device: str = "cpu"):
        self.threads = threads
        self.batch_size = batch_size or (CPU_BATCH if device == "cpu" else GPU_BATCH)
        self.device = device
        self._models: dict[str, LoadedModel] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._reaper = threading.Thread(target=self._reap, name="semsearch-keep-alive", daemon=True)
        self._reaper.start()

    def acquire_loaded(self, model: str) -> tuple[LoadedModel, int] | None:
        """Like acquire, but only if the model is already loaded (never blocks on loading)."""
        spec = resolve_local_model(model)
        with self._lock:
            entry = self._models.get(spec.name)
            if entry is None:
                return None
            entry.busy += 1
            return entry, 0

    def acquire(self, model: str) -> tuple[LoadedModel, int]:
        """The loaded model (loading it if needed) and the load time in ns (0 if it was loaded)."""
        spec = resolve_local_model(model)  # 404 for unknown names
        with self._lock:
            entry = self._models.get(spec.name)
            if entry is not None:
                entry.busy += 1
                return entry, 0
        started = time.perf_counter_ns()
        embedder = LocalEmbedder(spec.name, batch_size=self.batch_size, threads=self.threads, device=self.device)
        embedder.loaded  # noqa: B018 - load now, to time it
        load_ns = time.perf_counter_ns() - started
        with self._lock:
            entry = self._models.setdefault(
                spec.name, LoadedModel(spec.name, embedder, time.time(), time.time() + DEFAULT_KEEP_ALIVE)
            )
            entry.busy += 1
        return entry, max(load_ns, 1)

    def release(self, entry: LoadedModel, keep_alive: float) -> None:
        """Done with a request: restart the idle clock, or unload now for keep_alive 0."""
        with self._lock:
            entry.busy -= 1
            entry.expires_at = time.time() + keep_alive
            if keep_alive <= 0 and entry.busy == 0:
                self._unload(entry.name)

    def loaded(self) -> list[LoadedModel]:
        with self._lock:
            return list(self._models.values())

    def _unload(self, name: str) -> None:
        if self._models.pop(name, None) is not None:
            unload_model(name)

    def _reap(self) -> None:
        while not self._stop.wait(0.25):
            now = time.time()
            with self._lock:
                for entry in list(self._models.values()):
                    if entry.busy == 0 and entry.expires_at <= now:
                        self._unload(entry.name)

    def close(self) -> None:
        self._stop.set()


def expires_iso(expires_at: float) -> str:
    """Ollama's expires_at: an RFC 3339 time; 'forever' is shown far in the future, as Ollama does."""
    if expires_at == FOREVER:
        moment = datetime.now(UTC) + timedelta(days=365 * 100)
    else:
        moment = datetime.fromtimestamp(expires_at, UTC)
    return moment.isoformat().replace("+00:00", "Z")
