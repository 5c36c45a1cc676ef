"""Logs of a run: the engine's lines forwarded to the step's event log, and the command line's console loggers.

`engine_logs(context, mask)`, around a step's body: what the engine logs through the Python loggers `stsync.*`
(adopted instead of created, an answer lost, mappings forgotten, a window that changed while it was read) is
sent to `context.log` at its level, masked like everything else the step shows, from whichever thread logged it,
and only while the step runs. A handler installed by the step itself, not Dagster's `managed_python_loggers`:
that one needs the instance's dagster.yaml (the UI's, `dg.materialize`'s and the command's ephemeral instance
each would need it) and forwards the text unmasked.

The command line's console loggers: for `--log-format json`, Dagster's lines as JSON objects in the same shape
as the command's own (see stsync_dagster.terminal.JsonLines); for text, Dagster's coloured lines without one line
per record not copied (the report that ends the command groups them, and `--verbose` lists each one), so a demo
or a sync with many blocked records does not bury its table. Neither prints a forwarded engine line: the command
prints the engine's loggers itself.
"""

import logging
import re
import threading
from contextlib import contextmanager
from typing import Iterator

import dagster as dg

from stsync_dagster.servicetitan.redact import Redactor
from stsync_dagster.terminal import JsonLines, stderr_handler

ENGINE_LOGGER = "stsync"
# The engine's line per record not copied ("items 123 blocked: …"), at INFO: the step logs each itself at its
# outcome's level (assets.log_sync_report), and the command's report groups them.
_PER_RECORD = re.compile(r"\b\w+ \d+ (blocked|failed|deferred|conflict): ")
FORWARDED = "stsync_forwarded"  # set on a forwarded line (a LogRecord attribute): the command does not print it twice


class _Forwarder:
    """One step's destination: its `context.log`, its mask; closed when the step ends."""

    def __init__(self, log: logging.Logger, mask: Redactor) -> None:
        self.log, self.mask = log, mask
        self.open = True


class _EngineHandler(logging.Handler):
    """On the `stsync` logger while a step runs. A record goes to the step of the thread that logged it; one logged
    by a thread of the engine's own (which knows no step) goes to the one step running in this process. Were
    several running at once here (runs in threads of one process, never the UI's or the command's), such a line
    stays in the Python loggers only, rather than in another run's log."""

    def __init__(self) -> None:
        super().__init__()
        self.steps: list[_Forwarder] = []
        self.step_of_thread: dict[int | None, _Forwarder] = {}  # the thread each step's body runs on

    def emit(self, record: logging.LogRecord) -> None:
        # Handler.handle holds self.lock around emit: closing a step takes it too, so nothing is forwarded after.
        step = self.step_of_thread.get(record.thread)
        if step is None and len(self.steps) == 1:
            step = self.steps[0]
        if step is None or not step.open or getattr(record, FORWARDED, False):
            return
        try:
            message = record.getMessage()
            if _PER_RECORD.search(message):  # the step logs each record not copied itself, at its outcome's level
                return
            if record.exc_info:
                message += "\n" + _FORMAT.formatException(record.exc_info)
            step.log.log(record.levelno, step.mask(message), extra={FORWARDED: True})
        except Exception:
            self.handleError(record)


_FORMAT = logging.Formatter()
_handler = _EngineHandler()
_saved_level: int = logging.NOTSET


@contextmanager
def engine_logs(context, mask: Redactor) -> Iterator[None]:
    """Forward the engine's log lines to the step's event log for the block, masked with `mask`. Lines at INFO
    and above are logged while a step runs, whatever the root logger's level (the event log keeps its own)."""
    forwarder = _Forwarder(context.log, mask)
    thread = threading.get_ident()
    engine = logging.getLogger(ENGINE_LOGGER)
    global _saved_level
    with _handler.lock:
        if not _handler.steps:
            _saved_level = engine.level
            if engine.getEffectiveLevel() > logging.INFO:
                engine.setLevel(logging.INFO)
            engine.addHandler(_handler)
        _handler.steps.append(forwarder)
        _handler.step_of_thread[thread] = forwarder
    try:
        yield
    finally:
        with _handler.lock:
            forwarder.open = False
            _handler.steps.remove(forwarder)
            if _handler.step_of_thread.get(thread) is forwarder:
                del _handler.step_of_thread[thread]
            if not _handler.steps:
                engine.removeHandler(_handler)
                engine.setLevel(_saved_level)


class _NotForwarded(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not getattr(record, FORWARDED, False)


@dg.logger(
    config_schema={"log_level": dg.Field(str, is_required=False, default_value="INFO")},
    description="One JSON object a line on stderr: time, level, logger, message, run_id, step_key.",
)
def json_lines_logger(init_context) -> logging.Logger:
    logger = logging.Logger("dagster", level=init_context.logger_config["log_level"])
    logger.addHandler(stderr_handler(JsonLines()))
    logger.addFilter(_NotForwarded())
    return logger


class _NotPerRecord(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not _PER_RECORD.search(record.getMessage())


@dg.logger(
    config_schema=dg.colored_console_logger.config_schema,
    description="Dagster's coloured console lines, without a line per record not copied.",
)
def summary_console_logger(init_context) -> logging.Logger:
    logger = dg.colored_console_logger.logger_fn(init_context)
    logger.addFilter(_NotPerRecord())
    logger.addFilter(_NotForwarded())
    return logger


def cli_loggers(log_format: str) -> dict:
    """Logger definitions replacing the default console one."""
    return {"console": json_lines_logger if log_format == "json" else summary_console_logger}
