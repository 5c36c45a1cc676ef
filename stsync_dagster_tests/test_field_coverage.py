"""The field-coverage table is generated from the OpenAPI documents and cannot go stale; it shows gaps."""

from __future__ import annotations

import dataclasses

from stsync_dagster.sync.fieldmap import FIELD_MAPS, values_at
from stsync_dagster.sync.models import PurchaseOrderCreate
from stsync_dagster_tests import field_coverage
from stsync_dagster_tests.field_coverage import NOT_COPIED, OUTPUT, Documents, rows


def test_the_committed_table_is_what_the_script_generates(openapi_dir):
    assert OUTPUT.read_text(encoding="utf-8") == field_coverage.render(openapi_dir), (
        "docs/field-coverage.md is stale: run `uv run python -m stsync_dagster_tests.field_coverage --write`"
    )


def test_the_readme_shows_the_generated_summary(openapi_dir):
    assert field_coverage.readme_summary(openapi_dir) in field_coverage.README.read_text(encoding="utf-8")


def test_each_kind_copies_at_least_95_percent_of_what_it_can(openapi_dir):
    for kind, summary in field_coverage.coverage(openapi_dir).items():
        assert summary.ratio >= 0.95, (kind, summary.counts)
        assert summary.counts[NOT_COPIED] == 0, kind


def test_a_field_without_a_rule_shows_as_not_copied(openapi_dir):
    materials = FIELD_MAPS["items"]
    forgetful = dataclasses.replace(materials, rules=tuple(r for r in materials.rules if r.path != "assetAccount"))
    (row,) = [r for r in rows(Documents(openapi_dir), forgetful) if r.path == "assetAccount"]
    assert row.how == NOT_COPIED


def test_a_rule_the_payload_model_cannot_honour_shows_as_not_copied(openapi_dir):
    wrong_model = dataclasses.replace(FIELD_MAPS["items"], model=PurchaseOrderCreate)
    table = {r.path: r for r in rows(Documents(openapi_dir), wrong_model)}
    assert table["costOfSaleAccount"].how == NOT_COPIED
    assert "has no such field" in table["costOfSaleAccount"].note


def test_a_rule_for_a_field_the_document_lacks_is_refused(openapi_dir):
    jobs = FIELD_MAPS["jobs"]
    typo = dataclasses.replace(jobs, rules=(*jobs.rules, dataclasses.replace(jobs.rules[0], path="soldByID")))
    try:
        rows(Documents(openapi_dir), typo)
    except ValueError as exc:
        assert "soldByID" in str(exc)
    else:
        raise AssertionError("a rule for a field the create request does not have was accepted")


def test_values_at_a_path_walk_lists_and_fall_back():
    po = {
        "items": [{"description": "", "skuCode": "CU-1"}, {"description": "Elbow", "skuCode": "CU-2"}],
        "shipTo": {"street": "1 Main St"},
    }
    assert values_at(po, "items[].description", fallback="skuCode") == ["CU-1", "Elbow"]
    assert values_at(po, "shipTo.street") == ["1 Main St"]
    assert values_at({"otherVendors": None}, "otherVendors[].vendorId") == []
