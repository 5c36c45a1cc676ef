"""The simulator in process: its own app, state and handlers, reached without a socket or uvicorn.

`InProcessSimulator` is a `Simulator` (same data, knobs and test hooks) whose `start()` runs its ASGI app on an
event loop in one background thread instead of serving it on a loopback port. `sim.clients()` gives the real
ProductionClient and IntegrationClient over `AppTransport`, an httpx transport that hands each request to the
app: tokens, pacing, retries, error mapping and the Production guard are the real code, only the bytes do
not cross a socket. What the network does is kept where the tests rely on it:

- a client timeout: the answer not there after the request's read timeout is `httpx.ReadTimeout`, while the
  app goes on (a slow answer, a late commit: the write lands all the same);
- a dropped connection: the simulator's DropConnectionMiddleware closes "the transport" after a committed
  write; the client sees `httpx.RemoteProtocolError`, as over uvicorn.

test_inprocess_contract.py holds it to the loopback simulator: the same scenarios, the same answers.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from urllib.parse import unquote

import httpx

from stsync_dagster.servicetitan import IntegrationClient, ProductionClient
from stsync_dagster.settings import load_settings
from stsync_dagster.simulator import Simulator

IN_PROCESS_URL = "http://simulator.in-process"


class _Connection:
    """What DropConnectionMiddleware reaches through `send.__self__`: uvicorn's cycle and its transport."""

    def __init__(self) -> None:
        self.status: int | None = None
        self.headers: list[tuple[bytes, bytes]] = []
        self.body = bytearray()
        self.closed = False
        self.transport = self  # the middleware calls transport.close()

    @property
    def disconnected(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True

    async def send(self, message) -> None:
        if self.closed:
            return
        if message["type"] == "http.response.start":
            self.status = message["status"]
            self.headers = list(message.get("headers", []))
        elif message["type"] == "http.response.body":
            self.body += message.get("body", b"")


class AppTransport(httpx.BaseTransport):
    """Sends each request to an ASGI app running on `loop` (another thread); safe to share between threads."""

    def __init__(self, app, loop: asyncio.AbstractEventLoop) -> None:
        self.app, self.loop = app, loop

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        body = request.read()
        future = asyncio.run_coroutine_threadsafe(self._call(request, body), self.loop)
        timeout = (request.extensions.get("timeout") or {}).get("read")
        try:
            connection = future.result(timeout=timeout)
        except concurrent.futures.TimeoutError:
            # As a socket would: the client gives up, the server does not (the future is left to finish).
            raise httpx.ReadTimeout("timed out", request=request) from None
        if connection.closed or connection.status is None:
            raise httpx.RemoteProtocolError("Server disconnected without sending a response.", request=request)
        return httpx.Response(
            connection.status, headers=connection.headers, content=bytes(connection.body), request=request
        )

    async def _call(self, request: httpx.Request, body: bytes) -> _Connection:
        url = request.url
        scope = {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.3"},
            "http_version": "1.1",
            "method": request.method,
            "scheme": url.scheme,
            "path": unquote(url.raw_path.split(b"?", 1)[0].decode("ascii")),
            "raw_path": url.raw_path.split(b"?", 1)[0],
            "query_string": url.query,
            "root_path": "",
            "headers": [(k.lower(), v) for k, v in request.headers.raw],
            "client": ("127.0.0.1", 50000),
            "server": (url.host, url.port or 80),
            "state": {},
        }
        sent = False

        async def receive():
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            await asyncio.Event().wait()  # no disconnect to report: the app is cancelled with the loop

        connection = _Connection()
        try:
            await self.app(scope, receive, connection.send)
        except Exception:  # uvicorn answers 500 for an app that raised
            if connection.status is None and not connection.closed:
                connection.status, connection.headers = 500, [(b"content-type", b"text/plain")]
                connection.body = bytearray(b"Internal Server Error")
        return connection


class InProcessSimulator(Simulator):
    """A Simulator served in process: `start()` runs its app on a private event loop; no port is opened."""

    _loop: asyncio.AbstractEventLoop | None = None

    def start(self, port: int = 0, timeout: float = 15.0) -> InProcessSimulator:
        if self._loop is not None:
            raise RuntimeError("simulator already started")
        loop = asyncio.new_event_loop()
        ready = threading.Event()

        def run() -> None:
            asyncio.set_event_loop(loop)
            loop.call_soon(ready.set)
            loop.run_forever()

        self._loop_thread = threading.Thread(target=run, daemon=True, name="stsync-simulator:in-process")
        self._loop_thread.start()
        if not ready.wait(timeout):
            raise RuntimeError("simulator failed to start")
        self._loop = loop
        self.port = 0
        return self

    def stop(self, timeout: float = 10.0) -> None:
        loop, self._loop = self._loop, None
        if loop is None:
            return

        async def cancel_all() -> None:
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        asyncio.run_coroutine_threadsafe(cancel_all(), loop).result(timeout)
        loop.call_soon_threadsafe(loop.stop)
        self._loop_thread.join(timeout)
        loop.close()

    @property
    def url(self) -> str:
        if self._loop is None:
            raise RuntimeError("simulator not started")
        return IN_PROCESS_URL

    def transport(self) -> AppTransport:
        if self._loop is None:
            raise RuntimeError("simulator not started")
        return AppTransport(self.app, self._loop)

    def clients(self, **tuning) -> tuple[ProductionClient, IntegrationClient]:
        """The real clients over this simulator in process; `tuning`: page_size, timeout, max_retries…"""
        settings = load_settings(self.env(), dotenv_path=None)
        options = {
            "page_size": settings.page_size,
            "timeout": settings.http_timeout,
            "rate_limit": 1_000_000.0,
            "max_retries": settings.max_retries,
            "retry_backoff": 0.01,
            **tuning,
        }
        prod = ProductionClient(settings.prod, **options, http_transport=self.transport())
        intc = IntegrationClient(settings.int, production=settings.prod, **options, http_transport=self.transport())
        return prod, intc

    def __enter__(self) -> InProcessSimulator:
        if self._loop is None:
            self.start()
        return self
