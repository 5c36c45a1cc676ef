"""What every stage of a run is handed: the clients, the crosswalk, the handlers and the run's options, with the
run-wide state the stages share (the create budget, the records seen, the request pool, the bookkeeping)."""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Callable

from stsync_dagster.settings import DEFAULT_BATCH_SIZE
from stsync_dagster.sync.bookkeeping import Bookkeeping
from stsync_dagster.sync.configfile import SyncConfig
from stsync_dagster.sync.entities import HANDLERS
from stsync_dagster.sync.policy import Policies
from stsync_dagster.sync.requests_pool import Background, RequestPool


@dataclass
class SyncOptions:
    run_id: str
    partition: str | None = None
    dry_run: bool = False
    limit: int = 0  # most records created in the run (pulled-in ones included); 0 = no limit
    concurrency: int = 8  # creates in flight at once; the per-tenant pacer keeps them under the rate limit
    batch_size: int = DEFAULT_BATCH_SIZE  # records claimed, created and confirmed together
    # ServiceTitan may still commit a create this long after the client gave up on it (its own timeout is ~100 s):
    # a claim younger than this is never looked up and created again.
    server_timeout: timedelta = timedelta(seconds=120)
    create: bool = True  # False: adopt what Integration holds, create nothing (`stsync reconcile`)
    bulk_size: int = 100  # records per bulk create, for kinds that have one (materials); 0: one request each
    sample_size: int = 5
    retry_all: bool = False  # try again every record left behind, due or not (`stsync sync --retry-all`)


class Budget:
    """How many creates the run may still make (shared by an asset and what it pulls in)."""

    def __init__(self, limit: int):
        self._left = limit if limit > 0 else None
        self._lock = threading.Lock()

    def take(self, wanted: int) -> int:
        with self._lock:
            if self._left is None:
                return wanted
            granted = min(wanted, self._left)
            self._left -= granted
            return granted


def config_print(config: SyncConfig) -> str:
    """What identifies the config a record was judged with: a record left behind by another is tried again. (The
    diff's threshold judges no record.)"""
    return hashlib.sha256(config.model_dump_json(exclude={"diff"}).encode()).hexdigest()[:16]


class Run:
    """One engine's collaborators and shared state; built once, handed to each stage."""

    def __init__(
        self,
        prod,
        intc,
        crosswalk,
        config: SyncConfig,
        options: SyncOptions,
        guid: str,
        claim_is_live: Callable[[str | None], bool | None] | None = None,
        overlay: dict[str, dict[int, int]] | None = None,
    ):
        self.prod = prod
        self.intc = intc
        self.crosswalk = crosswalk
        self.config = config
        self.options = options
        self.handlers = {name: cls(config, guid) for name, cls in HANDLERS.items()}
        self.policies = Policies(config, {name: h.reference_fields for name, h in self.handlers.items()}, intc)
        self.budget = Budget(options.limit)
        self.is_live = claim_is_live or (lambda run_id: None)
        self.overlay = overlay or {}  # mappings known in memory only (a dry run's master data and adoptions)
        self.planned: dict[str, set[int]] = {name: set() for name in HANDLERS}  # a dry run's creates
        self.seen: dict[str, set[int]] = {}  # records processed (the backlog, the sweep and the window overlap)
        self.bulk_ok = True  # False once the API said it has no bulk endpoint
        # Kinds whose endpoint is refused (a scope the app was not granted): kind → the refusal, one line.
        self.unavailable: dict[str, str] = {}
        self.pool = RequestPool(options.concurrency, "stsync-create")  # every create, patch and status change
        # What waits on those requests (the pipeline's stages, pulls, index reads, read-ahead), beside the caller.
        self.background = Background(max(8, 2 * options.concurrency), "stsync-beside")
        self.books = Bookkeeping(crosswalk, options.run_id, options.dry_run, config_print(config))
        # Reads of many queries (ids 50 at a time, a job's visits) go through the same pool as every write, in the
        # lane of what a batch being planned waits for.
        for client in (prod, intc):
            client.read_through(lambda fn, items: self.pool.map(fn, items, lane=RequestPool.PLANNING))

    def stale_before(self) -> datetime:
        """Claims older than this may be taken: ServiceTitan can no longer be committing their writes."""
        return self.crosswalk.now() - self.options.server_timeout

    def close(self) -> None:
        for client in (self.prod, self.intc):
            client.read_through(None)
        self.background.shutdown()
        self.pool.shutdown()

    def seen_of(self, kind: str) -> set[int]:
        return self.seen.setdefault(kind, set())
