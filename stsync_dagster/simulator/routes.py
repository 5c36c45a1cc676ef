"""The API surface: which (method, path) does what, for one environment."""

from __future__ import annotations

from collections.abc import Callable

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from . import (
    writes_crm,
    writes_equipment,
    writes_inventory,
    writes_jpm,
    writes_pricebook,
    writes_pricebook_bulk,
    writes_status,
)
from .problems import ApiError
from .moving import list_answer
from .query import export_records
from .state import SimState
from .store import Tenant
from .validate import not_found

# A handler runs under the tenant's lock: (tenant, request, parsed JSON body or None, state) -> Response.
Handler = Callable[[Tenant, Request, object, SimState], Response]


def _guid(request: Request) -> str | None:
    return request.query_params.get("externalDataApplicationGuid") or None


_NOT_FILTERS = {"page", "pageSize", "includeTotal", "sort", "active", "externalDataApplicationGuid"}


def listing(kind: str) -> Handler:
    def handler(tenant, request, _body, state):
        params = request.query_params
        answer = list_answer(tenant, kind, params, state)
        whole = params.get("page", "1") == "1" and not set(params) - _NOT_FILTERS  # a read of the whole list starts
        state.stats[tenant.env].listed(kind, len(answer.get("data") or ()), whole)
        return JSONResponse(answer)

    return handler


def by_id(kind: str) -> Handler:
    def handler(tenant, request, _body, _state):
        record = tenant.get(kind, request.path_params["id"])
        if record is None:
            raise not_found(kind, request.path_params["id"])
        return JSONResponse(tenant.render(kind, record, _guid(request)))

    return handler


def export(kind: str) -> Handler:
    def handler(tenant, request, _body, state):
        answer = export_records(tenant, kind, request.query_params, state.export_batch_size, state.export_recent_hold)
        return JSONResponse(answer)

    return handler


def full_record(kind: str, write, status: int = 200, with_id: bool = False) -> Handler:
    """Answer with the written record, rendered with the externalData of the guid the request stamped."""

    def handler(tenant, request, body, _state):
        record, guid = write(tenant, request.path_params["id"], body) if with_id else write(tenant, body)
        return JSONResponse(tenant.render(kind, record, guid), status_code=status)

    return handler


def id_only(write, with_id: bool = False) -> Handler:
    def handler(tenant, request, body, _state):
        return JSONResponse(write(tenant, request.path_params["id"], body) if with_id else write(tenant, body))

    return handler


def no_body(write) -> Handler:
    """A status change: 200 with an empty body."""

    def handler(tenant, request, body, _state):
        write(tenant, request.path_params["id"], body)
        return Response(status_code=200)

    return handler


def no_content(write) -> Handler:
    """A delete: 204 with no body."""

    def handler(tenant, request, body, _state):
        write(tenant, request.path_params["id"], body)
        return Response(status_code=204)

    return handler


def plain(write) -> Handler:
    def handler(tenant, _request, body, _state):
        return JSONResponse(write(tenant, body))

    return handler


def bulk(write, status: int) -> Handler:
    """The bulk pricebook endpoints: 404 when switched off, as on an API without them."""

    def handler(tenant, request, body, state):
        if not state.bulk.enabled:
            raise ApiError(404, f"No API resource at {request.url.path}.")
        answer = write(tenant, body, state.bulk)
        return JSONResponse(answer, status_code=status) if answer is not None else Response(status_code=status)

    return handler


ID = "{id:int}"


def reads(domain: str, kind: str) -> tuple[tuple[str, str, str, Handler], ...]:
    """The rows of a kind read as a list and by id."""
    return ("GET", domain, kind, listing(kind)), ("GET", domain, f"{kind}/{ID}", by_id(kind))


# (method, domain, resource path) -> handler. Route keys in stats read "METHOD resource", e.g. "GET materials/{id}".
API: tuple[tuple[str, str, str, Handler], ...] = (
    *reads("pricebook", "materials"),
    ("POST", "pricebook", "materials", full_record("materials", writes_pricebook.create_material, status=201)),
    ("PATCH", "pricebook", f"materials/{ID}", full_record("materials", writes_pricebook.update_material, with_id=True)),
    ("DELETE", "pricebook", f"materials/{ID}", no_content(writes_pricebook.delete_material)),
    ("GET", "pricebook", "export/materials", export("materials")),
    ("POST", "pricebook", "pricebook", bulk(writes_pricebook_bulk.bulk_create, 201)),
    ("PATCH", "pricebook", "pricebook", bulk(writes_pricebook_bulk.bulk_update, 200)),
    ("GET", "pricebook", "categories", listing("categories")),
    *reads("pricebook", "equipment"),
    ("POST", "pricebook", "equipment", full_record("equipment", writes_equipment.create_equipment)),
    (
        "PATCH",
        "pricebook",
        f"equipment/{ID}",
        full_record("equipment", writes_equipment.update_equipment, with_id=True),
    ),
    *reads("inventory", "purchase-orders"),
    ("POST", "inventory", "purchase-orders", id_only(writes_inventory.create_purchase_order)),
    ("PATCH", "inventory", f"purchase-orders/{ID}", id_only(writes_inventory.update_purchase_order, with_id=True)),
    (
        "PATCH",
        "inventory",
        f"purchase-orders/{ID}/cancellation",
        id_only(writes_status.cancel_purchase_order, with_id=True),
    ),
    ("GET", "inventory", "export/purchase-orders", export("purchase-orders")),
    *reads("inventory", "vendors"),
    ("POST", "inventory", "vendors", id_only(writes_inventory.create_vendor)),
    ("GET", "inventory", "warehouses", listing("warehouses")),
    ("GET", "inventory", "purchase-order-types", listing("purchase-order-types")),
    *reads("jpm", "jobs"),
    ("POST", "jpm", "jobs", full_record("jobs", writes_jpm.create_job)),
    ("PATCH", "jpm", f"jobs/{ID}", full_record("jobs", writes_jpm.update_job, with_id=True)),
    ("PUT", "jpm", f"jobs/{ID}/cancel", no_body(writes_status.cancel_job)),
    ("PUT", "jpm", f"jobs/{ID}/remove-cancellation", no_body(writes_status.remove_cancellation)),
    ("PUT", "jpm", f"jobs/{ID}/hold", no_body(writes_status.hold_job)),
    ("PUT", "jpm", f"jobs/{ID}/complete", no_body(writes_status.complete_job)),
    ("GET", "jpm", "job-cancel-reasons", listing("job-cancel-reasons")),
    ("GET", "jpm", "job-hold-reasons", listing("job-hold-reasons")),
    ("GET", "jpm", "export/jobs", export("jobs")),
    *reads("jpm", "job-types"),
    *reads("jpm", "appointments"),
    ("POST", "jpm", "appointments", plain(writes_jpm.add_appointment)),
    ("PATCH", "jpm", f"appointments/{ID}/reschedule", no_body(writes_status.reschedule_appointment)),
    ("GET", "jpm", "export/appointments", export("appointments")),
    ("GET", "dispatch", "appointment-assignments", listing("appointment-assignments")),
    ("GET", "dispatch", "export/appointment-assignments", export("appointment-assignments")),
    *reads("crm", "customers"),
    ("POST", "crm", "customers", full_record("customers", writes_crm.create_customer)),
    ("GET", "crm", "export/customers", export("customers")),
    *reads("crm", "locations"),
    ("POST", "crm", "locations", full_record("locations", writes_crm.create_location)),
    ("GET", "crm", "export/locations", export("locations")),
    *reads("marketing", "campaigns"),
    ("POST", "marketing", "campaigns", plain(writes_crm.create_campaign)),
    *reads("settings", "business-units"),
    ("GET", "settings", "export/business-units", export("business-units")),
    *reads("settings", "technicians"),
    ("GET", "settings", "export/technicians", export("technicians")),
)


def route_key(method: str, resource: str) -> str:
    return f"{method} {resource.replace(ID, '{id}')}"
