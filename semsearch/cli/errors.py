"""The CLI's error policy: every failure is one line on stderr and a non-zero exit status, never a traceback."""

from __future__ import annotations

import functools
import sys

import click

from semsearch.cli.output import one_line, printable

OLLAMA_URL = "http://127.0.0.1:11434"


def friendly_errors(command):
    """Turn any failure into one line on stderr and a non-zero exit status, never a traceback.

    SemsearchError says what went wrong (exit 1, or its exit_code: 75 for a busy index);
    OS and SQLite errors name the file; anything else is a bug, reported in one line
    (SEMSEARCH_DEBUG=1 shows the traceback).
    """

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        import os
        import sqlite3

        from semsearch.errors import IndexInterrupted, ModelNotFoundError, SemsearchError

        try:
            return command(*args, **kwargs)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except ModelNotFoundError as e:  # only the in-process embedder raises it: Ollama's own answer is an HTTP error
            raise click.ClickException(not_in_process(e.model)) from None
        except SemsearchError as e:
            error = click.ClickException(one_line(str(e)))
            error.exit_code = getattr(e, "exit_code", 1)
            raise error from None
        except OSError as e:  # disk full, permissions: one line naming the file, never a traceback
            if isinstance(e, BrokenPipeError):
                raise
            where = f"{printable(e.filename)}: " if e.filename else ""
            raise click.ClickException(one_line(f"{where}{e.strerror or e}")) from None
        except sqlite3.Error as e:
            raise click.ClickException(one_line(f"index database error: {e}")) from None
        except IndexInterrupted as e:  # a run that indexes (query PATH...) says what it kept
            click.echo(f"Interrupted: {e.summary()}.", err=True)
            sys.exit(130)
        except KeyboardInterrupt:
            click.echo("Interrupted.", err=True)
            sys.exit(130)
        except Exception as e:
            if os.environ.get("SEMSEARCH_DEBUG"):
                raise
            raise click.ClickException(
                one_line(f"unexpected {type(e).__name__}: {e} (a bug: SEMSEARCH_DEBUG=1 shows where)")
            ) from None

    return wrapper


def not_in_process(model: str) -> str:
    """A model the in-process embedder lacks: which ones it has, and how to use an Ollama model instead.

    (`semsearch serve` keeps Ollama's own "try pulling it first": that wording is the API's.)
    """
    from semsearch.embed.local import LOCAL_MODELS
    from semsearch.embed.static import STATIC_MODELS

    here = ", ".join([*LOCAL_MODELS, *STATIC_MODELS])
    return one_line(
        f"model {model!r} is not available in-process (in-process models: {here}); "
        f"for an Ollama model run `ollama pull {model}` and pass --embedder {OLLAMA_URL} (or where Ollama runs)"
    )


def usage_error_line(error: click.UsageError) -> str:
    """click's usage errors as one line: "Error: ... (see 'semsearch CMD --help')"."""
    command = error.ctx.command_path if error.ctx else "semsearch"
    return f"Error: {one_line(error.format_message())} (see '{command} --help')"
