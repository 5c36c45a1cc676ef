"""Planning a batch: validate, look up the crosswalk, resolve pending claims, copy what the records need,
translate references, adopt what Integration already holds, and build the create requests."""
