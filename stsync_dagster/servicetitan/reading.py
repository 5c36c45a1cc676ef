"""Reading: list pages, export batches, records by ids, one record. Shared by both clients."""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Iterator, Mapping

import httpx

from .errors import PagingError, ServiceTitanError
from .settings import DEFAULT_HTTP_TIMEOUT, DEFAULT_MAX_RETRIES, DEFAULT_PAGE_SIZE, DEFAULT_RATE_LIMIT
from .settings import MAX_PAGE_SIZE, ClientSettings, EnvironmentSettings
from .request_stats import RequestStats
from .transport import DEFAULT_BACKOFF, Transport

log = logging.getLogger("stsync.servicetitan.reading")

IDS_PER_REQUEST = 50
READS_IN_FLIGHT = 8  # a client's reads in flight at once, all its callers together


@dataclass(frozen=True)
class Page:
    records: list[dict]
    page: int
    has_more: bool
    total_count: int | None = None


@dataclass(frozen=True)
class ExportBatch:
    records: list[dict]
    continue_from: str | None  # persist it: the next run starts from here
    has_more: bool


def _object(body: Any, what: str) -> Mapping[str, Any]:
    if not isinstance(body, Mapping):
        raise ServiceTitanError(f"{what}: expected a JSON object, got {type(body).__name__}")
    return body


def _records(body: Mapping[str, Any], what: str) -> list:
    """The answer's `data`: a list, else an error (never an empty page: the records would be missed silently).
    Its elements are handed on as they are; one that is not an object fails alone, where it is used."""
    data = body.get("data")
    if not isinstance(data, list):
        shown = "missing" if "data" not in body else "null" if data is None else f"a {type(data).__name__}"
        raise PagingError(f"{what}: the answer's 'data' is {shown}, not a list: its records cannot be read")
    return data


def record_key(record: Any) -> str | None:
    """A listed record's id as text (for telling records apart across pages), or None when it has none."""
    if isinstance(record, Mapping) and record.get("id") is not None:
        return str(record["id"])
    return None


class Reader:
    """GET-only access to one environment. Paths are templates with {tenant}."""

    read_only = True  # its transport refuses anything but GET (only IntegrationClient says otherwise)

    def __init__(
        self,
        env: EnvironmentSettings,
        *,
        page_size: int = DEFAULT_PAGE_SIZE,
        timeout: float = DEFAULT_HTTP_TIMEOUT,
        rate_limit: float = DEFAULT_RATE_LIMIT,
        max_retries: int = DEFAULT_MAX_RETRIES,
        retry_backoff: float = DEFAULT_BACKOFF,
        pacer_database: str | None = None,
        http_transport: httpx.BaseTransport | None = None,
    ) -> None:
        if not 1 <= int(page_size) <= MAX_PAGE_SIZE:
            raise ValueError(f"page_size must be between 1 and {MAX_PAGE_SIZE}")
        self.env = env
        self.page_size = int(page_size)
        self._transport = Transport(
            env,
            timeout=timeout,
            rate_limit=rate_limit,
            max_retries=max_retries,
            retry_backoff=retry_backoff,
            read_only=self.read_only,
            pacer_database=pacer_database,
            http_transport=http_transport,
        )
        # Reads by many queries (ids 50 at a time, one query per job…) share these threads, whoever asks: the
        # pacer spaces the requests, the threads only let one wait out its latency while the next is sent.
        self._reads = ThreadPoolExecutor(max_workers=READS_IN_FLIGHT, thread_name_prefix="stsync-read")
        self._map: Callable[[Callable, list], Iterable] | None = None  # see read_through

    @staticmethod
    def settings_options(settings: ClientSettings) -> dict[str, Any]:
        """The options both clients take from the settings (all but the environment)."""
        return {
            "page_size": settings.page_size,
            "timeout": settings.http_timeout,
            "rate_limit": settings.rate_limit,
            "max_retries": settings.max_retries,
            "pacer_database": settings.db,
        }

    def __repr__(self) -> str:
        return f"{type(self).__name__}(api_base={self.env.api_base!r}, tenant={self.env.tenant_id})"

    @property
    def stats(self) -> RequestStats:
        return self._transport.stats

    @property
    def tenant_id(self) -> int:
        return self.env.tenant_id

    def read_through(self, map_reads: Callable[[Callable, list], Iterable] | None) -> None:
        """Send the reads of many queries through the caller's executor (`map_reads(fn, items)`, results in order),
        so that one executor carries every request a sync makes; None: the reader's own threads again."""
        self._map = map_reads

    def close(self) -> None:
        self._reads.shutdown(wait=True, cancel_futures=True)
        self._transport.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def url(self, path: str) -> str:
        """The full URL of a path template (no query, no secret): what errors name."""
        return self._transport.resolve(path)

    def iter_pages(
        self, path: str, params: Mapping[str, Any] | None = None, *, page_size: int | None = None, start_page: int = 1
    ) -> Iterator[Page]:
        """Yield pages as they arrive, from `start_page` until hasMore is false.

        Filters go in `params` (e.g. {"active": "Any", "modifiedOnOrAfter": "..."}); note the API hides
        inactive records unless active=Any. A walk always ends: a page that repeats the one before (an API that
        ignores `page`), `hasMore` with an empty page or past the last page `totalCount` allows, and `data`
        missing are PagingErrors naming the endpoint. Records that move while the pages are read are the
        caller's concern (sync/read/window.py).
        """
        size = int(page_size or self.page_size)
        page = start_page
        previous: list[str | None] | None = None
        while True:
            query = {**(params or {}), "page": page, "pageSize": size}
            what = f"GET {self.url(path)} page {page}"
            body = _object(self._transport.request("GET", path, params=query), what)
            records = _records(body, what)
            has_more = bool(body.get("hasMore"))
            total = body.get("totalCount")
            total = total if isinstance(total, int) and not isinstance(total, bool) else None
            keys = [record_key(record) for record in records]
            if records and keys == previous:
                raise PagingError(
                    f"{what}: the same {len(records)} records as page {page - 1}: the API is not "
                    "paging, so the rest of the list cannot be read"
                )
            if has_more and not records:
                raise PagingError(f"{what}: hasMore with an empty page: the rest of the list cannot be read")
            if has_more and total is not None and page * size >= total:
                raise PagingError(f"{what}: hasMore, but totalCount {total} allows no page after this one")
            yield Page(records=records, page=page, has_more=has_more, total_count=total)
            if not has_more:
                return
            previous = keys
            page += 1

    def iter_export(
        self,
        path: str,
        from_: str | None = None,
        continue_from: str | None = None,
        params: Mapping[str, Any] | None = None,
    ) -> Iterator[ExportBatch]:
        """Walk an export feed from `continue_from` (a previous token) or `from_` (a date) until caught up."""
        if continue_from is None and from_ is None:
            raise ValueError("iter_export needs from_ (a date) or continue_from (a token)")
        cursor = continue_from if continue_from is not None else from_
        while True:
            what = f"GET {self._transport.resolve(path)} from {cursor}"
            query = {**(params or {}), "from": cursor}
            body = _object(self._transport.request("GET", path, params=query), what)
            records = _records(body, what)
            has_more = bool(body.get("hasMore"))
            token = body.get("continueFrom")
            token = str(token) if token is not None else None
            yield ExportBatch(records=records, continue_from=token, has_more=has_more)
            if not has_more:
                return
            if token is None or token == cursor:
                raise ServiceTitanError(f"{what}: hasMore without a new continueFrom; the export is stuck")
            cursor = token

    def get_by_ids(
        self, path: str, ids: Iterable[int | str], params: Mapping[str, Any] | None = None, id_param: str = "ids"
    ) -> list[dict]:
        """Records whose ids are in `ids`, asked for 50 ids per request (duplicates asked once), a few requests
        at a time (see list_each)."""
        unique = list(dict.fromkeys(str(i) for i in ids))
        chunks = [unique[start : start + IDS_PER_REQUEST] for start in range(0, len(unique), IDS_PER_REQUEST)]
        lists = self.list_each(path, [{**(params or {}), id_param: ",".join(chunk)} for chunk in chunks])
        return [record for records in lists for record in records]

    def list_each(self, path: str, queries: list[Mapping[str, Any]]) -> list[list[dict]]:
        """Every record of each query (all its pages), in the order of the queries, a few queries at a time: the
        pacer keeps them under the rate limit, and one request waits out its latency while the next is sent."""

        def read(query: Mapping[str, Any]) -> list[dict]:
            records = [record for page in self.iter_pages(path, query) for record in page.records]
            kept = [record for record in records if isinstance(record, Mapping)]
            if len(kept) < len(records):  # the record it stands for is missing, and its caller says so
                log.warning(
                    "GET %s: %d elements of 'data' are not records; left out", self.url(path), len(records) - len(kept)
                )
            return kept

        if len(queries) <= 1:
            return [read(query) for query in queries]
        return list((self._map or self._reads.map)(read, queries))

    def get(self, path: str, id: int | str) -> dict:
        """One record by id (NotFoundError when absent)."""
        body = self._transport.request("GET", f"{path.rstrip('/')}/{id}")
        if not isinstance(body, dict):
            raise ServiceTitanError(f"GET {self._transport.resolve(path)}/{id}: expected a JSON object")
        return body
