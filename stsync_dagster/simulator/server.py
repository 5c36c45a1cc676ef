"""Simulator: the data, the app and a uvicorn server in a background thread on 127.0.0.1."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Mapping
from datetime import datetime

import uvicorn

from stsync_dagster.servicetitan.settings import DEFAULT_RATE_LIMIT

from .additions import add_records, change_record, remove_records
from .app import build_app
from .auth import TokenIssuer
from .clock import SimClock
from .constants import (
    ALL_KINDS,
    APP_KEY,
    DEFAULT_EXTERNAL_DATA_GUID,
    ENVS,
    INT_NEW_ID_START,
    INT_TENANT_ID,
    PROD_NEW_ID_START,
    PROD_TENANT_ID,
    default_until,
)
from .corrupt import corrupt
from .data import Refresh, generate
from .writes_status import CANCEL_REASONS, HOLD_REASONS
from .faults import FaultDice, Faults
from .ratelimit import RateLimiter
from .state import SimState
from .stats import Stats
from .store import Tenant

HOST = "127.0.0.1"


class Simulator:
    def __init__(
        self,
        seed: int = 7,
        scale: float = 1.0,
        counts: Mapping[str, int] | None = None,
        token_lifetime: float = 900,
        rate_limit: int | None = 60,
        faults: Faults | None = None,
        *,
        until: datetime | None = None,
        export_batch_size: int = 500,
        invalid_fraction: float = 0.0,
        invalid_seed: int | None = None,
        refresh: Refresh | None = None,
        handmade_materials: int = 0,
        clients: Mapping[str, tuple[str, str]] | None = None,
        bulk: Mapping[str, object] | None = None,
        strict: Mapping[str, bool] | None = None,
    ) -> None:
        """`refresh`: Integration starts as a copy of Production (see data.Refresh), not with master data only;
        `handmade_materials`: that many Integration materials made by hand with Production codes; `strict`:
        undocumented rules switched off (strict.py: all on by default);
        `until`: the end of the data's four months (default: the end of yesterday, UTC)."""
        until = until or default_until()
        data = generate(seed, scale, counts, until, refresh=refresh, handmade_materials=handmade_materials)
        # Before the tenants copy the records: Production only, Integration is never corrupted.
        corruptions = corrupt(data["prod"], invalid_fraction, seed if invalid_seed is None else invalid_seed)
        clock = SimClock(until)
        self.seed, self.scale, self.until = seed, scale, until
        self.state = SimState(
            tenants={
                "prod": Tenant("prod", PROD_TENANT_ID, data["prod"], PROD_NEW_ID_START, clock),
                "int": Tenant("int", INT_TENANT_ID, data["int"], INT_NEW_ID_START, clock),
            },
            tokens=TokenIssuer(token_lifetime, clients),  # clients: env -> (id, secret), to override
            limiter=RateLimiter(rate_limit),
            dice=FaultDice(faults),
            stats={env: Stats() for env in ENVS},
            export_batch_size=export_batch_size,
            corruptions=corruptions,
        )
        for tenant in self.state.tenants.values():  # the same names in both tenants, each with its own ids
            for kind, names in (("job-cancel-reasons", CANCEL_REASONS), ("job-hold-reasons", HOLD_REASONS)):
                for name in names:
                    tenant.insert(kind, {"id": tenant.new_id(), "name": name, "active": True})
        self.state.bulk.update(**(bulk or {}))
        shared = self.state.tenants["int"].strict
        self.state.tenants["prod"].strict = shared
        shared.update(**(strict or {}))
        self.state.tokens.set_lifetime(token_lifetime)
        self.state.limiter.set_limit(rate_limit)
        self.app = build_app(self.state)
        self.port: int | None = None
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ----------------------------------------------------------------------------
    def start(self, port: int = 0, timeout: float = 15.0) -> Simulator:
        if self._thread is not None:
            raise RuntimeError("simulator already started")
        # IPPROTO_TCP explicitly: asyncio only sets TCP_NODELAY on sockets whose proto says TCP (with proto 0,
        # Nagle's algorithm meets delayed ACKs and every answer takes 40 ms).
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((HOST, port))
        config = uvicorn.Config(
            self.app,
            log_level="warning",
            access_log=False,
            lifespan="off",
            loop="asyncio",
            proxy_headers=False,
            server_header=False,
            timeout_graceful_shutdown=2,
        )
        server = uvicorn.Server(config)
        thread = threading.Thread(
            target=server.run, kwargs={"sockets": [sock]}, daemon=True, name=f"stsync-simulator:{sock.getsockname()[1]}"
        )
        thread.start()
        deadline = time.monotonic() + timeout
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                server.should_exit = True
                thread.join(5)
                sock.close()
                raise RuntimeError("simulator failed to start")
            time.sleep(0.005)
        self.port, self._server, self._thread, self._socket = sock.getsockname()[1], server, thread, sock
        return self

    def stop(self, timeout: float = 10.0) -> None:
        if self._thread is None:
            return
        self._server.should_exit = True
        self._thread.join(timeout)
        if self._thread.is_alive():  # in-flight slow answers past the grace period
            self._server.force_exit = True
            self._thread.join(timeout)
        self._socket.close()
        self._server = self._thread = None

    def __enter__(self) -> Simulator:
        if self._thread is None:
            self.start()
        return self

    def __exit__(self, *_exc) -> None:
        self.stop()

    @property
    def url(self) -> str:
        if self.port is None:
            raise RuntimeError("simulator not started")
        return f"http://{HOST}:{self.port}"

    # -- environment --------------------------------------------------------------------------
    def env(self) -> dict[str, str]:
        """The complete ST_* block pointing at this simulator (STSYNC_DB is not included)."""
        url = self.url
        limit = self.state.limiter.per_second
        clients = self.state.tokens.clients
        return {
            "ST_AUTH_URL_PROD": f"{url}/prod/connect/token",
            "ST_AUTH_URL_INT": f"{url}/int/connect/token",
            "ST_API_BASE_PROD": f"{url}/prod",
            "ST_API_BASE_INT": f"{url}/int",
            "ST_CLIENT_ID_PROD": clients["prod"][0],
            "ST_CLIENT_SECRET_PROD": clients["prod"][1],
            "ST_CLIENT_ID_INT": clients["int"][0],
            "ST_CLIENT_SECRET_INT": clients["int"][1],
            "ST_APP_KEY_PROD": APP_KEY,
            "ST_APP_KEY_INT": APP_KEY,
            "ST_TENANT_ID_PROD": str(PROD_TENANT_ID),
            "ST_TENANT_ID_INT": str(INT_TENANT_ID),
            "ST_PAGE_SIZE": "100",
            "ST_HTTP_TIMEOUT": "10",
            # pace the client as far under the server's limit as the client's default is under the API's 60/s
            "ST_RATE_LIMIT": f"{limit * DEFAULT_RATE_LIMIT / 60:g}" if limit else f"{DEFAULT_RATE_LIMIT:g}",
            "ST_MAX_RETRIES": "6",
            "ST_EXTERNAL_DATA_GUID": DEFAULT_EXTERNAL_DATA_GUID,
            # The simulator commits a create within its request (unless late commits are set: then raise this),
            # so a lost answer is looked up again after 2 s rather than ServiceTitan's 120.
            "ST_SERVER_TIMEOUT": "2",
        }

    # -- run-time knobs -----------------------------------------------------------------------
    @property
    def faults(self) -> Faults:
        return self.state.dice.faults

    def set_faults(self, **fields) -> Faults:
        return self.state.dice.update(**fields)

    def set_token_lifetime(self, seconds: float) -> None:
        self.state.tokens.set_lifetime(seconds)

    def set_rate_limit(self, per_second: int | None) -> None:
        self.state.limiter.set_limit(per_second)

    def set_strict(self, **rules: bool) -> None:
        """Switch the undocumented rules (strict.py) on or off at run time, e.g. window_order=False."""
        self.state.tenants["int"].strict.update(**rules)

    def set_bulk(self, **fields) -> None:
        """The bulk pricebook endpoints: enabled (False: 404), limit (items per request), all_or_nothing."""
        self.state.bulk.update(**fields)

    def set_export_recent_hold(self, seconds: float) -> None:
        """Exports hold back the changes of the last `seconds` unless asked `includeRecentChanges=true`, as the API
        does ("gets fresh changes sooner"); 0, the default, holds nothing back."""
        if seconds < 0:
            raise ValueError("the recent-changes hold must not be negative")
        self.state.export_recent_hold = float(seconds)

    def set_export_batch_size(self, size: int) -> None:
        if size < 1:
            raise ValueError("export batch size must be at least 1")
        self.state.export_batch_size = size

    # -- inspection ---------------------------------------------------------------------------
    def records(self, env: str, kind: str) -> list[dict]:
        self._check(env, kind)
        return self.state.tenants[env].snapshot(kind)

    @staticmethod
    def _check(env: str, kind: str) -> None:
        if env not in ENVS:
            raise ValueError(f"env must be one of {ENVS}, got {env!r}")
        if kind not in ALL_KINDS:
            raise ValueError(f"unknown kind {kind!r}; kinds: {ALL_KINDS}")

    @property
    def corruptions(self) -> dict[tuple[str, int], str]:
        """{(kind, production id): the field made invalid} for invalid_fraction > 0 (see corrupt.py)."""
        return dict(self.state.corruptions)

    def add_records(self, env: str, kind: str, records: list[dict]) -> list[dict]:
        """Insert whole records into a tenant's store, bypassing the API's checks (a test hook; additions.py)."""
        self._check(env, kind)
        return add_records(self.state.tenants[env], kind, records)

    def change(self, env: str, kind: str, record_id: int, **fields) -> dict:
        """Edit a record as a user of that tenant would (a test hook, additions.change_record)."""
        self._check(env, kind)
        return change_record(self.state.tenants[env], kind, record_id, fields)

    def remove_records(self, env: str, kind: str, ids) -> int:
        """Delete records from a tenant's store (a test hook: what a refresh or a tester's cleanup does)."""
        self._check(env, kind)
        return remove_records(self.state.tenants[env], kind, ids)

    def advance_clock(self, seconds: float) -> None:
        """Let time pass at once for both tenants (a tester's edit an hour after a run, without waiting for it)."""
        self.state.tenants["prod"].clock.advance(seconds)  # one clock for both tenants

    def stats(self, env: str) -> dict:
        if env not in ENVS:
            raise ValueError(f"env must be one of {ENVS}, got {env!r}")
        return self.state.stats[env].snapshot()

    def reset_stats(self) -> None:
        for stats in self.state.stats.values():
            stats.reset()
