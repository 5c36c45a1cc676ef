"""The exit codes of the `stsync` command besides 0."""

EXIT_FAILED_RECORDS = 1  # records not copied, or an asset not materialized
EXIT_CONFIG = 2  # a configuration problem (environment, config file, crosswalk, arguments)
EXIT_REFUSED = 1  # `verify`: an endpoint a sync reads refused (a scope the app was not granted)
