"""Every copyable field arrives: a full sync on the simulator (real HTTP on a loopback port), then Integration's
copies read next to their Production records. Categories are matched by name, a job's technician who sold it
and the job it came from are translated, references that cannot be matched are left out and counted, and the
read-back check compares Integration with Production, so a field STSync forgets to send fails it."""

from __future__ import annotations


import pytest

from stsync_dagster.defs.materialize import materialize_sync
from stsync_dagster.servicetitan import ProductionClient
from stsync_dagster.settings import load_settings
from stsync_dagster.settings import DEFAULT_EXTERNAL_DATA_GUID as GUID
from stsync_dagster.simulator import Simulator
from stsync_dagster.sync.crosswalk import Crosswalk
from stsync_dagster.sync.entities import ItemsHandler, JobsHandler
from stsync_dagster_tests.sync_helpers import copied_ids, pointed_at, sync_env, text

GAP_CATEGORY = "Refrigerants"  # removed from Integration: its materials are copied without it


def _run(env, entities=("items", "jobs", "pos")):
    """A `stsync sync`: each asset's metadata, and each (asset, check) evaluation."""
    with pointed_at(env):
        result = materialize_sync(list(entities), since=env["STSYNC_START_DATE"])
    assert result.success
    metadata = {}
    for entity in entities:
        (event,) = result.asset_materializations_for_node(entity)
        metadata[entity] = {k: getattr(v, "value", v) for k, v in event.metadata.items()}
    checks = {(e.asset_key.path[-1], e.check_name): e for e in result.get_asset_check_evaluations()}
    return metadata, checks


@pytest.fixture(scope="module")
def copied(tmp_path_factory):
    with Simulator(seed=23, scale=0.3).start() as sim:
        gap = [c["id"] for c in sim.records("int", "categories") if c["name"] == GAP_CATEGORY]
        assert sim.remove_records("int", "categories", gap) == 1
        env = sync_env(sim, tmp_path_factory.mktemp("fields"))
        metadata, checks = _run(env)
        with Crosswalk(env["STSYNC_DB"]) as cw:
            pairs = {
                kind: cw.int_ids(kind, [r["id"] for r in sim.records("prod", name)])
                for kind, name in (
                    ("items", "materials"),
                    ("jobs", "jobs"),
                    ("pos", "purchase-orders"),
                    ("categories", "categories"),
                    ("technicians", "technicians"),
                )
            }
        yield sim, metadata, checks, pairs


def _by_id(records):
    return {r["id"]: r for r in records}


def _dropped(metadata: dict, field: str) -> int:
    rows = [r.data for r in metadata["dropped_by_field"].records]
    return next((row["values_left_out"] for row in rows if row["field"] == field), 0)


def test_the_read_back_check_passes_against_production(copied):
    _, _, checks, _ = copied
    for entity in ("items", "jobs", "pos"):
        evaluation = checks[(entity, "read_back_fidelity")]
        assert evaluation.passed, (entity, evaluation.description, text(evaluation.metadata["details"]))
        assert "compared with Production" in evaluation.description
        assert evaluation.metadata["checked"].value > 5


def test_categories_are_matched_by_name_and_an_unmatched_one_is_left_out_and_counted(copied):
    sim, metadata, _, pairs = copied
    prod_categories = _by_id(sim.records("prod", "categories"))
    int_categories = _by_id(sim.records("int", "categories"))
    prod, integ = _by_id(sim.records("prod", "materials")), _by_id(sim.records("int", "materials"))
    carried = left_out = 0
    for prod_id, int_id in pairs["items"].items():
        wanted = sorted(
            prod_categories[c]["name"]
            for c in prod[prod_id]["categories"]
            if prod_categories[c]["name"] != GAP_CATEGORY
        )
        assert sorted(int_categories[c]["name"] for c in integ[int_id]["categories"]) == wanted
        carried += len(wanted)
        left_out += len(prod[prod_id]["categories"]) - len(wanted)
    assert carried > 20 and left_out > 0
    assert _dropped(metadata["items"], "categories") == left_out


def test_the_fields_not_copied_before_arrive(copied):
    sim, _, _, pairs = copied
    prod, integ = _by_id(sim.records("prod", "materials")), _by_id(sim.records("int", "materials"))
    fields = (
        "costOfSaleAccount",
        "assetAccount",
        "chargeableByDefault",
        "isConfigurableMaterial",
        "isOtherDirectCost",
        "budgetCostCode",
        "budgetCostType",
    )
    filled = {name: 0 for name in (*fields, "assets", "subAccounts", "variations")}
    for prod_id, int_id in pairs["items"].items():
        p, i = prod[prod_id], integ[int_id]
        for name in fields:
            assert i[name] == p[name], (prod_id, name)
            filled[name] += bool(p[name])
        assert [{k: a[k] for k in ("type", "url", "alias", "isDefault")} for a in i["assets"]] == [
            {k: a[k] for k in ("type", "url", "alias", "isDefault")} for a in p["assets"]
        ]
        filled["assets"] += bool(p["assets"])
        # A vendor without an Integration counterpart is dropped (the reference policy): pair the others.
        prod_vendors = {(v["vendorPart"], v["memo"]): v for v in [p["primaryVendor"], *(p["otherVendors"] or [])] if v}
        for iv in [v for v in [i["primaryVendor"], *(i["otherVendors"] or [])] if v]:
            pv = prod_vendors[(iv["vendorPart"], iv["memo"])]
            if pv:
                for name in ("primarySubAccount", "otherSubAccounts"):
                    strip = lambda a: {"cost": a["cost"], "accountName": a["accountName"]} if a else None
                    got = [strip(a) for a in iv[name]] if isinstance(iv[name], list) else strip(iv[name])
                    want = [strip(a) for a in pv[name]] if isinstance(pv[name], list) else strip(pv[name])
                    assert got == want, (prod_id, name)
                    filled["subAccounts"] += bool(pv[name])
        if p["isConfigurableMaterial"]:  # its variations, translated to their copies
            assert sorted(i["variationsOrConfigurableMaterials"]) == sorted(
                pairs["items"][v] for v in p["variationsOrConfigurableMaterials"] if v in pairs["items"]
            )
            filled["variations"] += len(i["variationsOrConfigurableMaterials"])
    assert all(filled.values()), filled  # the data fills every one of them somewhere

    prod_jobs, int_jobs = _by_id(sim.records("prod", "jobs")), _by_id(sim.records("int", "jobs"))
    sold = sourced = 0
    for prod_id, int_id in pairs["jobs"].items():
        p, i = prod_jobs[prod_id], int_jobs[int_id]
        assert i["soldById"] == pairs["technicians"].get(p["soldById"])
        sold += i["soldById"] is not None
        source = p["jobGeneratedLeadSource"]
        if source and source["jobId"] in pairs["jobs"]:
            assert i["jobGeneratedLeadSource"]["jobId"] == pairs["jobs"][source["jobId"]]
            assert i["jobGeneratedLeadSource"].get("employeeId") == pairs["technicians"].get(source["employeeId"])
            sourced += 1
    assert sold > 5 and sourced > 0


def test_references_with_no_list_to_match_them_are_dropped_and_counted(copied):
    sim, metadata, _, _ = copied
    created = copied_ids(sim, GUID)
    jobs = [j for j in sim.records("prod", "jobs") if j["id"] in created["jobs"]]
    pos = [p for p in sim.records("prod", "purchase-orders") if p["id"] in created["purchase-orders"]]
    expected = {
        ("jobs", "tagTypeIds"): sum(len(j["tagTypeIds"]) for j in jobs),
        ("jobs", "customFields"): sum(len(j["customFields"]) for j in jobs),
        ("jobs", "projectId"): sum(j["projectId"] is not None for j in jobs),
        ("jobs", "bookingId"): sum(j["bookingId"] is not None for j in jobs),
        ("pos", "projectId"): sum(p["projectId"] is not None for p in pos),
        ("pos", "budgetCodeId"): sum(p["budgetCodeId"] is not None for p in pos),
        ("pos", "items[].budgetCodeId"): sum(line["budgetCodeId"] is not None for p in pos for line in p["items"]),
    }
    for (entity, field), n in expected.items():
        assert n > 0, (entity, field)  # the data holds such references
        assert _dropped(metadata[entity], field) == n, (entity, field, metadata[entity]["dropped_by_field"])
    int_jobs = sim.records("int", "jobs")
    assert not any(j["tagTypeIds"] or j["customFields"] or j["projectId"] for j in int_jobs)
    assert metadata["jobs"]["dropped_values"] >= sum(n for (e, _), n in expected.items() if e == "jobs")
    assert "no way to list tag types" in text(metadata["jobs"]["dropped_by_field"])


@pytest.mark.parametrize(
    ("handler", "entity", "field"),
    [
        (ItemsHandler, "items", "costOfSaleAccount"),
        (JobsHandler, "jobs", "soldById"),
    ],
)
def test_a_field_stsync_forgets_to_send_fails_the_read_back_check(
    make_simulator, tmp_path, monkeypatch, handler, entity, field
):
    """Mutation: the request loses one field. Compared with what was sent, nothing would show."""
    build = handler.build

    def forgetful(self, record, refs, extra=None):
        return build(self, record, refs, extra).model_copy(update={field: None})

    monkeypatch.setattr(handler, "build", forgetful)
    sim = make_simulator(seed=23, scale=0.2)
    env = sync_env(sim, tmp_path)
    _, checks = _run(env, entities=(entity,))
    evaluation = checks[(entity, "read_back_fidelity")]
    assert not evaluation.passed
    assert f"{field}: Production" in text(evaluation.metadata["details"])


def test_the_simulator_lists_categories_as_the_document_says(make_simulator, tmp_path):
    sim = make_simulator(seed=5, scale=0.05)
    settings = load_settings(environ=sync_env(sim, tmp_path), dotenv_path=None)
    path = "/pricebook/v2/tenant/{tenant}/categories"
    with ProductionClient.from_settings(settings) as prod:

        def names(**params):
            return sorted(r["name"] for page in prod.iter_pages(path, params) for r in page.records)

        everything = names(active="Any")
        assert everything == sorted(c["name"] for c in sim.records("prod", "categories")) and GAP_CATEGORY in everything
        assert names(active="Any", categoryType="Materials") == everything  # the data's are all material ones
        assert names(active="Any", categoryType="Services") == []
