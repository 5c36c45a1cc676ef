"""Reading Production: the pages of a window, complete or an error."""

from stsync_dagster.sync.read.complete import complete_pages

__all__ = ["complete_pages"]
