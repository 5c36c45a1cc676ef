"""The console on stderr that the progress bars and the logs share, and a run watched with a bar per asset."""

from __future__ import annotations

import sys

from stsync_dagster import terminal

_ERR = None  # the console on stderr (progress bars and logs), made once the streams are wrapped


def stderr_console():
    """Make the console on stderr (call it once sys.stderr is wrapped) and keep it for the progress bars."""
    global _ERR
    _ERR = terminal.console(sys.stderr)
    return _ERR


def watched(work):
    """Run `work` with a progress bar per asset on the terminal (stderr)."""
    from stsync_dagster.sync import progress

    with terminal.ProgressBars(_ERR or terminal.console(sys.stderr)) as bars, progress.watching(bars):
        return work()
