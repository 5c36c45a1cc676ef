"""The simulator's test hooks: invalid Production records on purpose (invalid_fraction), add_records."""

from __future__ import annotations

from collections import Counter

import httpx
import pytest

from stsync_dagster.simulator import DELIBERATE_GAPS, Simulator
from stsync_dagster.simulator.gaps import MERGED_CUSTOMER
from stsync_dagster_tests.test_simulator import (
    GUID,
    OTHER_GUID,
    Api,
    _job_payload,
    is_problem,
    served_from_command_line,
)

FUZZ_KINDS = ("materials", "purchase-orders", "jobs")
FRACTION = 0.2


@pytest.fixture(scope="module")
def clean():
    """The same data with nothing corrupted: what every corrupted record is compared with (never started)."""
    return Simulator(seed=7, scale=0.25)


@pytest.fixture(scope="module")
def fuzzed():
    with Simulator(seed=7, scale=0.25, rate_limit=None, export_batch_size=7, invalid_fraction=FRACTION).start() as sim:
        yield sim


def diff(a, b, path: str = "") -> list[str]:
    """Dotted paths where a and b differ (a list of another length differs as a whole)."""
    if isinstance(a, dict) and isinstance(b, dict):
        out = []
        for key in sorted(set(a) | set(b)):
            where = f"{path}.{key}" if path else key
            if key not in a or key not in b:
                out.append(where)
            else:
                out += diff(a[key], b[key], where)
        return out
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return [p for i, (x, y) in enumerate(zip(a, b)) for p in diff(x, y, f"{path}[{i}]")]
    return [] if a == b and type(a) is type(b) else [path]


def lookup(record: dict, path: str):
    value = record
    for part in path.replace("[", ".").replace("]", "").split("."):
        value = value[int(part)] if part.isdigit() else value[part]
    return value


# == invalid_fraction ===================================================================================
def test_no_corruption_by_default(clean):
    assert clean.corruptions == {}
    assert Simulator(seed=7, scale=0.25, invalid_fraction=0.0).records("prod", "jobs") == clean.records("prod", "jobs")


def test_the_fraction_of_each_kind_is_corrupted_deterministically_from_the_seed(fuzzed):
    corruptions = fuzzed.corruptions
    counts = Counter(kind for kind, _ in corruptions)
    for kind in FUZZ_KINDS:
        total = len(fuzzed.records("prod", kind))
        assert counts[kind] == -(-int(FRACTION * 100) * total // 100), (kind, counts)  # ceil(fraction × total)
    assert Simulator(seed=7, scale=0.25, invalid_fraction=FRACTION).corruptions == corruptions
    assert Simulator(seed=7, scale=0.25, invalid_fraction=FRACTION, invalid_seed=7).corruptions == corruptions
    other = Simulator(seed=7, scale=0.25, invalid_fraction=FRACTION, invalid_seed=8).corruptions
    assert other != corruptions and Counter(kind for kind, _ in other) == counts
    assert len(Simulator(seed=7, scale=0.25, invalid_fraction=0.01).corruptions) == 3  # at least one of each kind
    for bad in (-0.1, 1.5):
        with pytest.raises(ValueError, match="invalid_fraction"):
            Simulator(seed=7, scale=0.25, invalid_fraction=bad)


def test_every_kind_of_damage_occurs_with_the_plausible_bad_values(fuzzed):
    values: dict[tuple[str, str], set] = {}
    by_id = {kind: {r["id"]: r for r in fuzzed.records("prod", kind)} for kind in FUZZ_KINDS}
    for (kind, record_id), field in fuzzed.corruptions.items():
        record = by_id[kind][record_id]
        shape = "items[].quantity" if field.startswith("items[") else field
        values.setdefault((kind, shape), set()).add(
            repr(lookup(record, field)) if field in record or "[" in field else "missing"
        )
    campaign_names = {repr(c["name"]) for c in fuzzed.records("prod", "campaigns")}
    assert values.pop(("jobs", "campaignId")) <= campaign_names
    assert values == {
        ("materials", "code"): {"None", "''"},
        ("materials", "description"): {"None"},
        ("materials", "cost"): {"'n/a'"},
        ("materials", "modifiedOn"): {"missing"},
        ("purchase-orders", "items"): {"[]"},
        ("purchase-orders", "vendorId"): {"None"},
        ("purchase-orders", "items[].quantity"): {"'lots'"},
        ("jobs", "priority"): {"'Critical'"},
        ("jobs", "customerId"): {"None"},
    }


def test_each_corrupted_record_differs_from_the_clean_data_in_exactly_its_recorded_field(fuzzed, clean):
    corruptions = fuzzed.corruptions
    for kind in FUZZ_KINDS:
        originals = {r["id"]: r for r in clean.records("prod", kind)}
        for record in fuzzed.records("prod", kind):
            expected = [corruptions[(kind, record["id"])]] if (kind, record["id"]) in corruptions else []
            assert diff(originals[record["id"]], record) == expected, (kind, record["id"])
    for kind in ("appointments", "appointment-assignments", "vendors", "customers", "locations", "campaigns"):
        assert fuzzed.records("prod", kind) == clean.records("prod", kind)


def test_integration_is_never_corrupted(fuzzed, clean):
    for kind in ("vendors", "customers", "locations", "job-types", "campaigns", "technicians", "materials", "jobs"):
        assert fuzzed.records("int", kind) == clean.records("int", kind)


def test_corrupted_records_break_no_other_record_and_meet_no_deliberate_gap(fuzzed, clean):
    corrupted = {kind: {i for k, i in fuzzed.corruptions if k == kind} for kind in FUZZ_KINDS}
    pos = clean.records("prod", "purchase-orders")
    assert not corrupted["materials"] & {line["skuId"] for po in pos for line in po["items"]}
    assert not corrupted["jobs"] & {po["jobId"] for po in pos}
    gaps = {kind: set(names) for kind, names in DELIBERATE_GAPS["missing"].items()}
    gaps["campaigns"] = set(DELIBERATE_GAPS["duplicated"]["campaigns"])
    gaps["customers"].add(MERGED_CUSTOMER)
    gap_ids = {r["id"] for kind, names in gaps.items() for r in clean.records("prod", kind) if r["name"] in names}
    originals = {kind: {r["id"]: r for r in clean.records("prod", kind)} for kind in FUZZ_KINDS}
    technicians_of = Counter()
    for assignment in clean.records("prod", "appointment-assignments"):
        if assignment["technicianId"] in gap_ids:
            technicians_of[assignment["jobId"]] += 1
    for kind, ids in corrupted.items():
        for record_id in ids:
            record = originals[kind][record_id]
            refs = {record.get(f) for f in ("customerId", "jobTypeId", "campaignId", "vendorId")}
            refs |= {(record.get("primaryVendor") or {}).get("vendorId")}
            refs |= {line["skuId"] for line in record.get("items", [])}
            assert not refs & gap_ids and technicians_of[record_id] == 0, (kind, record_id)
            if kind == "purchase-orders":  # its lines' materials are sound
                assert not {line["skuId"] for line in record["items"]} & corrupted["materials"]


def test_corrupted_records_are_served_by_list_get_and_export(fuzzed):
    prod = Api(fuzzed, "prod")
    corruptions = fuzzed.corruptions
    for kind in FUZZ_KINDS:
        params = {"active": "Any"} if kind == "materials" else {}
        listed = {r["id"]: r for r in prod.all(kind, pageSize=500, **params)}
        exported, _ = prod.export_all(kind, "")
        exported_ids = [r["id"] for r in exported]
        assert sorted(exported_ids) == sorted(listed) == sorted(r["id"] for r in fuzzed.records("prod", kind))
        for (k, record_id), field in corruptions.items():
            if k != kind:
                continue
            fetched = prod.ok(f"{kind}/{record_id}")
            if field == "modifiedOn":
                assert "modifiedOn" not in fetched and "modifiedOn" not in listed[record_id]
                assert "createdOn" in fetched
            else:
                assert fetched == listed[record_id]
                assert lookup(fetched, field) == lookup(
                    next(r for r in fuzzed.records("prod", kind) if r["id"] == record_id), field
                )


def test_a_material_without_modified_on_still_answers_date_filters_and_export_positions(fuzzed, clean):
    prod = Api(fuzzed, "prod")
    record_id = next(i for (k, i), f in fuzzed.corruptions.items() if k == "materials" and f == "modifiedOn")
    modified = next(r["modifiedOn"] for r in clean.records("prod", "materials") if r["id"] == record_id)
    found = prod.all("materials", active="Any", modifiedOnOrAfter=modified)
    assert record_id in {r["id"] for r in found}
    assert record_id not in {r["id"] for r in prod.all("materials", active="Any", modifiedBefore=modified)}
    exported, answers = prod.export_all("materials", "")
    assert len(answers) > 2 and len({r["id"] for r in exported}) == len(exported)


def test_integration_refuses_the_unknown_priority(make_simulator):
    sim = make_simulator(seed=11, scale=0.25, rate_limit=None)
    errors = is_problem(Api(sim, "int").post("jobs", _job_payload(sim, priority="Critical")), 400)["errors"]
    assert set(errors) == {"priority"}


def test_command_line_invalid_fraction_and_the_control_plane_list():
    expected = Simulator(seed=3, scale=0.05, invalid_fraction=0.5).corruptions
    assert expected
    with served_from_command_line("--seed", "3", "--scale", "0.05", "--invalid-fraction", "0.5") as env:
        listed = httpx.get(env["ST_API_BASE_PROD"].removesuffix("/prod") + "/_sim/corruptions").json()
        assert {(c["kind"], c["id"]): c["field"] for c in listed} == expected


# == add_records ========================================================================================
def test_add_records_assigns_ids_and_clock_stamps_and_serves_them(make_simulator):
    sim = make_simulator(seed=11, scale=0.25, rate_limit=None)
    vendor = dict(sim.records("prod", "vendors")[0])
    for key in ("id", "createdOn", "modifiedOn", "externalData"):
        vendor.pop(key)
    vendor.update(name="Added Vendor Supply", active=True)
    added = sim.add_records("int", "vendors", [vendor, dict(vendor, name="Second Added Vendor", id=80_555_555)])
    first, second = added
    assert first["id"] >= 80_000_000 and second["id"] == 80_555_555 and first["externalData"] == {}
    assert first["createdOn"] == first["modifiedOn"] > sim.until.strftime("%Y-%m-%dT%H:%M:%S.999Z")
    intg = Api(sim, "int")
    listed = {r["name"]: r for r in intg.all("vendors")}
    assert listed["Added Vendor Supply"]["id"] == first["id"]
    assert intg.ok(f"vendors/{second['id']}")["name"] == "Second Added Vendor"
    snapshot = sorted(
        (r for r in sim.records("int", "vendors") if r["id"] in (first["id"], second["id"])), key=lambda r: r["id"]
    )
    assert snapshot == sorted(added, key=lambda r: r["id"]) and next(iter(first)) == "id"
    # ids handed out afterwards by the API never meet a chosen one
    created = intg.post("materials", {"code": "AFTER-ADD", "description": "x"}).json()
    assert created["id"] > 80_555_555


def test_add_records_to_production_with_odd_values_and_external_data(make_simulator):
    sim = make_simulator(seed=11, scale=0.25, rate_limit=None)
    material = {key: value for key, value in sim.records("prod", "materials")[0].items() if key != "id"}
    odd = dict(
        material,
        code=None,
        cost="n/a",
        createdOn="2026-09-01T00:00:00Z",
        modifiedOn="2026-09-02T12:00:00Z",
        externalData={GUID: [{"key": "prodId", "value": "1"}], OTHER_GUID: [{"key": "x", "value": "y"}]},
    )
    stamped = dict(
        material,
        code="ODD-2",
        externalData={"applicationGuid": GUID, "externalData": [{"key": "prodId", "value": "2"}]},
    )
    first, second = sim.add_records("prod", "materials", [odd, stamped])
    assert 40_000_000 <= first["id"] <= 49_999_999 and first["code"] is None and first["cost"] == "n/a"
    assert first["externalData"] == {GUID: [{"key": "prodId", "value": "1"}], OTHER_GUID: [{"key": "x", "value": "y"}]}
    assert second["externalData"] == {GUID: [{"key": "prodId", "value": "2"}]}
    prod = Api(sim, "prod")
    fetched = prod.ok(f"materials/{first['id']}", externalDataApplicationGuid=GUID)
    assert fetched["code"] is None and fetched["externalData"] == [{"key": "prodId", "value": "1"}]
    on_day = prod.all("materials", active="Any", modifiedOnOrAfter="2026-09-02", modifiedBefore="2026-09-03")
    assert first["id"] in {r["id"] for r in on_day}
    assert first["id"] in {r["id"] for r in prod.export_all("materials", "")[0]}


def test_add_records_refuses_bad_batches_whole(make_simulator):
    sim = make_simulator(seed=11, scale=0.25, rate_limit=None)
    before = sim.records("int", "vendors")
    taken = before[0]["id"]
    good = {"name": "Fine Vendor", "active": True}
    for bad, message in (
        ({"name": "Taken", "id": taken}, "already used"),
        ({"name": "Production id", "id": 2_000_000}, "range"),
        ({"name": "Not an id", "id": "80000001"}, "range"),
        ({"name": "Bad date", "modifiedOn": "yesterday"}, "date-time"),
    ):
        with pytest.raises(ValueError, match=message):
            sim.add_records("int", "vendors", [good, bad])
    with pytest.raises(TypeError, match="externalData"):
        sim.add_records("int", "vendors", [good, {"name": "Bad stamps", "externalData": [{"key": "k", "value": "v"}]}])
    with pytest.raises(ValueError, match="duplicate"):
        sim.add_records("int", "vendors", [dict(good, id=80_000_001), dict(good, id=80_000_001)])
    with pytest.raises(ValueError, match="externalData"):
        sim.add_records(
            "int", "purchase-order-types", [{"name": "T", "externalData": {GUID: [{"key": "k", "value": "v"}]}}]
        )
    with pytest.raises(TypeError):
        sim.add_records("int", "vendors", good)
    with pytest.raises(ValueError, match="kind"):
        sim.add_records("int", "unicorns", [good])
    assert sim.records("int", "vendors") == before


def test_integration_creates_survive_an_added_material_without_a_code(make_simulator):
    sim = make_simulator(seed=11, scale=0.25, rate_limit=None)
    sim.add_records("int", "materials", [{"code": None, "description": "no code", "active": True}])
    response = Api(sim, "int").post("materials", {"code": "NEW-1", "description": "x"})
    assert response.status_code == 201, response.text


def test_control_plane_adds_records(simulator):
    url = simulator.url
    answer = httpx.post(f"{url}/_sim/records/int/customers", json=[{"name": "Posted Customer", "active": True}])
    assert answer.status_code == 200 and answer.json()[0]["name"] == "Posted Customer"
    assert answer.json()[0] in simulator.records("int", "customers")
    assert httpx.post(f"{url}/_sim/records/int/customers", json=[{"id": 5}]).status_code == 400
    assert httpx.post(f"{url}/_sim/records/int/customers", json={"name": "x"}).status_code == 400
