"""The run's console loggers of the command line: for `--log-format json`, Dagster's lines as JSON objects in
the same shape as the command's own (see stsync_dagster.terminal.JsonLines); for text, Dagster's coloured
lines without one line per record not copied (the report that ends the command groups them, and `--verbose`
lists each one), so a demo or a sync with many blocked records does not bury its table."""

import logging
import re

import dagster as dg

from stsync_dagster.terminal import JsonLines, stderr_handler


@dg.logger(
    config_schema={"log_level": dg.Field(str, is_required=False, default_value="INFO")},
    description="One JSON object a line on stderr: time, level, logger, message, run_id, step_key.",
)
def json_lines_logger(init_context) -> logging.Logger:
    logger = logging.Logger("dagster", level=init_context.logger_config["log_level"])
    logger.addHandler(stderr_handler(JsonLines()))
    return logger


_PER_RECORD = re.compile(r"\b\w+ \d+ (blocked|failed|deferred|conflict): ")


class _NotPerRecord(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not _PER_RECORD.search(record.getMessage())


@dg.logger(config_schema=dg.colored_console_logger.config_schema,
           description="Dagster's coloured console lines, without a line per record not copied.")
def summary_console_logger(init_context) -> logging.Logger:
    logger = dg.colored_console_logger.logger_fn(init_context)
    logger.addFilter(_NotPerRecord())
    return logger


def cli_loggers(log_format: str) -> dict:
    """Logger definitions replacing the default console one."""
    return {"console": json_lines_logger if log_format == "json" else summary_console_logger}
