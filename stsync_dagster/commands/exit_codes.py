"""The exit codes of the `stsync` command besides 0."""

EXIT_FAILED_RECORDS = 1  # records not copied, or an asset not materialized
EXIT_CONFIG = 2  # a configuration problem (environment, config file, crosswalk, arguments)
