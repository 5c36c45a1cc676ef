"""/_sim: the control plane for a simulator run as a subprocess (no auth, not counted in stats)."""

from __future__ import annotations

import dataclasses
import json

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from .additions import add_records, change_record, remove_records
from .clock import iso
from .constants import ALL_KINDS, ENVS
from .state import SimState


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


async def _json(request: Request):
    raw = await request.body()
    return json.loads(raw) if raw.strip() else {}


def control_routes(state: SimState) -> list[Route]:
    async def stats(request: Request):
        env = request.path_params["env"]
        if env not in ENVS:
            return _error(404, f"unknown env {env!r}")
        return JSONResponse(state.stats[env].snapshot())

    async def reset_stats(_request: Request):
        for env_stats in state.stats.values():
            env_stats.reset()
        return JSONResponse({"ok": True})

    async def faults(request: Request):
        if request.method == "POST":
            try:
                state.dice.update(**await _json(request))
            except (ValueError, TypeError) as error:
                return _error(400, str(error))
        return JSONResponse(dataclasses.asdict(state.dice.faults))

    async def config(request: Request):
        try:
            body = await _json(request)
            if "token_lifetime" in body:
                state.tokens.set_lifetime(float(body["token_lifetime"]))
            if "rate_limit" in body:
                state.limiter.set_limit(body["rate_limit"])
            if "export_batch_size" in body:
                state.export_batch_size = max(1, int(body["export_batch_size"]))
            if "bulk" in body:  # {"enabled": bool, "limit": n, "all_or_nothing": bool}
                state.bulk.update(**body["bulk"])
        except (ValueError, TypeError) as error:
            return _error(400, str(error))
        return JSONResponse(
            {
                "token_lifetime": state.tokens.lifetime,
                "rate_limit": state.limiter.per_second,
                "export_batch_size": state.export_batch_size,
                "bulk": dataclasses.asdict(state.bulk),
            }
        )

    async def records(request: Request):
        env, kind = request.path_params["env"], request.path_params["kind"]
        if env not in ENVS or kind not in ALL_KINDS:
            return _error(404, f"unknown env or kind: {env!r} {kind!r}")
        if request.method == "POST":  # body: a list of whole records, as Simulator.add_records takes
            try:
                return JSONResponse(add_records(state.tenants[env], kind, await _json(request)))
            except (ValueError, TypeError) as error:
                return _error(400, str(error))
        return JSONResponse(state.tenants[env].snapshot(kind))

    async def change(request: Request):  # body: [{"id": n, field: value, ...}], as Simulator.change takes
        env, kind = request.path_params["env"], request.path_params["kind"]
        if env not in ENVS or kind not in ALL_KINDS:
            return _error(404, f"unknown env or kind: {env!r} {kind!r}")
        try:
            edits = await _json(request)
            return JSONResponse(
                [
                    change_record(state.tenants[env], kind, int(e["id"]), {k: v for k, v in e.items() if k != "id"})
                    for e in edits
                ]
            )
        except (KeyError, ValueError, TypeError) as error:
            return _error(400, str(error))

    async def remove(request: Request):  # body: [id, ...], as Simulator.remove_records takes
        env, kind = request.path_params["env"], request.path_params["kind"]
        if env not in ENVS or kind not in ALL_KINDS:
            return _error(404, f"unknown env or kind: {env!r} {kind!r}")
        try:
            return JSONResponse({"removed": remove_records(state.tenants[env], kind, await _json(request))})
        except (ValueError, TypeError) as error:
            return _error(400, str(error))

    async def clock(request: Request):  # body: {"advance": seconds}, as Simulator.advance_clock takes
        try:
            state.tenants["prod"].clock.advance(float((await _json(request))["advance"]))
        except (KeyError, ValueError, TypeError) as error:
            return _error(400, str(error))
        return JSONResponse({"now": iso(state.tenants["prod"].clock.peek())})

    async def corruptions(_request: Request):
        return JSONResponse(
            [
                {"kind": kind, "id": record_id, "field": fld}
                for (kind, record_id), fld in sorted(state.corruptions.items())
            ]
        )

    return [
        Route("/_sim/stats/{env}", stats, methods=["GET"]),
        Route("/_sim/reset-stats", reset_stats, methods=["POST"]),
        Route("/_sim/faults", faults, methods=["GET", "POST"]),
        Route("/_sim/config", config, methods=["GET", "POST"]),
        Route("/_sim/records/{env}/{kind}", records, methods=["GET", "POST"]),
        Route("/_sim/corruptions", corruptions, methods=["GET"]),
        Route("/_sim/change/{env}/{kind}", change, methods=["POST"]),
        Route("/_sim/remove/{env}/{kind}", remove, methods=["POST"]),
        Route("/_sim/clock", clock, methods=["POST"]),
    ]
