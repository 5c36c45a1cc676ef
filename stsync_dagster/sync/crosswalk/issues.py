"""Records left blocked, failed or deferred, with the reason, kept until a later run copies them; and when each is
due again: the next run (a passing failure), once the reference it waits on has a counterpart, once the config
changes, or after a backoff of 1, 2, 4… days (capped at 30) for a record the API refused as it is."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.engine import Connection

from stsync_dagster.sync.crosswalk.database import (
    Database,
    aware,
    chunks,
    distinct_ids,
    keyed_rows,
)
from stsync_dagster.sync.crosswalk.schema import (
    ISSUE_STATUSES,
    sync_issue,
)


@dataclass(frozen=True)
class Issue:
    kind: str
    prod_id: int
    status: str
    reason: str
    detail: str | None
    first_seen: datetime
    last_seen: datetime
    run_id: str | None
    attempts: int = 1
    retry_after: datetime | None = None
    waits_on: str | None = None
    config_print: str | None = None


@dataclass(frozen=True)
class Retry:
    """When an issue is due again: `backoff` (after 1, 2, 4… days by its attempts; else the next run), and the
    reference whose counterpart would heal it sooner ("kind:prod_id")."""

    backoff: bool = False
    waits_on: str | None = None


NEXT_RUN = Retry()
MAX_BACKOFF_DAYS = 30


def backoff(attempts: int) -> timedelta:
    return timedelta(days=min(2 ** max(attempts - 1, 0), MAX_BACKOFF_DAYS))


class Issues(Database):
    def set_issues(
        self,
        kind: str,
        issues: Mapping[int, tuple[str, str, str | None]],
        run_id: str | None,
        *,
        retry: Mapping[int, Retry] | None = None,
        config_print: str | None = None,
    ) -> None:
        """Upsert (status, reason, detail) per Production id; `first_seen` is kept, `last_seen` moves on, `attempts`
        counts the runs that left it behind; `retry` (default: the next run) says when it is due again."""
        if not issues:
            return
        for status, _reason, _detail in issues.values():
            if status not in ISSUE_STATUSES:
                raise ValueError(f"issue status {status!r} is not one of {ISSUE_STATUSES}")
        retry = retry or {}

        def work(conn: Connection) -> None:
            now = self._now(conn)
            before = {
                row.prod_id: row.attempts
                for chunk in chunks(sorted(issues))
                for row in conn.execute(
                    select(sync_issue.c.prod_id, sync_issue.c.attempts).where(
                        sync_issue.c.kind == kind, sync_issue.c.prod_id.in_(chunk)
                    )
                )
            }

            def own(prod_id: int, status: str, reason: str, detail: str | None) -> dict:
                attempts = before.get(prod_id, 0) + 1
                when = retry.get(prod_id, NEXT_RUN)
                after = now + backoff(attempts) if when.backoff else None
                return {"status": status, "reason": reason, "detail": detail, "attempts": attempts,
                        "retry_after": after, "waits_on": when.waits_on}  # fmt: skip

            rows = keyed_rows(
                kind,
                ((prod_id, own(prod_id, *issue)) for prod_id, issue in sorted(issues.items())),
                first_seen=now,
                last_seen=now,
                run_id=run_id,
                config_print=config_print,
            )
            updated = ("status", "reason", "detail", "last_seen", "run_id", "attempts", "retry_after", "waits_on",
                       "config_print")  # fmt: skip
            conn.execute(self._upsert(sync_issue, updated), rows)

        self._run(work, write=True)

    def due_issues(self, kind: str, config_print: str | None = None, issues: list[Issue] | None = None) -> list[Issue]:
        """The kind's issues (or these, already read) a run should try again now: due by their time (or the next
        run), judged with another config, or waiting on a reference that now has a counterpart in the crosswalk."""
        now = self.now()
        issues = self.issues(kind=kind) if issues is None else issues
        waiting: dict[str, set[int]] = {}
        for issue in issues:
            if issue.waits_on:
                ref_kind, _, ref_id = issue.waits_on.rpartition(":")
                waiting.setdefault(ref_kind, set()).add(int(ref_id))
        healed = {
            f"{ref_kind}:{prod_id}"
            for ref_kind, ids in waiting.items()
            for prod_id in self.int_ids(ref_kind, sorted(ids))  # a counterpart now (mappings)
        }
        return [
            issue
            for issue in issues
            if issue.retry_after is None
            or issue.retry_after <= now
            or issue.config_print != config_print
            or issue.waits_on in healed
        ]

    def has_issues(self, kind: str) -> bool:
        """Whether any record of the kind has an issue recorded."""
        query = select(sync_issue.c.prod_id).where(sync_issue.c.kind == kind).limit(1)
        return self._run(lambda conn: conn.execute(query).first() is not None, write=False)

    def clear_issues(self, kind: str, prod_ids: Iterable[int]) -> int:
        """Forget the issues of these records (they were copied, or skipped); return how many there were."""
        ids = distinct_ids(prod_ids)
        if not ids:
            return 0

        def work(conn: Connection) -> int:
            cleared = 0
            for chunk in chunks(ids):
                statement = delete(sync_issue).where(sync_issue.c.kind == kind, sync_issue.c.prod_id.in_(chunk))
                cleared += conn.execute(statement).rowcount
            return cleared

        return self._run(work, write=True)

    def issues(
        self,
        kind: str | None = None,
        status: str | None = None,
        *,
        prod_ids: Iterable[int] | None = None,
        first_seen_before: datetime | None = None,
    ) -> list[Issue]:
        """Recorded issues, by kind then Production id, optionally filtered."""
        conditions = []
        if kind is not None:
            conditions.append(sync_issue.c.kind == kind)
        if status is not None:
            conditions.append(sync_issue.c.status == status)
        if first_seen_before is not None:
            aware(first_seen_before, "first_seen_before")
            conditions.append(sync_issue.c.first_seen < first_seen_before)
        ids = None if prod_ids is None else distinct_ids(prod_ids)
        if ids is not None and not ids:
            return []

        def work(conn: Connection) -> list[Issue]:
            query = select(sync_issue).where(*conditions).order_by(sync_issue.c.kind, sync_issue.c.prod_id)
            queries = [query] if ids is None else [query.where(sync_issue.c.prod_id.in_(c)) for c in chunks(ids)]
            return [Issue(**row._mapping) for q in queries for row in conn.execute(q)]

        found = self._run(work, write=False)
        return found if ids is None else sorted(found, key=lambda issue: (issue.kind, issue.prod_id))
