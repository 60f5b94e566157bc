"""The `semsearch` command: thin click commands over the Python API.

Commands live by area (commands_index, commands_search, commands_serve); what they share is in
its own module: options, output, errors (the one-line error policy), stopping (Ctrl-C and
SIGTERM), progress, sizes, queries (--queries files) and ray (--ray). Heavy imports (numpy,
onnxruntime, faiss) happen inside commands, so `--help` is fast.
"""

from __future__ import annotations

import sys

import click

from semsearch import __version__
from semsearch.cli.commands_index import index, indexes, rm, status, watch
from semsearch.cli.commands_search import eval_command, query, related
from semsearch.cli.commands_serve import embed, mcp, serve, ui
from semsearch.cli.errors import usage_error_line
from semsearch.cli.options import SEARCH_DEFAULT_MODE


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="semsearch", help="Show the version and exit.")
def cli() -> None:
    """Search your folders by meaning.

    \b
    semsearch index ./docs
    semsearch query "how do I rotate the logs?"
    """


for _command in (embed, serve, index, query, related, status, rm, watch, mcp, indexes, ui, eval_command):
    cli.add_command(_command)


def main() -> None:
    """The console script: click's usage errors become one line too ("Error: ... (see --help)")."""
    import os

    try:
        status_code = cli.main(prog_name="semsearch", standalone_mode=False)
    except click.UsageError as e:
        click.echo(usage_error_line(e), err=True)
        sys.exit(e.exit_code)
    except click.ClickException as e:
        e.show()
        sys.exit(e.exit_code)
    except click.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(1)
    except KeyboardInterrupt:
        click.echo("Interrupted.", err=True)
        sys.exit(130)
    except BrokenPipeError:  # `semsearch query ... | head`: the reader left; stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(141)
    sys.exit(status_code if isinstance(status_code, int) else 0)


__all__ = ["SEARCH_DEFAULT_MODE", "cli", "main"]
