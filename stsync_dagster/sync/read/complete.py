"""The pages of a window, complete or an error (promise 8: sees the whole window).

Production is live: a record edited while a past day is read leaves that day's window, and every record after
it moves up a place, so the one that slides onto a page already read is never seen by a walk of page numbers.
No page number survives that, and the export feeds cannot stop at a window's end. So a window is read, and
then proved complete. Only a record that leaves the window while it is read can make another one slip past:
one that enters it (created, or edited into a window that ends later than now) only pushes records down a
place, to be seen twice. A walk is complete when no page counted fewer records (`totalCount`) than the page
before it, and the walk saw at least as many distinct records as its first page counted: nothing left, and
every record that was there when it started was seen. Otherwise the window is walked again, and only the
records not seen yet are handed on, until a walk is complete or `passes` walks were not (then a PagingError
names the endpoint and how many records may be missing: never a green run with records missing). An API that
gives no `totalCount` needs two walks that saw the same ids. A clean window costs its pages once.

A record that leaves and another that enters between the same two pages would cancel out in the count: in a
window of past days nothing enters (an edit moves `modifiedOn` to now), and in one that ends later than now
an edit does not leave, so only a deletion beside a creation, both between two pages, could hide.
"""

from __future__ import annotations

import logging
from typing import Any, Iterator, Mapping

from stsync_dagster.servicetitan.errors import PagingError
from stsync_dagster.servicetitan.reading import Page, record_key

log = logging.getLogger("stsync.sync.read")

PASSES = 4  # walks of one window before it is declared unreadable: each one after the first needs new edits


def complete_pages(reader, path: str, params: Mapping[str, Any], *, passes: int = PASSES) -> Iterator[Page]:
    """Pages of new records (each record once, whatever the walk that met it), then either the end of a
    window proved complete, or a PagingError. `total_count` of each page is the window's size as known so far:
    the records handed on, plus what the current walk still expects."""
    params = {**params, "includeTotal": "true"}
    handed: set[str] = set()  # ids of the records handed on
    handed_without_id = 0
    previous: set[str] | None = None  # ids the walk before saw
    for walk in range(1, passes + 1):
        ids: set[str] = set()
        totals: list[int | None] = []
        without_id = 0  # elements that are not records with an id (they fail alone, once: on the first walk)
        for page in reader.iter_pages(path, params):
            fresh = []
            for record in page.records:
                key = record_key(record)
                if key is None:
                    without_id += 1
                    if walk == 1:
                        fresh.append(record)
                        handed_without_id += 1
                    continue
                ids.add(key)
                if key not in handed:
                    handed.add(key)
                    fresh.append(record)
            totals.append(page.total_count)
            expected = (
                None
                if page.total_count is None
                else (len(handed) + handed_without_id + max(0, page.total_count - len(ids) - without_id))
            )
            yield Page(records=fresh, page=page.page, has_more=page.has_more, total_count=expected)
        if _complete(totals, len(ids) + without_id):
            return
        if set(totals) == {None} and previous == ids:
            return
        previous = ids
        if walk < passes:
            log.info(
                "GET %s: the window changed while it was read (walk %d saw %d distinct records, its pages "
                "counted %s): reading it again for the records that moved",
                reader.url(path),
                walk,
                len(ids),
                ", ".join(str(t) for t in totals),
            )
    counted = next((t for t in totals if t is not None), None)
    missing = (
        f"up to {max(0, counted - len(ids) - without_id)} of its {counted} records"
        if counted is not None
        else "records"
    )
    raise PagingError(
        f"GET {reader.url(path)}: the window kept changing while it was read ({passes} walks, none complete): "
        f"{missing} may not have been read; what was read was copied, run it again"
    )


def _complete(totals: list[int | None], seen: int) -> bool:
    """No page counted fewer records than the one before it, and the walk saw as many as the first counted."""
    if not totals or None in totals:
        return False
    return all(later >= earlier for earlier, later in zip(totals, totals[1:])) and seen >= totals[0]
