"""The run's console logger for the command line's `--log-format json`: Dagster's lines as JSON objects, in
the same shape as the command's own (see stsync_dagster.terminal.JsonLines)."""

import logging

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


def cli_loggers(log_format: str) -> dict:
    """Logger definitions replacing the default console one (none: Dagster's coloured lines)."""
    return {"console": json_lines_logger} if log_format == "json" else {}
