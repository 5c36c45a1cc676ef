"""Which records of what was read a run goes on with: those that pass every filter, then the sample.

Of the records that pass the filters, those STSync copied before are always kept (they are followed, and they
count toward their combination); the sample chooses among the others, by a hash of the id, never by page order or
a clock: a share keeps the ids whose hash falls below it; a count fills each combination of the `per` fields
present up to `count` copies with the ids of the smallest hashes. So a run over the same window keeps the same
records and a second one creates nothing; a combination gets a new record only when it has fewer copies than the
count (a new record, or a copy that moved to another combination). A count needs the whole window before it
knows: the window is read first, holding only what is kept so far, and what is kept goes on as one page."""

from __future__ import annotations

import hashlib
import heapq
from dataclasses import dataclass, field
from typing import Callable, Iterable, Iterator

from stsync_dagster.servicetitan.reading import Page
from stsync_dagster.sync.select.resolve import Resolved

SPACE = 2**64


def rank(prod_id: int) -> int:
    """The id's place in every sample: a hash, the same on every machine and run."""
    return int.from_bytes(hashlib.blake2b(str(int(prod_id)).encode(), digest_size=8).digest(), "big")


@dataclass
class SelectionReport:
    """What a selection kept of the records read, shown by the plan, the dry run and the materialization."""

    filters: list[str] = field(default_factory=list)  # key=value, as given
    api_params: dict[str, str] = field(default_factory=dict)  # sent to the API
    only_api: list[str] = field(default_factory=list)  # applied by the API alone
    sample: str = ""  # as given: "2 per jobTypeId, jobStatus", "a share of 0.1"
    read: int = 0  # records read (the window, or the ids asked for)
    passed: int = 0  # of them, those that passed every filter
    kept: int = 0
    # combination (label) → [kept, present in the window], for a sample per fields
    combinations: dict[str, list[int]] = field(default_factory=dict)

    def summary(self) -> str:
        parts = [", ".join(self.filters)] if self.filters else []
        if self.sample:
            parts.append(f"sample {self.sample}")
        passed = f", {self.passed} passed the filters" if self.filters and self.sample else ""
        by_api = f" ({', '.join(self.only_api)}: applied by the API alone)" if self.only_api else ""
        return f"selection {'; '.join(parts)}: kept {self.kept} of {self.read} read{passed}{by_api}"


def _described(resolved: Resolved) -> str:
    sample = resolved.sample
    if sample is None:
        return ""
    if sample.share is not None:
        return f"a share of {sample.share:g}"
    per = ", ".join(sample.per)
    return f"{sample.count} per {per}" if per else f"{sample.count} of the window"


class Selector:
    def __init__(self, resolved: Resolved, copied: Callable[[list[int]], set[int]] = lambda ids: set()):
        self.resolved = resolved
        self.copied = copied  # of these Production ids, those the crosswalk maps (copied, or being copied)
        self.report = SelectionReport(
            list(resolved.shown), dict(resolved.api_params), list(resolved.only_api), _described(resolved)
        )
        self._heaps: dict[tuple, list[tuple[int, int, dict]]] = {}  # per combination, the smallest hashes not copied
        self._copies: dict[tuple, list[dict]] = {}  # per combination, the records copied before
        self._present: dict[tuple, int] = {}
        self._without_id: list[dict] = []  # not records: they go on, to fail as invalid

    def pages(self, pages: Iterable[Page]) -> Iterator[Page]:
        """The pages with what the selection keeps (a sample by count: one page, once the window is read)."""
        sample = self.resolved.sample
        if sample is not None and sample.count is not None:
            for page in pages:
                self._offer(self._passing(page.records))
            kept = self._heaped()
            yield Page(records=kept, page=1, has_more=False, total_count=len(kept))
            return
        for page in pages:
            kept = self._shared(self._passing(page.records))
            self.report.kept += len(kept)
            yield Page(records=kept, page=page.page, has_more=page.has_more, total_count=None)

    def records(self, raws: list[dict]) -> list[dict]:
        """Records read by id (`copy`): the same rules, over these records only."""
        return [record for page in self.pages([Page(records=raws, page=1, has_more=False)]) for record in page.records]

    def referenced(self) -> dict[str, set[int]]:
        """The master-data ids in the combinations present, by kind: their names say the combinations."""
        ids: dict[str, set[int]] = {}
        for combination in self._present:
            for spec, value in zip(self.resolved.per, combination):
                if spec.master and isinstance(value, int):
                    ids.setdefault(spec.master, set()).add(value)
        return ids

    def _passing(self, records: list[dict]) -> list[dict]:
        self.report.read += len(records)
        passed = [r for r in records if not isinstance(r.get("id"), int) or self.resolved.passes(r)]
        self.report.passed += len(passed)
        return passed

    def _shared(self, records: list[dict]) -> list[dict]:
        sample = self.resolved.sample
        if sample is None or sample.share is None:
            return records
        bound = sample.share * SPACE
        copied = self._copied_of(records)
        return [r for r in records if not isinstance(r.get("id"), int) or r["id"] in copied or rank(r["id"]) < bound]

    def _copied_of(self, records: list[dict]) -> set[int]:
        ids = [r["id"] for r in records if isinstance(r.get("id"), int)]
        return self.copied(ids) if ids else set()

    def _offer(self, records: list[dict]) -> None:
        count = self.resolved.sample.count
        copied = self._copied_of(records)
        for record in records:
            prod_id = record.get("id")
            if not isinstance(prod_id, int):
                self._without_id.append(record)
                continue
            combination = tuple(record.get(spec.field) for spec in self.resolved.per)
            self._present[combination] = self._present.get(combination, 0) + 1
            if prod_id in copied:
                self._copies.setdefault(combination, []).append(record)
                continue
            heap = self._heaps.setdefault(combination, [])
            entry = (-rank(prod_id), prod_id, record)
            if len(heap) < count:
                heapq.heappush(heap, entry)
            elif entry[0] > heap[0][0]:  # a smaller hash than the largest kept
                heapq.heapreplace(heap, entry)

    def _heaped(self) -> list[dict]:
        kept = list(self._without_id)
        count = self.resolved.sample.count
        for combination in self._present:
            copies = self._copies.get(combination, [])
            fill = sorted(self._heaps.get(combination, []), reverse=True)[: max(0, count - len(copies))]
            chosen = copies + [record for _, _, record in fill]
            kept.extend(chosen)
            self.report.combinations[repr(combination)] = [len(chosen), self._present[combination]]
        self.report.kept = len(kept)
        return sorted(kept, key=lambda r: (not isinstance(r.get("id"), int), r.get("id") or 0))

    def name_combinations(self, names: dict[str, dict[int, str]]) -> None:
        """Say each combination by its fields, a reference with its name (`names`: master kind → id → name)."""
        named: dict[str, list[int]] = {}
        for combination in self._present:
            parts = []
            for spec, value in zip(self.resolved.per, combination):
                name = names.get(spec.master or "", {}).get(value) if isinstance(value, int) else None
                parts.append(f"{spec.name}={value}" + (f" ({name})" if name else ""))
            named[", ".join(parts) or "(all)"] = self.report.combinations.get(repr(combination), [0, 0])
        self.report.combinations = dict(sorted(named.items()))
