"""The `semsearch` command: thin click commands over the Python API.

Heavy imports (numpy, onnxruntime, faiss) happen inside commands, so `--help` is fast.
"""

from __future__ import annotations

import functools
import sys

import click

from semsearch import __version__


def friendly_errors(command):
    """Turn a SemsearchError into one line on stderr and exit status 1, never a traceback."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        from semsearch.errors import SemsearchError

        try:
            return command(*args, **kwargs)
        except SemsearchError as e:
            raise click.ClickException(str(e)) from None
        except KeyboardInterrupt:
            click.echo("Interrupted.", err=True)
            sys.exit(130)

    return wrapper


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="semsearch")
def cli() -> None:
    """Search your folders by meaning.

    \b
    semsearch index ./docs
    semsearch query "how do I rotate the logs?"
    """


def main() -> None:
    cli(prog_name="semsearch")
