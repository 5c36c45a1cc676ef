"""What Integration already holds: an index of one kind's Integration records, by STSync's mark and by natural
key, and the rules that adopt a Production record to one of them instead of creating it.

Rules, in order: `stamp` (the record carries STSync's mark for this Production id), `same-id` (a refresh kept
ids: the record has the Production id and the same natural key), `natural-key` (exactly one record has the
key). A key shared by several records is ambiguous: reported, never guessed, and nothing is created.
"""

from __future__ import annotations

import logging
import threading
import unicodedata
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from stsync_dagster.sync.timefmt import utc

log = logging.getLogger("stsync.adoption")

STAMP, SAME_ID, NATURAL_KEY = "stamp", "same-id", "natural-key"


def fold(text: str) -> str:
    """Text compared loosely: NFKC-normalised, casefolded, white space trimmed and collapsed."""
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def joined_key(texts: list[str], required: int | None = None) -> str | None:
    """A natural key from its parts' texts; None when one of the first `required` parts (every part when None)
    is empty: such a record cannot be matched by key."""
    return None if "" in texts[:required] else " | ".join(texts)


def key_part(value) -> str:
    """One field of a natural key, compared loosely: text casefolded and trimmed, instants to the second in UTC."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return utc(value).strftime("%Y-%m-%dT%H:%M:%S")
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            return fold(value)
        return utc(moment).strftime("%Y-%m-%dT%H:%M:%S")
    return str(value)


def natural_key(parts: list) -> str | None:
    """A key from its parts; None when any part is missing (such a record cannot be matched by key)."""
    return joined_key([key_part(p) for p in parts])


@dataclass(frozen=True)
class Match:
    int_id: int
    rule: str


@dataclass(frozen=True)
class Ambiguous:
    int_ids: tuple[int, ...]
    key: str


@dataclass
class IntegrationIndex:
    """One kind's Integration records, reduced to what matching needs. Our own creates are added as they land."""

    kind: str
    by_mark: dict[int, list[int]] = field(default_factory=lambda: defaultdict(list))
    by_key: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    mark_of: dict[int, int | None] = field(default_factory=dict)
    evidence_of: dict[int, str | None] = field(default_factory=dict)  # what a mark must agree with (see handlers)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @classmethod
    def read(cls, handler, intc) -> "IntegrationIndex":
        index = cls(handler.kind)
        for entry in cls.entries(handler, intc, handler.index_params()):
            index.add(*entry)
        log.info("%s: %d records in Integration indexed by mark and natural key", handler.kind, len(index.mark_of))
        return index

    @staticmethod
    def entries(handler, intc, params: dict, marks: set[int] | None = None, keys: set[str] | None = None) -> list:
        """(id, mark, key, evidence) of the records one list read returns; with `marks`/`keys`, only those with
        one of these marks or keys (what is held is bounded by the page, not by the list)."""
        kept = []
        for page in intc.iter_pages(handler.cfg.int_list_path, params):
            for raw in page.records:
                mark, key = handler.mark_of(raw), handler.int_key(raw)
                if marks is None or mark in marks or key in keys:
                    kept.append((int(raw["id"]), mark, key, handler.int_evidence(raw)))
        return kept

    def add(self, int_id: int, mark: int | None, key: str | None, evidence: str | None = None) -> None:
        with self._lock:
            if int_id in self.mark_of:  # listed twice (reads that overlap, a page repeated)
                return
            self.mark_of[int_id] = mark
            self.evidence_of[int_id] = evidence
            if mark is not None:
                self.by_mark[mark].append(int_id)
            if key is not None:
                self.by_key[key].append(int_id)

    def holds(self, int_id: int) -> bool:
        return int_id in self.mark_of

    def _mark(self, int_id: int, prod_id: int, evidence: str | None) -> int | None:
        """The record's mark, unless it names this Production id without agreeing with it (forged text)."""
        mark = self.mark_of.get(int_id)
        if mark == prod_id and evidence is not None and self.evidence_of.get(int_id) not in (None, evidence):
            return None
        return mark

    def match(
        self, prod_id: int, key: str | None, taken: set[int], evidence: str | None = None
    ) -> Match | Ambiguous | None:
        """The Integration record that already is this Production record, if any. `taken`: Integration ids the
        crosswalk maps to other Production records (never adopted twice)."""
        marked = sorted(
            i for i in self.by_mark.get(prod_id, ()) if i not in taken and self._mark(i, prod_id, evidence) == prod_id
        )
        if marked:
            if len(marked) > 1:
                log.warning(
                    "%s %s is marked on several Integration records %s: the first is kept", self.kind, prod_id, marked
                )
            return Match(marked[0], STAMP)
        if key is None:
            return None
        # A record that carries another Production id's mark is that one's copy, whatever its key says.
        candidates = [
            i
            for i in self.by_key.get(key, ())
            if i not in taken and self._mark(i, prod_id, evidence) in (None, prod_id)
        ]
        if prod_id in candidates:
            return Match(prod_id, SAME_ID)
        if len(candidates) == 1:
            return Match(candidates[0], NATURAL_KEY)
        if candidates:
            return Ambiguous(tuple(sorted(candidates)), key)
        return None
