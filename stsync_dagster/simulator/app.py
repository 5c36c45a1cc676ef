"""The ASGI application: token endpoints, the API behind auth / tenant / rate-limit / fault checks, the
control plane, and the outermost middleware that can drop a connection after a committed POST."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import logging
import time
from urllib.parse import parse_qs

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from .constants import ENVS
from .control import control_routes
from .faults import HTML_ERROR_BODY, REASONS, REFUSALS, InjectedError
from .problems import ApiError, problem_body, problem_response, validation
from .routes import API, Handler, route_key
from .state import SimState

log = logging.getLogger(__name__)


def build_app(state: SimState):
    routes = list(control_routes(state))
    for env in ENVS:
        routes.append(Route(f"/{env}/connect/token", _token_endpoint(state, env), methods=["POST"]))
        for method, domain, resource, handler in API:
            path = f"/{env}/{domain}/v2/tenant/{{tenant:int}}/{resource}"
            routes.append(
                Route(path, _api_endpoint(state, env, method, route_key(method, resource), handler), methods=[method])
            )
        routes.append(
            Route(
                f"/{env}/{{rest:path}}",
                _unknown_endpoint(state, env),
                methods=["GET", "POST", "PATCH", "PUT", "DELETE"],
            )
        )
    return DropConnectionMiddleware(Starlette(routes=routes), state)


def _token_endpoint(state: SimState, env: str):
    async def endpoint(request: Request) -> Response:
        stats = state.stats[env]
        stats.add("token_requests")
        raw = (await request.body()).decode("utf-8", "replace")
        form = {k: v[0] for k, v in parse_qs(raw).items()}
        client_id, client_secret = form.get("client_id"), form.get("client_secret")
        basic = request.headers.get("authorization", "")
        if basic.lower().startswith("basic ") and not client_id:
            with contextlib.suppress(ValueError):
                client_id, _, client_secret = base64.b64decode(basic[6:]).decode().partition(":")
        if form.get("grant_type") != "client_credentials":
            return JSONResponse({"error": "unsupported_grant_type"}, status_code=400)
        answer = state.tokens.issue(env, client_id, client_secret)
        if answer is None:
            refusal = {"error": "invalid_client"}
            if state.dice.faults.echo_credentials:
                refusal = {
                    "error": f"invalid_client: no client matches {raw} {basic}".strip(),
                    "error_description": f"received {json.dumps(form)} with Authorization {basic!r}",
                }
            return JSONResponse(refusal, status_code=400)
        stats.add("tokens_issued")
        return JSONResponse(answer, headers={"Cache-Control": "no-store"})

    return endpoint


def _injected_response(error: InjectedError) -> Response:
    if error.html:
        body = HTML_ERROR_BODY.format(status=error.status, reason=REASONS[error.status])
        return HTMLResponse(body, status_code=error.status)
    return JSONResponse(problem_body(error.status, REASONS[error.status]), status_code=error.status)


def _api_endpoint(state: SimState, env: str, method: str, key: str, handler: Handler):
    tenant, stats, dice = state.tenants[env], state.stats[env], state.dice

    async def process(request: Request, arrived: float) -> Response:
        state.tokens.check(env, request.headers)
        if request.path_params["tenant"] != tenant.tenant_id:
            # 404 (not 403): to this app, another tenant id simply does not exist here.
            raise ApiError(
                404,
                f"Tenant {request.path_params['tenant']} was not found.",
                {"tenant": [f"Tenant {request.path_params['tenant']} not found"]},
            )
        wait = state.limiter.acquire((request.headers.get("st-app-key"), tenant.tenant_id), arrived)
        if wait is not None:
            stats.add("rate_limited")
            raise ApiError(
                429, f"Rate limit is exceeded. Try again in {wait} seconds.", headers={"Retry-After": str(wait)}
            )
        refused = dice.refusal(key)
        if refused is not None:
            return JSONResponse(problem_body(refused, REFUSALS[refused]), status_code=refused)
        injected = dice.injected_error()
        if injected is not None:  # before anything is processed: nothing committed
            stats.add("injected_errors")
            return _injected_response(injected)
        body = None
        if method in ("POST", "PATCH", "PUT"):
            raw = await request.body()
            try:
                body = json.loads(raw) if raw.strip() else None
            except ValueError:
                raise validation({"$": ["The request body is not valid JSON."]}) from None
        if method == "POST":
            late = dice.late_commit_delay()
            if late:  # the client may give up meanwhile; the create commits all the same
                stats.add("late_commits")
                await asyncio.sleep(late)

        def handle() -> Response:
            with tenant.lock:
                return handler(tenant, request, body, state)

        # Off the event loop: a long request (a page of 5,000, a bulk create) must not hold back the arrival
        # of the others, which would bunch them up at the rate limiter as no real API does.
        return await run_in_threadpool(handle)

    async def endpoint(request: Request) -> Response:
        stats.request(key)
        stats.enter()
        arrived = time.monotonic()  # the rate limit counts the request from here, not after the added latency
        try:
            latency = dice.latency()
            if latency:
                await asyncio.sleep(latency)
            try:
                response = await process(request, arrived)
            except ApiError as error:
                response = problem_response(error)
            except Exception:  # a simulator bug: answer like the API would, and say so in the log
                log.exception("simulator error on %s %s", request.method, request.url.path)
                response = JSONResponse(problem_body(500, "An unexpected error occurred."), status_code=500)
        finally:
            stats.leave()
        stats.status(response.status_code)
        slow = dice.slow_delay()
        if slow:  # the answer (already committed) is held back, e.g. past the client's timeout
            await asyncio.sleep(slow)
        return response

    return endpoint


def _unknown_endpoint(state: SimState, env: str):
    async def endpoint(request: Request) -> Response:
        state.stats[env].request(f"{request.method} unknown")
        state.stats[env].status(404)
        return problem_response(ApiError(404, f"No API resource at {request.url.path}."))

    return endpoint


def _is_api_post(scope) -> bool:
    path = scope.get("path", "")
    return (
        scope["type"] == "http"
        and scope.get("method") in ("POST", "PATCH", "PUT")
        and path.startswith(("/prod/", "/int/"))
        and not path.endswith("/connect/token")
    )


class DropConnectionMiddleware:
    """Outermost ASGI layer. For a drop_post_rate fraction of writes (POST, PATCH, PUT), lets the app commit, then closes the TCP
    connection instead of sending the (successful) answer: the client sees a connection error, never a status.
    Needs uvicorn, whose `send` is a method of the connection's RequestResponseCycle (it holds the transport)."""

    def __init__(self, app, state: SimState) -> None:
        self.app, self.state = app, state

    async def __call__(self, scope, receive, send) -> None:
        if not _is_api_post(scope) or not self.state.dice.drop_post():
            await self.app(scope, receive, send)
            return
        cycle = getattr(send, "__self__", None)
        transport = getattr(cycle, "transport", None)
        if transport is None:
            raise RuntimeError("drop_post_rate needs uvicorn (no transport reachable from send)")
        env = scope["path"].split("/")[1]
        dropped = False

        async def send_or_drop(message) -> None:
            nonlocal dropped
            if message["type"] == "http.response.start" and 200 <= message["status"] < 300:
                dropped = True
                self.state.stats[env].add("dropped_posts")
                transport.close()
                return
            if not dropped:
                await send(message)

        await self.app(scope, receive, send_or_drop)
        for _ in range(50):  # let uvicorn notice the closed connection before it checks for an answer
            if not dropped or getattr(cycle, "disconnected", True):
                break
            await asyncio.sleep(0.001)
