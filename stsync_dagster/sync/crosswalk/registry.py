"""The processes that sync: registered, beating a heartbeat on the database's clock, finished."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.engine import Connection

from stsync_dagster.sync.crosswalk.database import Database
from stsync_dagster.sync.crosswalk.schema import sync_run


def _key(run_id: str, host: str, pid: int):
    return (sync_run.c.run_id == run_id) & (sync_run.c.host == host) & (sync_run.c.pid == pid)


class Registry(Database):
    def register_process(self, run_id: str, host: str, pid: int) -> None:
        def work(conn: Connection) -> None:
            now = self._now(conn)
            conn.execute(delete(sync_run).where(_key(run_id, host, pid)))
            conn.execute(
                sync_run.insert().values(
                    run_id=run_id, host=host, pid=pid, started_at=now, heartbeat_at=now, finished_at=None
                )
            )

        self._run(work, write=True)

    def mark_process(self, run_id: str, host: str, pid: int, *, finished: bool = False) -> None:
        """A heartbeat, or the end of the process's work."""

        def work(conn: Connection) -> None:
            now = self._now(conn)
            values = {"finished_at": now} if finished else {"heartbeat_at": now}
            conn.execute(update(sync_run).where(_key(run_id, host, pid)).values(**values))

        self._run(work, write=True)

    def beating(self, run_id: str, dead_after: timedelta) -> list[tuple[str, int]] | None:
        """(host, pid) of the run's processes that beat within `dead_after` (the database's clock) and have not
        finished; None when the run never registered."""

        def work(conn: Connection) -> list[tuple[str, int]] | None:
            cutoff = self._now(conn) - dead_after
            rows = conn.execute(
                select(sync_run.c.host, sync_run.c.pid, sync_run.c.heartbeat_at, sync_run.c.finished_at).where(
                    sync_run.c.run_id == run_id
                )
            ).all()
            if not rows:
                return None
            return [(host, pid) for host, pid, beat, finished in rows if finished is None and beat >= cutoff]

        return self._run(work, write=False)
