"""How long-running commands stop: Ctrl-C (SIGINT) and SIGTERM alike, for index, watch, serve and ui.

The first signal raises KeyboardInterrupt in the main thread (servers first shut down gracefully);
the command then prints one line saying what state things are in and exits 128 + the signal's
number, as shells report a process a signal stopped: 130 for Ctrl-C, 143 for SIGTERM.
"""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
from collections.abc import Callable, Iterator

import click

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Stop:
    """Which signal stopped the command (None while none came); a command may set it itself."""

    def __init__(self):
        self.signum: int | None = None

    def _handle(self, signum: int, frame) -> None:
        if self.signum is None:
            self.signum = signum
        raise KeyboardInterrupt


def exit_status(signum: int) -> int:
    return 128 + signum


@contextlib.contextmanager
def stoppable(describe: Callable[[KeyboardInterrupt | None], str | None]) -> Iterator[Stop]:
    """Run the block until it ends or a signal stops it; then `describe` gives the line to print (None: nothing).

    describe gets the KeyboardInterrupt that ended the block, or None when the block returned
    after a signal (a server that shut down gracefully). Then the process exits 128 + signal.
    """
    stop = Stop()
    previous = {}
    if threading.current_thread() is threading.main_thread():
        previous = {sig: signal.signal(sig, stop._handle) for sig in STOP_SIGNALS}
    interrupt: KeyboardInterrupt | None = None
    try:
        yield stop
    except KeyboardInterrupt as e:
        interrupt = e
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if interrupt is None and stop.signum is None:
        return
    if line := describe(interrupt):
        click.echo(line, err=True)
    sys.exit(exit_status(stop.signum or signal.SIGINT))
