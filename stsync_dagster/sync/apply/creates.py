"""Sending creates: one request a record, or the pricebook's bulk endpoint; either way concurrently, through
the run's request pool. Each plan gets a typed answer (batch.Answer)."""

from __future__ import annotations

import logging
from concurrent.futures import wait
from datetime import datetime, timezone
from typing import Callable

from stsync_dagster.servicetitan import errors as st
from stsync_dagster.sync.batch import Answer, Created, Plan, Refused, Unanswered, tell
from stsync_dagster.sync.entities import EntityHandler
from stsync_dagster.sync.refusal import api_reason
from stsync_dagster.sync.run import Run

log = logging.getLogger("stsync.sync")


def _told(plan: Plan, answer: Answer) -> Answer:
    tell(plan.created, answer.int_id if isinstance(answer, Created) else None)
    return answer


class Creator:
    def __init__(self, run: Run):
        self.run = run

    def create_all(self, handler: EntityHandler, plans: list[Plan], lane: int) -> list[Answer]:
        """Create the plans and wait for the answers (see send_all)."""
        return self.send_all(handler, plans, lane)()

    def send_all(self, handler: EntityHandler, plans: list[Plan], lane: int) -> Callable[[], list[Answer]]:
        """Send the plans' creates, in bulk where the kind has a bulk endpoint (one request per batch), else one by
        one; either way concurrently. Returns what waits for the answers, in the plans' order. An API without the
        bulk endpoint is said once, then skipped."""
        run = self.run
        if handler.bulk_create and run.options.bulk_size > 0 and run.bulk_ok:
            size = run.options.bulk_size
            sent = [
                run.pool.submit(self._create_batch, handler, plans[i : i + size], lane=lane)
                for i in range(0, len(plans), size)
            ]

            def bulk_answers() -> list[Answer]:
                try:
                    done: dict[int, Answer] = {}
                    for batch in sent:
                        done.update(batch.result())
                    return [done[plan.prod_id] for plan in plans]
                except st.BulkUnsupported as exc:
                    wait(sent)
                    run.bulk_ok = False
                    log.warning("%s: no bulk create here (%s); creating one record per request", handler.kind, exc)
                    return self.send_all(handler, plans, lane)()

            return bulk_answers
        singles = [run.pool.submit(self.create, handler, plan, lane=lane) for plan in plans]
        return lambda: [answer.result() for answer in singles]

    def create(self, handler: EntityHandler, plan: Plan) -> Answer:
        return _told(plan, self._create_once(handler, plan))

    def _create_once(self, handler: EntityHandler, plan: Plan) -> Answer:
        sent_at = datetime.now(timezone.utc)
        try:
            return Created(handler.created_id(self.run.intc.create(handler.cfg.int_create_path, plan.body)))
        except st.AmbiguousWriteError as exc:
            log.warning(
                "%s %s: the answer to the create was lost (%s); looked up once ServiceTitan is done with it",
                handler.kind, plan.prod_id, exc,
            )  # fmt: skip
            return Unanswered(sent_at)
        except (st.ValidationError, st.ConflictError, st.NotFoundError) as exc:
            return Refused(*api_reason(exc))
        except st.ServiceTitanError as exc:
            return Refused("(request)", str(exc))

    def _create_batch(self, handler: EntityHandler, batch: list[Plan]) -> dict[int, Answer]:
        """One bulk request; a refused batch is split until the invalid records stand alone, each failed with
        its field, and the rest created. A lost answer: every record of the batch is looked up by its stamp."""
        answers = self._create_bulk(handler, batch)
        for plan in batch:
            _told(plan, answers[plan.prod_id])
        return answers

    def _create_bulk(self, handler: EntityHandler, batch: list[Plan]) -> dict[int, Answer]:
        sent_at = datetime.now(timezone.utc)
        try:
            answer = self.run.intc.bulk_create_materials([{**p.body, "customId": str(p.prod_id)} for p in batch])
        except st.BulkUnsupported:
            raise
        except st.AmbiguousWriteError as exc:
            log.warning(
                "%s: the answer to a bulk create of %d was lost (%s); looked up once ServiceTitan is done",
                handler.kind, len(batch), exc,
            )  # fmt: skip
            return {p.prod_id: Unanswered(sent_at) for p in batch}
        except (st.ValidationError, st.ConflictError) as exc:
            if len(batch) > 1:
                half = len(batch) // 2
                return {**self._create_bulk(handler, batch[:half]), **self._create_bulk(handler, batch[half:])}
            # The fields as a single create names them: items[3].name → name.
            return {batch[0].prod_id: Refused(*api_reason(exc, lambda name: name.split("].", 1)[-1]))}
        except st.ServiceTitanError as exc:
            return {p.prod_id: Refused("(request)", str(exc)) for p in batch}
        ids = {int(item["customId"]): int(item["id"]) for item in answer if str(item.get("customId", "")).isdigit()}
        # Not in the answer: not created, or its id not said; the stamp tells which after the server timeout.
        return {p.prod_id: Created(ids[p.prod_id]) if p.prod_id in ids else Unanswered(sent_at) for p in batch}
