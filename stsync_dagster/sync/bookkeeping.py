"""What a run tells about its records: the report's outcomes, the issues kept for later runs (the backlog) and
the history rows of its writes."""

from __future__ import annotations

import logging
import threading

from stsync_dagster.sync.crosswalk import Write
from stsync_dagster.sync.crosswalk.issues import NEXT_RUN, Retry
from stsync_dagster.sync.crosswalk.schema import ISSUE_STATUSES
from stsync_dagster.sync.outcome import Outcome, SyncReport

log = logging.getLogger("stsync.sync")


def retry_of(outcome: Outcome, field_name: str, waits_on: tuple[str, int] | None) -> Retry:
    """When a record left behind is worth trying again. Deferred, or failed on the way (a request that could not
    be made or answered: `(request)`): the next run. Blocked on a reference: once that reference has a counterpart,
    else after a backoff. Refused as it is (the API's 4xx, invalid in Production): after a backoff, or sooner when
    Production changes it (it is in that day's window) or the config changes."""
    if outcome is Outcome.DEFERRED or (outcome is Outcome.FAILED and field_name == "(request)"):
        return NEXT_RUN
    return Retry(backoff=True, waits_on=f"{waits_on[0]}:{waits_on[1]}" if waits_on else None)


class Bookkeeping:
    def __init__(self, crosswalk, run_id: str, dry_run: bool, config_print: str | None = None):
        self.crosswalk = crosswalk
        self.run_id = run_id
        self.dry_run = dry_run
        self.config_print = config_print  # the config issues are judged with (another one tries them again)
        self.asset: str | None = None  # the asset being synced: the history says which step wrote what
        self._unsaved: dict[str, dict[int, tuple[str, str, str]]] = {}
        self._retry: dict[str, dict[int, Retry]] = {}
        self._lock = threading.RLock()

    def issue(
        self,
        report: SyncReport,
        outcome: Outcome,
        prod_id,
        field_name: str,
        reason: str,
        *,
        kind: str | None = None,
        record_issue: bool = True,
        count: bool = True,
        waits_on: tuple[str, int] | None = None,
        unfinished: bool = False,
    ) -> None:
        """`unfinished`: deferred with nobody else on it (a lost answer, a claim still young): a later run must
        finish it, and the command's exit code says so."""
        kind = kind or report.kind
        if count:
            report.add(outcome, prod_id, field=field_name, reason=reason, kind=kind, unfinished=unfinished)
        log.info("%s %s %s: %s: %s", kind, prod_id, outcome.value, field_name, reason)
        # Kept for later runs (the backlog): what was not copied. A conflict is looked at again whenever it changes.
        if record_issue and outcome.value in ISSUE_STATUSES and not self.dry_run and isinstance(prod_id, int):
            with self._lock:
                self._unsaved.setdefault(kind, {})[prod_id] = (outcome.value, reason, field_name)
                self._retry.setdefault(kind, {})[prod_id] = retry_of(outcome, field_name, waits_on)

    def save(self) -> None:
        """Issues are written a batch at a time (one transaction, not one per record), always before any clear:
        the crosswalk ends up as if each had been written at once."""
        with self._lock:
            (unsaved, self._unsaved), (retry, self._retry) = (self._unsaved, {}), (self._retry, {})
            for kind, issues in unsaved.items():
                self.crosswalk.set_issues(
                    kind, issues, self.run_id, retry=retry.get(kind), config_print=self.config_print
                )

    def clear(self, kind: str, prod_ids: list[int]) -> None:
        with self._lock:
            self.save()
            self.crosswalk.clear_issues(kind, prod_ids)

    def wrote(
        self, prod_id: int, int_id: int | None, action: str, fields=(), detail: str = "", before: dict | None = None
    ) -> Write:
        """`before`: the Integration values the write replaced (apply/before.py), for `stsync undo`."""
        return Write(self.run_id, self.asset, prod_id, int_id, action, tuple(fields), detail, before=before)

    def status_writes(self, steps_sent: dict[int, list[str]], int_ids: dict[int, int]) -> list[Write]:
        """The status changes sent for these records (a history row each), taken from the context's tally."""
        sent = {p: steps_sent.pop(p) for p in int_ids if p in steps_sent}
        return [self.wrote(p, int_ids[p], "status_changed", detail=", ".join(steps)) for p, steps in sent.items()]
