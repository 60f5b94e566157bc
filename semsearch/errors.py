"""One exception family, so the CLI can print a one-line message instead of a traceback.

``status`` mirrors the HTTP status Ollama would answer with, so the server and the
client share one vocabulary of failures.
"""

from __future__ import annotations


class SemsearchError(Exception):
    """Any failure a user should see as one clear line."""

    status: int = 500

    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        self.message = message
        if status is not None:
            self.status = status

    def __str__(self) -> str:
        return self.message


class InvalidInputError(SemsearchError):
    status = 400


class ContextLengthError(InvalidInputError):
    """An input is longer than the model's context and truncation is off."""

    def __init__(self, message: str = "the input length exceeds the context length"):
        super().__init__(message)


class ModelNotFoundError(SemsearchError):
    status = 404

    def __init__(self, model: str):
        message = f"model '{model}' not found" if not model else f'model "{model}" not found, try pulling it first'
        super().__init__(message)
        self.model = model


class ServerBusyError(SemsearchError):
    status = 503

    def __init__(self, message: str = "server busy, please try again.  maximum pending requests exceeded"):
        super().__init__(message)


class EmbedderHTTPError(SemsearchError):
    """An embedding server answered with an error, or could not be reached (status 0)."""


class ModelIntegrityError(SemsearchError):
    """Model weights on disk differ from the pinned release."""


class IndexMismatchError(SemsearchError):
    """An index was built with another model or dimension count than the one asked for."""


class IndexBusyError(SemsearchError):
    """Another process is writing this index and the caller chose not to wait."""

    exit_code = 75  # EX_TEMPFAIL: try again later


class IndexNotFoundError(SemsearchError):
    """A command that reads an index was pointed at a folder that holds none."""


class SettingError(SemsearchError):
    """An environment variable (SEMSEARCH_*, OLLAMA_*) holds a value semsearch cannot use."""


class DatabaseBusyError(IndexBusyError):
    """SQLite stayed locked by another program (not a semsearch writer) past the busy timeout."""


class IndexInterrupted(KeyboardInterrupt):
    """Ctrl-C (or SIGTERM turned into it) during an indexing run: what was committed stays."""

    def __init__(self, files: int, left: int, pending: int):
        self.files, self.left, self.pending = files, left, pending
        super().__init__(self.summary())

    def summary(self) -> str:
        line = f"{self.files} {'file' if self.files == 1 else 'files'} indexed and committed (searchable by keyword)"
        if self.left:
            line += f", {self.left} left for the next run"
        if self.pending:
            line += f"; {self.pending} chunks wait for their vectors: the next run embeds them"
        return line
