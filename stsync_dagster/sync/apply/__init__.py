"""Writing to Integration: creates (one by one or in bulk), their confirmation in the crosswalk, the SKUs held
active for a moment, and following Production afterwards (updates and status changes)."""
