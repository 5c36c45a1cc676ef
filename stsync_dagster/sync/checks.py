"""Checks after a sync: Integration's copies hold what Production has, the crosswalk points at real records, and
nothing has been blocked for too long. Plain Python; the assets turn the results into asset checks."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from stsync_dagster.sync import fidelity
from stsync_dagster.sync.entities import EntityHandler
from stsync_dagster.sync.fieldmap import FIELD_MAPS
from stsync_dagster.sync.fidelity import Translator
from stsync_dagster.sync.outcome import Outcome, SyncReport
from stsync_dagster.sync.references import NEVER_MATCHED
from stsync_dagster.sync.timefmt import instant


@dataclass
class CheckOutcome:
    passed: bool
    description: str
    details: list[str] = field(default_factory=list)
    checked: int = 0
    rows: list[dict] = field(default_factory=list)  # the details as table rows, when they have columns


def _compare(path: str, sent, got, diffs: list[str]) -> None:
    if isinstance(sent, dict):
        got = got if isinstance(got, dict) else {}
        for key, value in sent.items():
            _compare(f"{path}.{key}" if path else key, value, got.get(key), diffs)
    elif isinstance(sent, list):
        if not isinstance(got, list) or len(got) != len(sent):
            diffs.append(f"{path}: sent {len(sent)} entries, read back {len(got) if isinstance(got, list) else got!r}")
            return
        for i, (a, b) in enumerate(zip(sent, got)):
            _compare(f"{path}[{i}]", a, b, diffs)
    elif isinstance(sent, (int, float)) and not isinstance(sent, bool):
        if not isinstance(got, (int, float)) or isinstance(got, bool) or abs(sent - got) > 1e-6:
            diffs.append(f"{path}: sent {sent!r}, read back {got!r}")
    elif isinstance(sent, str) and isinstance(got, str) and instant(sent) and instant(got):
        # Instants are sent to the second: a record made elsewhere (a refresh, by hand) may carry milliseconds.
        if instant(sent).replace(microsecond=0) != instant(got).replace(microsecond=0):
            diffs.append(f"{path}: sent {sent!r}, read back {got!r}")
    elif sent == "" and got is None:  # an empty text the API keeps as null
        return
    elif sent != got:
        diffs.append(f"{path}: sent {sent!r}, read back {got!r}")


def _field_diffs(handler: EntityHandler, sent: dict, got: dict) -> dict[str, list[str]]:
    """Per request field, how the Integration record differs from what the request says (the handler knows
    which fields are read back, under which names)."""
    out = {}
    for field_name, read_name, value in handler.read_back_pairs(sent, got):
        diffs: list[str] = []
        _compare(read_name, value, got.get(read_name), diffs)
        if diffs:
            out[field_name] = diffs
    return out


def differing_fields(handler: EntityHandler, sent: dict, got: dict) -> set[str]:
    """The top-level fields of a request whose values the Integration record does not hold (what to patch)."""
    return set(_field_diffs(handler, sent, got))


def _read(handler: EntityHandler, intc, int_ids: list[int]) -> dict[int, dict]:
    return {int(r["id"]): r for r in intc.get_by_ids(handler.cfg.int_list_path, int_ids, params=handler.index_params())}


def master_data_matched(report: SyncReport) -> CheckOutcome:
    """Fails when the run wrote records with a reference left out because its kind of master data had never been
    matched into the crosswalk (for want of `master_data`, not for want of a counterpart)."""
    left_out = [d for d in report.dropped if NEVER_MATCHED in d.reason]
    written = report.count(Outcome.CREATED) + report.count(Outcome.UPDATED)
    if left_out:
        fields = sorted({d.field for d in left_out})
        return CheckOutcome(
            False,
            f"{len({d.prod_id for d in left_out})} records written without {', '.join(fields)}: that master data "
            "had never been matched into the crosswalk. Materialize master_data, then sync the window again.",
            details=[f"{d.kind} {d.prod_id}: {d.field}: {d.reason}" for d in left_out[:50]],
            checked=written,
        )
    return CheckOutcome(True, "no reference left out for want of master data", checked=written)


def read_back(handler: EntityHandler, prod, intc, crosswalk, report: SyncReport) -> CheckOutcome:
    """The records created in the run (a sample), read again from both tenants: Integration's copy must hold
    Production's value of every field STSync copies (references translated), and STSync's mark."""
    sample = report.created_sample
    if not sample:
        return CheckOutcome(True, "nothing created in this run: nothing to read back")
    field_map = FIELD_MAPS[handler.kind]
    pairs = {prod_id: int_id for prod_id, int_id, _ in sample}
    copies = handler.read_back_view(intc, list(_read(handler, intc, list(pairs.values())).values()))
    prod_list = prod.get_by_ids(handler.cfg.prod_list_path, sorted(pairs), params=dict(handler.cfg.list_params))
    originals = handler.read_back_view(prod, prod_list)
    translate = Translator(crosswalk)
    details = []
    for prod_id, int_id in pairs.items():
        copy, original = copies.get(int_id), originals.get(prod_id)
        where = f"{handler.kind} {prod_id} → {int_id}"
        if copy is None or original is None:
            details.append(f"{where}: not found in {'Integration' if copy is None else 'Production'}")
            continue
        found = fidelity.differences(field_map, original, copy, translate)
        if handler.mark_of(copy) != prod_id:
            found.append(f"mark: Production id {prod_id} expected, found {handler.mark_of(copy)!r}")
        details += [f"{where}: {d}" for d in found]
    passed = not details
    fields = len(field_map.compared())
    text = f"{len(pairs)} created records read back, {fields} copied fields each compared with Production" + (
        ": identical" if passed else f": {len(details)} differences"
    )
    return CheckOutcome(passed, text, details, len(pairs))


@dataclass
class MappingProblems:
    kind: str
    checked: int = 0
    wrong: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return (
            f"{len(self.wrong)} of {self.checked} sampled mappings point at records Integration no longer holds, "
            "or that now hold another record (was Integration refreshed?)"
        )


def mapping_problems(handler: EntityHandler, intc, crosswalk, size: int = 50) -> MappingProblems:
    """A random sample of confirmed mappings read back: gone, or marked as another record's copy, or a record
    STSync created that no longer carries its mark."""
    kind = handler.kind
    problems = MappingProblems(kind)
    pairs = crosswalk.sample(kind, size)
    if not pairs:
        return problems
    sources = {p: e.source for p, e in crosswalk.lookup(kind, pairs).items()}
    found = _read(handler, intc, list(pairs.values()))
    problems.checked = len(pairs)
    for prod_id, int_id in sorted(pairs.items()):
        record = found.get(int_id)
        mark = handler.mark_of(record) if record is not None else None
        if record is None:
            problems.wrong.append(f"{kind} {prod_id} → {int_id}: not in Integration")
        elif mark not in (None, prod_id):
            problems.wrong.append(f"{kind} {prod_id} → {int_id}: Integration {int_id} is the copy of {mark}")
        elif mark is None and sources.get(prod_id) in ("sync", "recovered"):
            problems.wrong.append(f"{kind} {prod_id} → {int_id}: created by STSync, but no longer carries its mark")
    return problems


def crosswalk_integrity(handler: EntityHandler, intc, crosswalk, size: int = 50) -> CheckOutcome:
    problems = mapping_problems(handler, intc, crosswalk, size)
    if not problems.checked:
        return CheckOutcome(True, "the crosswalk maps nothing yet")
    if not problems.wrong:
        return CheckOutcome(
            True, f"{problems.checked} mapped Integration ids sampled, all hold their record", [], problems.checked
        )
    text = (
        f"{problems.summary()}. Run `stsync sync {handler.kind}` (it forgets the stale mappings and adopts the "
        f"records again) or `stsync reconcile {handler.kind}`."
    )
    return CheckOutcome(False, text, problems.wrong, problems.checked)


def _issue_rows(issues) -> list[dict]:
    return [
        {"prod_id": i.prod_id, "since": f"{i.first_seen:%Y-%m-%d %H:%M}", "reason": i.reason, "detail": i.detail or ""}
        for i in issues
    ]


def blocked_too_long(kind: str, crosswalk, days: float) -> CheckOutcome:
    cutoff = datetime.now(UTC) - timedelta(days=days)
    waiting = crosswalk.issues(kind=kind, status="blocked", first_seen_before=cutoff)
    details = [f"{kind} {i.prod_id} blocked since {i.first_seen:%Y-%m-%d}: {i.reason}" for i in waiting]
    text = (
        f"{len(waiting)} records blocked for more than {days:g} days"
        if waiting
        else f"nothing blocked for more than {days:g} days"
    )
    return CheckOutcome(not waiting, text, details, len(waiting), _issue_rows(waiting))


def open_issues(kind: str, crosswalk, status: str) -> CheckOutcome:
    """The records of a kind the crosswalk holds as failed (or blocked) now: each is tried again first by the
    next run of its kind, and leaves the list when it is copied."""
    found = crosswalk.issues(kind=kind, status=status)
    if not found:
        return CheckOutcome(True, f"no {kind} record is {status}")
    details = [f"{kind} {i.prod_id} {status}: {i.reason}" for i in found]
    text = f"{len(found)} {kind} records {status}; the next run tries them again. First: {details[0]}"
    return CheckOutcome(False, text, details, len(found), _issue_rows(found))
