"""The subcommands of the `stsync` command, one module each (verify, sync and copy, history, reconcile, demo), and
what they share: the checks before a run (preflight), the progress bars (progress), the report (report) and the
exit codes. stsync_dagster.cli parses the command line and runs them."""
