"""What a person at a terminal sees: a progress bar per asset while the sync works, then the tables. The
command runs on a pseudo-terminal, as in a shell; Rich's own test console checks the bars' columns."""

from __future__ import annotations

import io
import os
import pty
import re
import subprocess
import sys
from pathlib import Path

from rich.console import Console

from stsync_dagster.sync.outcome import Outcome, SyncReport
from stsync_dagster.terminal import ProgressBars
from stsync_dagster_tests.sync_helpers import KIND_OF, sync_env

STSYNC = Path(sys.executable).parent / "stsync"
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07|\r")


def _on_a_terminal(args, env, cwd) -> tuple[int, str]:
    """Run stsync with stdin, stdout and stderr on a pseudo-terminal; return its exit code and what it drew."""
    leader, follower = pty.openpty()
    base = {k: v for k, v in os.environ.items() if not k.startswith(("ST_", "STSYNC_"))}
    proc = subprocess.Popen([str(STSYNC), *args], stdin=follower, stdout=follower, stderr=follower, cwd=cwd,
                            env={**base, **env, "TERM": "xterm-256color", "COLUMNS": "160"})  # fmt: skip
    os.close(follower)
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # EIO: every writer has closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(leader)
    return proc.wait(timeout=300), ANSI.sub("", b"".join(chunks).decode(errors="replace"))


def test_a_sync_on_a_terminal_shows_a_bar_per_asset_and_the_tables(simulator, tmp_path):
    env = sync_env(simulator, tmp_path)
    code, screen = _on_a_terminal(["sync", "all"], env, tmp_path)
    assert code in (0, 1), screen
    for entity in ("items", "jobs", "pos"):
        in_window = len(simulator.records("prod", KIND_OF[entity]))
        # The last frame of the bar: every record of the window done, of as many as the API counted.
        assert re.search(rf"{entity}\s+━+\s+{in_window}/{in_window}\s+records", screen), (entity, screen[-4000:])
    assert re.search(r"│ created\s+│\s+\d+ │\s+\d+ │\s+\d+ │", screen), screen[-4000:]  # the counts table
    assert "Not copied by jobs" in screen  # and the grouped reasons


def test_the_bars_count_records_of_the_window_and_show_the_outcomes():
    out = Console(file=io.StringIO(), force_terminal=True, width=140, color_system=None)
    report = SyncReport("pos")

    def last_frame() -> str:
        bars.progress.refresh()
        return [line for line in ANSI.sub("", out.file.getvalue()).splitlines() if line.strip()][-1]

    with ProgressBars(out) as bars:
        bars(report, False)  # started: the window's size is not known yet
        assert re.search(r"pos\s+━+\s+0/\?\s+records", last_frame())
        report.window_total, report.window_done = 400, 150
        for _ in range(7):
            report.add(Outcome.CREATED, 1)
        report.add(Outcome.BLOCKED, 2)
        bars(report, False)
        frame = last_frame()
        assert re.search(r"pos\s+━+\s+150/400\s+records", frame) and "created 7  blocked 1" in frame, frame
        report.window_done = 400
        bars(report, True)
        assert re.search(r"400/400\s+records", last_frame())
