"""A list answered while the tenant moves or misbehaves: the `live_edits` and `page_fault` knobs (faults.py).

Production is live: people edit records while a client pages through a window, so a record of a page already
read leaves a window of past days (its modifiedOn moves to now) and every record after it moves up a place. And
the API has bad days: a page that repeats the one before, an API that ignores `page`, `data: null`, an element
of `data` that is no record, ids listed twice.
"""

from __future__ import annotations

from collections.abc import Mapping

from starlette.datastructures import QueryParams

from .additions import change_record
from .query import int_param, list_records
from .state import SimState
from .store import Tenant


def _page(params: QueryParams, page: int) -> QueryParams:
    return QueryParams([(k, v) for k, v in params.multi_items() if k != "page"] + [("page", str(page))])


def list_answer(tenant: Tenant, kind: str, params: QueryParams, state: SimState) -> dict:
    faults = state.dice.faults
    where = f"{tenant.env}/{kind}"
    page = int_param(params, "page", 1)
    if faults.live_edits and where in faults.live_edit_lists and page >= 2:
        _edit_page_before(tenant, kind, params, page, state)
    answer = list_records(tenant, kind, params)
    if not faults.page_fault or where not in faults.page_fault_lists:
        return answer
    fault, data = faults.page_fault, answer["data"]
    if fault == "ignore_page":
        answer = {**list_records(tenant, kind, _page(params, 1)), "hasMore": True}
    elif fault == "repeat_page" and page >= 2:
        answer["data"] = list_records(tenant, kind, _page(params, page - 1))["data"]
    elif fault == "data_null":
        answer["data"] = None
    elif fault == "non_object" and page == 1 and data:
        data[0] = "unavailable"
    elif fault == "duplicate_ids" and page >= 2 and data:
        data[0] = list_records(tenant, kind, _page(params, page - 1))["data"][-1]
    return answer


def _edit_page_before(tenant: Tenant, kind: str, params: Mapping, page: int, state: SimState) -> None:
    """Edit `live_edits` records of the page before this one, as it stands now (each record once)."""
    faults = state.dice.faults
    edited = state.live_edited.setdefault(f"{tenant.env}/{kind}", set())
    budget = faults.live_edits
    if faults.live_edit_limit:
        budget = min(budget, faults.live_edit_limit - sum(len(ids) for ids in state.live_edited.values()))
    for record in list_records(tenant, kind, _page(params, page - 1))["data"]:
        if budget <= 0:
            return
        if record["id"] not in edited:
            change_record(tenant, kind, record["id"], {})
            edited.add(record["id"])
            budget -= 1
