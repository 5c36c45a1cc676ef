"""Records left blocked or failed, with the reason, kept until a later run copies them."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

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


class Issues(Database):
    def set_issues(self, kind: str, issues: Mapping[int, tuple[str, str, str | None]], run_id: str | None) -> None:
        """Upsert (status, reason, detail) per Production id; `first_seen` is kept, `last_seen` moves on."""
        if not issues:
            return
        for status, _reason, _detail in issues.values():
            if status not in ISSUE_STATUSES:
                raise ValueError(f"issue status {status!r} is not one of {ISSUE_STATUSES}")

        def work(conn: Connection) -> None:
            now = self._now(conn)
            rows = keyed_rows(
                kind,
                (
                    (prod_id, {"status": status, "reason": reason, "detail": detail})
                    for prod_id, (status, reason, detail) in sorted(issues.items())
                ),
                first_seen=now,
                last_seen=now,
                run_id=run_id,
            )
            statement = self._upsert(sync_issue, ("status", "reason", "detail", "last_seen", "run_id"))
            conn.execute(statement, rows)

        self._run(work, write=True)

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
