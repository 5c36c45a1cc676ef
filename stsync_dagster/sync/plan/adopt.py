"""Adoption: the proof before any create. A record Integration already holds (by STSync's mark, the same id or
its natural key) is mapped to that copy instead of created; its history unknown, it is compared with Production
afterwards (apply/updates.py)."""

from __future__ import annotations

import logging

from stsync_dagster.servicetitan import errors as st
from stsync_dagster.sync.adoption import Ambiguous, Match
from stsync_dagster.sync.batch import Context
from stsync_dagster.sync.crosswalk import Entry
from stsync_dagster.sync.entities import EntityHandler
from stsync_dagster.sync.outcome import Outcome
from stsync_dagster.sync.plan.index import IndexCache
from stsync_dagster.sync.references import RefMap
from stsync_dagster.sync.run import Run

log = logging.getLogger("stsync.sync")


class Adopter:
    def __init__(self, run: Run, indexes: IndexCache):
        self.run = run
        self.indexes = indexes

    def adopt(self, ctx: Context, todo: list, refs: RefMap, mapped: dict, lane: int) -> list:
        """Map the records Integration already holds to their counterpart instead of creating them; return the
        rest: a record is created only when the index has no match. The adopted ones join `mapped`."""
        run, handler, report = self.run, ctx.handler, ctx.report
        if not todo:
            return []
        keys = {record.id: handler.prod_key(record, refs) for record in todo}
        try:
            index = self.indexes.for_records(handler, todo, keys, lane)
        except st.ServiceTitanError as exc:  # cannot tell what Integration holds: create nothing
            for record in todo:
                why = f"reading what Integration already holds: {exc}"
                run.books.issue(report, Outcome.FAILED, record.id, "(request)", why)
            return []
        candidates = {i for r in todo for i in (*index.by_mark.get(r.id, ()), *index.by_key.get(keys[r.id], ()))}
        owners = run.crosswalk.find_by_int_id(ctx.kind, candidates) if candidates else {}
        # Deleted by `stsync undo`: gone for good, never adopted again (an API may still list a deleted record).
        deleted = run.crosswalk.deleted_int_ids(ctx.kind, candidates) if candidates else set()
        adopted: dict[int, Match] = {}
        rest = []
        for record in todo:
            taken = {i for i, owner in owners.items() if owner != record.id} | deleted
            found = index.match(record.id, keys[record.id], taken, handler.prod_evidence(record))
            if isinstance(found, Match):
                adopted[record.id] = found
            elif isinstance(found, Ambiguous):
                fields = ", ".join(handler.cfg.natural_key)
                run.books.issue(
                    report, Outcome.BLOCKED, record.id, "(natural key)",
                    f"{len(found.int_ids)} Integration records {list(found.int_ids)} have its natural key ({fields}) "
                    f"'{found.key}': not guessed, nothing created; remove the extra ones in Integration",
                )  # fmt: skip
            else:
                rest.append(record)
        if adopted:
            self._record(ctx, adopted, lane)
            source = (run.options.run_id, None, "adopted")
            mapped.update(
                {r.id: (r, Entry(r.id, adopted[r.id].int_id, "confirmed", *source)) for r in todo if r.id in adopted}
            )
        return rest

    def _record(self, ctx: Context, adopted: dict[int, Match], lane: int) -> None:
        run, handler, report, kind = self.run, ctx.handler, ctx.report, ctx.kind
        rules: dict[str, int] = {}
        for prod_id, found in adopted.items():
            rules[found.rule] = rules.get(found.rule, 0) + 1
            report.add(Outcome.ADOPTED, prod_id)
        log.warning(
            "%s: %d records already in Integration adopted, not created (%s): the crosswalk did not know them (it "
            "was lost, moved, restored from an old copy or is new, or Integration was refreshed or edited by hand)",
            kind, len(adopted), ", ".join(f"{n} by {rule}" for rule, n in sorted(rules.items())),
        )  # fmt: skip
        if run.options.dry_run:
            run.overlay.setdefault(kind, {}).update({p: m.int_id for p, m in adopted.items()})
            return
        for rule in rules:
            pairs = {p: m.int_id for p, m in adopted.items() if m.rule == rule}
            writes = [run.books.wrote(p, i, "adopted", detail=f"by {rule}") for p, i in pairs.items()]
            run.crosswalk.record(kind, pairs, source="adopted", run_id=run.options.run_id, rule=rule, history=writes)
        run.books.clear(kind, list(adopted))
        # Marked, an adopted record is found again by its stamp when this crosswalk is lost in turn.
        unstamped = [(p, m.int_id) for p, m in adopted.items() if m.rule != "stamp" and handler.adoption_stamp(p)]
        stamped = []
        for (prod_id, int_id), error in zip(
            unstamped, run.pool.map(lambda pair: self._stamp(handler, *pair), unstamped, lane=lane)
        ):
            if error:
                log.warning("%s %s: adopted as %s, but stamping it failed (%s)", kind, prod_id, int_id, error)
            else:
                stamped.append(run.books.wrote(prod_id, int_id, "stamped", ("externalData",), "STSync's mark added"))
        run.crosswalk.note(kind, stamped)

    def _stamp(self, handler: EntityHandler, prod_id: int, int_id: int) -> str | None:
        try:
            self.run.intc.patch(handler.cfg.int_create_path, int_id, handler.adoption_stamp(prod_id))
        except st.ServiceTitanError as exc:
            return str(exc)
        return None
