"""A batch of Production records, each put in one state: its counterpart read from Integration (50 ids a request)
and compared field by field over what STSync copies, as the read-back check compares (fidelity.py: references
translated through the crosswalk), with its status; or missing, or blocked (the crosswalk's issues say why)."""

from __future__ import annotations

import pydantic

from stsync_dagster.sync import fidelity
from stsync_dagster.sync.crosswalk import Entry
from stsync_dagster.sync.crosswalk.schema import BLOCKED as ISSUE_BLOCKED, CONFIRMED
from stsync_dagster.sync.diff.causes import cause, fingerprints
from stsync_dagster.sync.diff.report import BLOCKED, DIFFERS, IN_SYNC, MISSING, RecordDiff
from stsync_dagster.sync.entities import EntityHandler
from stsync_dagster.sync.fidelity import Difference, Translator
from stsync_dagster.sync.fieldmap import FIELD_MAPS
from stsync_dagster.sync.policy import Policies


NOT_COPIED = "no Integration counterpart: not copied yet"


class Comparer:
    """`marks`: Production id → the Integration records carrying its mark (a copy the crosswalk does not know of is
    named in the record's `why`)."""

    def __init__(self, handler: EntityHandler, prod, intc, crosswalk, policies: Policies, marks: dict[int, list[int]]):
        self.handler, self.prod, self.intc, self.crosswalk = handler, prod, intc, crosswalk
        self.policies = policies
        self.marks = marks
        self.field_map = FIELD_MAPS[handler.kind]
        self.translate = Translator(crosswalk)  # its lookups are kept from batch to batch

    def compare(self, raws: list[dict]) -> list[RecordDiff]:
        kind = self.handler.kind
        raws = [r for r in raws if isinstance(r, dict) and r.get("id") is not None]
        ids = [int(r["id"]) for r in raws]
        entries = self.crosswalk.lookup(kind, ids)
        unmapped = [i for i in ids if i not in entries or entries[i].state != CONFIRMED]
        issues = {issue.prod_id: issue for issue in self.crosswalk.issues(kind=kind, prod_ids=unmapped)}
        out: list[RecordDiff] = []
        mapped: list[tuple[dict, Entry]] = []
        for raw, prod_id in zip(raws, ids):
            entry = entries.get(prod_id)
            if entry is not None and entry.state == CONFIRMED:
                mapped.append((raw, entry))
            elif prod_id in issues:
                issue = issues[prod_id]
                why = issue.reason if issue.status == ISSUE_BLOCKED else f"{issue.status}: {issue.reason}"
                out.append(RecordDiff(prod_id, BLOCKED, why=why))
            else:
                out.append(RecordDiff(prod_id, MISSING, why=self._never_copied(prod_id, entry)))
        return out + self._compared(mapped)

    def _never_copied(self, prod_id: int, entry: Entry | None) -> str:
        if entry is not None:  # a claim: being created, or left by a run that is gone (the next sync looks it up)
            return f"claimed by run {entry.run_id}, not confirmed: being created, or the next sync looks it up"
        marked = self.marks.get(prod_id)
        if marked:
            return f"not in the crosswalk, but Integration {marked} carries its mark: `stsync reconcile {self.handler.kind}`"
        return NOT_COPIED

    def _compared(self, mapped: list[tuple[dict, Entry]]) -> list[RecordDiff]:
        if not mapped:
            return []
        handler = self.handler
        held = {
            int(r["id"]): r
            for r in self.intc.get_by_ids(
                handler.cfg.int_list_path, [e.int_id for _, e in mapped], params=handler.index_params()
            )
        }
        out: list[RecordDiff] = []
        found = []
        for raw, entry in mapped:
            if entry.int_id in held:
                found.append((raw, entry, held[entry.int_id]))
            else:
                why = f"mapped to Integration {entry.int_id}, which no longer holds it (refreshed? deleted?)"
                out.append(RecordDiff(entry.prod_id, MISSING, entry.int_id, why=why))
        if not found:
            return out
        originals = handler.read_back_view(self.prod, [raw for raw, _, _ in found])
        copies = handler.read_back_view(self.intc, [copy for _, _, copy in found])
        differing = []
        for raw, entry, copy in found:
            fields = self._differences(entry.prod_id, raw, originals[entry.prod_id], copies[entry.int_id], copy)
            if fields:
                differing.append((raw, entry, copy, fields))
            else:
                out.append(RecordDiff(entry.prod_id, IN_SYNC, entry.int_id))
        return out + self._explained(differing)

    def _differences(self, prod_id: int, raw: dict, original: dict, view: dict, copy: dict) -> tuple[Difference, ...]:
        handler = self.handler
        fields = fidelity.field_differences(self.field_map, original, view, self.translate)
        record = _parsed(handler, raw)
        target = handler.desired_status(record) if record is not None else None
        if target is not None and handler.current_status(copy) != target:
            fields.append(Difference("status", target, handler.current_status(copy)))
        mark = handler.mark_of(copy)
        if mark not in (None, prod_id):
            fields.append(Difference("mark", prod_id, mark))
        return tuple(fields)

    def _explained(self, differing: list[tuple]) -> list[RecordDiff]:
        """Each differing copy with why it differs; only these are built again (their fingerprint)."""
        if not differing:
            return []
        records = [r for r in (_parsed(self.handler, raw) for raw, *_ in differing) if r is not None]
        prints = fingerprints(self.handler, records, self.prod, self.crosswalk, self.policies) if records else {}
        stories = self.crosswalk.stories(self.handler.kind, [entry.prod_id for _, entry, _, _ in differing])
        out = []
        for _raw, entry, copy, fields in differing:
            last = (stories.get(entry.prod_id) or [None])[-1]
            why, detail = cause(entry, copy, prints.get(entry.prod_id), last)
            out.append(RecordDiff(entry.prod_id, DIFFERS, entry.int_id, cause=why, why=detail, fields=fields))
        return out


def _parsed(handler: EntityHandler, raw: dict):
    try:
        return handler.model.model_validate(raw)
    except pydantic.ValidationError:
        return None
