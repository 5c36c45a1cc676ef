"""The two clients: Production can only read; Integration can also create, patch, delete and change statuses."""

from __future__ import annotations

from typing import Any, Mapping, Sequence

from .errors import AmbiguousWriteError, BulkUnsupported, ServiceTitanError
from .reading import Reader
from .settings import ClientSettings, EnvironmentSettings, check_integration_target


BULK_PRICEBOOK = "/pricebook/v2/tenant/{tenant}/pricebook"  # PricebookBulk_Create and PricebookBulk_Update


class ProductionClient(Reader):
    """Read-only client for Production. It has no write method, and its transport refuses non-GET calls
    (Reader's `read_only`)."""

    @classmethod
    def from_settings(cls, settings: ClientSettings) -> "ProductionClient":
        return cls(settings.prod, **cls.settings_options(settings))


class IntegrationClient(Reader):
    """Reads and writes Integration. Refuses (SettingsError) a target that looks like Production."""

    read_only = False

    def __init__(self, env: EnvironmentSettings, *, production: EnvironmentSettings, **options: Any) -> None:
        """`options`: Reader's (page size, timeout, rate limit, retries, pacer database, http transport)."""
        check_integration_target(env, production)  # before anything can be sent
        super().__init__(env, **options)

    @classmethod
    def from_settings(cls, settings: ClientSettings) -> "IntegrationClient":
        return cls(settings.int, production=settings.prod, **cls.settings_options(settings))

    def create(self, path: str, payload: Mapping[str, Any]) -> dict:
        """POST a new record; returns the answer (the full record, or just {"id": n} for some kinds).

        Raises AmbiguousWriteError when the request went out but no usable answer came back: look the
        record up before creating it again.
        """
        body = self._transport.request("POST", path, json=payload)
        return self._as_record("POST", path, body)

    def patch(self, path: str, id: int | str, payload: Mapping[str, Any]) -> dict:
        """PATCH one record; returns the answer ({} when the server answers with no body)."""
        target = f"{path.rstrip('/')}/{id}"
        body = self._transport.request("PATCH", target, json=payload)
        return self._as_record("PATCH", target, body)

    def delete(self, path: str, id: int | str) -> None:
        """DELETE one record (a material: 204). Raises NotFoundError when it is not there, AmbiguousWriteError
        when the answer was lost (read the record to know whether it is gone)."""
        self._transport.request("DELETE", f"{path.rstrip('/')}/{id}")

    def act(self, method: str, path: str, id: int | str, payload: Mapping[str, Any] | None = None) -> dict:
        """A status change (PUT or PATCH on a path with {id}, e.g. …/jobs/{id}/cancel); returns the answer or {}.
        Raises AmbiguousWriteError like any write whose answer was lost: read the record before trying again."""
        target = path.replace("{id}", str(id))
        body = self._transport.request(method, target, json=dict(payload or {}))
        return self._as_record(method, target, body)

    def bulk_create_materials(self, items: Sequence[Mapping[str, Any]]) -> list[dict]:
        """Create many materials in one request; returns [{"customId", "id"}] of those created.

        Each item is a material create payload plus `customId` (the caller's key for it, echoed back). Raises
        BulkUnsupported when the API has no bulk endpoint, ValidationError when the batch is refused (its
        errors name the item: "materials[3].code"), AmbiguousWriteError when no usable answer came back (the
        materials may exist: look them up by their stamps).
        """
        body = self._bulk("POST", {"materials": list(items)})
        created = body.get("materials") if isinstance(body, dict) else None
        if not isinstance(created, list) or not all(_is_pair(m) for m in created):
            raise AmbiguousWriteError(
                f"POST {self._transport.resolve(BULK_PRICEBOOK)}: success without the list of "
                "created ids; the materials may exist",
                method="POST",
                path=BULK_PRICEBOOK,
            )
        return [{"customId": m["customId"], "id": m["id"]} for m in created]

    def bulk_update_materials(self, items: Sequence[Mapping[str, Any]]) -> None:
        """Update many materials in one request; each item carries the material's `id` and the fields to set."""
        self._bulk("PATCH", {"materials": list(items)})

    def _bulk(self, method: str, payload: dict) -> Any:
        try:
            return self._transport.request(method, BULK_PRICEBOOK, json=payload)
        except ServiceTitanError as exc:
            if exc.status in (404, 405) and not isinstance(exc, AmbiguousWriteError):
                raise BulkUnsupported(
                    f"{method} {self._transport.resolve(BULK_PRICEBOOK)}: answered {exc.status}; "
                    "this API has no bulk pricebook endpoint",
                    method=method,
                    path=exc.path,
                    status=exc.status,
                    title=exc.title,
                ) from exc
            raise

    def _as_record(self, method: str, path: str, body: Any) -> dict:
        if body is None:
            if method == "POST":
                raise AmbiguousWriteError(
                    f"POST {self._transport.resolve(path)}: success without a body; the new id is unknown",
                    method=method,
                    path=path,
                )
            return {}
        if isinstance(body, dict):
            return body
        if isinstance(body, int) and not isinstance(body, bool):
            return {"id": body}
        raise ServiceTitanError(
            f"{method} {self._transport.resolve(path)}: unexpected answer {type(body).__name__}",
            method=method,
            path=path,
        )


def _is_pair(entry: Any) -> bool:
    return (
        isinstance(entry, dict)
        and "customId" in entry
        and isinstance(entry.get("id"), int)
        and not isinstance(entry.get("id"), bool)
    )
