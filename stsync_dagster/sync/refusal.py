"""An API refusal as the (field, reason) pair STSync reports for a record."""

from __future__ import annotations

from collections.abc import Callable

from stsync_dagster.servicetitan.errors import ServiceTitanError, field_messages


def api_reason(exc: ServiceTitanError, name: Callable[[str], str] = str) -> tuple[str, str]:
    """The refused fields (each spelled by `name`) and the server's messages for them; `(record)` and the
    error's own text when the server named no field."""
    errors = {name(field): msgs for field, msgs in (getattr(exc, "errors", None) or {}).items()}
    if errors:
        return ", ".join(errors), field_messages(errors)
    return "(record)", str(exc)
