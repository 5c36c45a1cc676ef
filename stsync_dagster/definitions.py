"""The one Definitions object of the code location (built in stsync_dagster.defs.location, which the command
line builds too)."""

from stsync_dagster.defs.location import build_defs

defs = build_defs()
