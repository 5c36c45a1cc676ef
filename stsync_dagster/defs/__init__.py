"""The Dagster layer: resources, partitions, assets, checks, schedules."""
