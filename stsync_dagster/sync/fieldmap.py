"""What becomes of every field of a create request: copied from Production, translated through the crosswalk,
dropped for a stated reason, or without a read source to copy from.

One declaration per kind, read by three users: the read-back check (it compares Integration's record with
Production's, field by field, through the crosswalk), the count of references dropped in a run, and the
field-coverage table generated from the OpenAPI documents (stsync_dagster_tests/field_coverage.py).
Paths use the create request's names; `[]` steps into every element of a list: `items[].skuId`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable

from pydantic import BaseModel

from stsync_dagster.sync.entities.equipment import EQUIPMENT_FIELDS, EquipmentCreate
from stsync_dagster.sync.models import JobCreate, MaterialCreate, PurchaseOrderCreate

COPIED, TRANSLATED, DROPPED, NO_READ_SOURCE = "copied", "translated", "dropped", "no read source"
_NOT_LISTED = "the OpenAPI documents give no way to list {what} (no natural key to match them by): not copied"


@dataclass(frozen=True)
class FieldRule:
    path: str
    how: str
    read: str | None = None  # where both tenants' read shapes hold it, when not under `path`
    kind: str | None = None  # the crosswalk kind a translated id goes through
    note: str = ""  # why dropped / no read source; for a translated id, what happens to an unmatched one
    when: str | None = None  # a read flag: the field is copied only from records where it is true
    fallback: str | None = None  # a sibling read field copied when this one is empty
    marked: bool = False  # Integration's value ends with STSync's marker (a PO's memo)

    @property
    def read_path(self) -> str:
        return self.read or self.path


@dataclass(frozen=True)
class FieldMap:
    kind: str  # the sync entity: items, pos, jobs
    title: str
    document: str  # the OpenAPI document and create-request schema the rules cover
    schema: str
    model: type[BaseModel]  # the payload model STSync sends
    rules: tuple[FieldRule, ...]

    def rule(self, path: str) -> FieldRule | None:
        """The rule for a field, or for the nearest enclosing field a rule covers whole (externalData)."""
        while path:
            for rule in self.rules:
                if rule.path == path:
                    return rule
            path = path.rpartition(".")[0]
        return None

    def compared(self) -> list[FieldRule]:
        return [r for r in self.rules if r.how in (COPIED, TRANSLATED)]


def _c(path: str, **kw) -> FieldRule:
    return FieldRule(path, COPIED, **kw)


def _t(path: str, kind: str, note: str = "", **kw) -> FieldRule:
    return FieldRule(path, TRANSLATED, kind=kind, note=note, **kw)


def _dropped(path: str, note: str, **kw) -> FieldRule:
    return FieldRule(path, DROPPED, note=note, **kw)


def _no_source(path: str, note: str) -> FieldRule:
    return FieldRule(path, NO_READ_SOURCE, note=note)


_OPTIONAL = "optional: one without an Integration counterpart is left out, counted as dropped"
_STAMP = _dropped(
    "externalData",
    "holds STSync's own stamp (the Production id); Production's externalData belong to other applications",
)


def _vendor_rules(prefix: str) -> list[FieldRule]:
    return [
        _t(f"{prefix}.vendorId", "vendors", "without a counterpart: the reference policy (default: dropped)"),
        *(_c(f"{prefix}.{name}") for name in ("memo", "vendorPart", "cost", "active")),
        _c(f"{prefix}.primarySubAccount.cost"),
        _c(f"{prefix}.primarySubAccount.accountName"),
        _c(f"{prefix}.otherSubAccounts[].cost"),
        _c(f"{prefix}.otherSubAccounts[].accountName"),
    ]


MATERIAL = FieldMap(
    "items", "material", "pricebook-v2.json", "Pricebook.V2.MaterialCreateRequest", MaterialCreate,
    (
        *(_c(name) for name in (
            "code", "displayName", "description", "cost", "active", "price", "memberPrice", "addOnPrice",
            "addOnMemberPrice", "hours", "bonus", "commissionBonus", "paysCommission", "deductAsJobCost",
            "unitOfMeasure", "isInventory", "account", "costOfSaleAccount", "assetAccount", "taxable",
            "isConfigurableMaterial", "chargeableByDefault", "isOtherDirectCost", "budgetCostCode", "budgetCostType",
        )),
        _no_source("intacctGlGroupAccount", "not in the material's read shape"),
        *_vendor_rules("primaryVendor"),
        *_vendor_rules("otherVendors[]"),
        *(_c(f"assets[].{name}") for name in ("type", "alias", "url", "isDefault")),
        _t("categories", "categories", "matched by name; " + _OPTIONAL),
        _t("variationMaterials", "items", "the variations are copied first; " + _OPTIONAL,
           read="variationsOrConfigurableMaterials", when="isConfigurableMaterial"),
        _dropped("costTypeId", _NOT_LISTED.format(what="cost types")),
        _STAMP,
    ),
)  # fmt: skip

_ADDRESS = ("street", "unit", "city", "state", "zip", "country")
PURCHASE_ORDER = FieldMap(
    "pos", "purchase order", "inventory-v2.json", "Inventory.V2.CreatePurchaseOrderRequest", PurchaseOrderCreate,
    (
        _t("vendorId", "vendors", "required: no counterpart blocks the PO"),
        _t("typeId", "po_types", "required: no counterpart blocks the PO"),
        _t("businessUnitId", "business_units", "required: no counterpart blocks the PO"),
        _t("inventoryLocationId", "warehouses", "required: no counterpart blocks the PO"),
        _t("jobId", "jobs", "the job is copied first"),
        _t("technicianId", "technicians", "the config's `references` policy decides (as shipped: `drop`, " + _OPTIONAL + ")"),
        _dropped("projectId", _NOT_LISTED.format(what="projects")),
        _dropped("budgetCodeId", _NOT_LISTED.format(what="budget codes")),
        _no_source("shipTo.description", "the read shape has the address only: Production's street and city are sent"),
        *(_c(f"shipTo.address.{name}", read=f"shipTo.{name}") for name in _ADDRESS),
        _c("vendorInvoiceNumber", read="vendorDocumentNumber"),
        _no_source("impactsTechnicianPayroll", "not in the purchase order's read shape: sent as false"),
        _c("memo", read="summary", note="with STSync's marker as its last line", marked=True),
        _c("date"),
        _c("requiredOn", fallback="date"),
        _c("tax"),
        _c("shipping"),
        _t("items[].skuId", "items|equipment", "the material or equipment (its skuType says which) is copied first"),
        _c("items[].description", fallback="skuCode"),
        _c("items[].vendorPartNumber"),
        _c("items[].quantity"),
        _c("items[].cost"),
        _dropped("items[].budgetCodeId", _NOT_LISTED.format(what="budget codes")),
    ),
)  # fmt: skip

_APPOINTMENTS = "read from the appointments and their assignments"
JOB = FieldMap(
    "jobs", "job", "jpm-v2.json", "Jpm.V2.JobCreateRequest", JobCreate,
    (
        _t("customerId", "customers", "required: no counterpart blocks the job"),
        _t("locationId", "locations", "required: no counterpart blocks the job"),
        _dropped("projectId", _NOT_LISTED.format(what="projects")),
        _t("businessUnitId", "business_units", "required: no counterpart blocks the job"),
        _t("jobGeneratedLeadSource.jobId", "jobs", "the job it was generated from is copied first; " + _OPTIONAL),
        _t("jobGeneratedLeadSource.employeeId", "technicians",
           "a technician; an office user (users cannot be listed) or an unmatched technician is left out, counted"),
        _t("jobTypeId", "job_types", "required: no counterpart blocks the job"),
        _c("priority"),
        _t("campaignId", "campaigns", "required: no counterpart blocks the job"),
        *(_c(f"appointments[].{name}", note=_APPOINTMENTS)
          for name in ("start", "end", "arrivalWindowStart", "arrivalWindowEnd")),
        _t("appointments[].technicianIds", "technicians",
           "the config's `references` policy decides (as shipped: `drop`); " + _APPOINTMENTS),
        _c("summary"),
        _dropped("customFields", _NOT_LISTED.format(what="custom field types")),
        _dropped("tagTypeIds", _NOT_LISTED.format(what="tag types")),
        _STAMP,
        _no_source("invoiceSignatureIsRequired", "not in the job's read shape: left to the location's and job type's rules"),
        _c("customerPo"),
        _t("soldById", "technicians", _OPTIONAL),
        _dropped("partnerLeadCallId", _NOT_LISTED.format(what="calls")),
        _no_source("leadId", "not in the job's read shape (it has leadCallId, a call)"),
        _dropped("bookingId", _NOT_LISTED.format(what="bookings")),
    ),
)  # fmt: skip

# The cut-down OpenAPI documents have no equipment schema (API.md: a [client] endpoint): its map is STSync's
# request model, compared by the read-back check, not part of the generated coverage table.
EQUIPMENT = FieldMap(
    "equipment", "equipment", "", "EquipmentCreate", EquipmentCreate,
    (
        *(_c(name) for name in ("code", "description", *EQUIPMENT_FIELDS)),
        *(rule for prefix in ("primaryVendor", "otherVendors[]") for rule in _vendor_rules(prefix)
          if "SubAccount" not in rule.path),
        _STAMP,
    ),
)  # fmt: skip

DOCUMENTED_MAPS: dict[str, FieldMap] = {m.kind: m for m in (MATERIAL, PURCHASE_ORDER, JOB)}
FIELD_MAPS: dict[str, FieldMap] = {**DOCUMENTED_MAPS, EQUIPMENT.kind: EQUIPMENT}


# ---- values at a path ------------------------------------------------------------------------------------


def values_at(record: Any, path: str, fallback: str | None = None) -> list:
    """The values at `path`, one per element of every list on the way (`items[].cost`: one per line)."""
    head, _, rest = path.partition(".")
    many = head.endswith("[]")
    name = head[:-2] if many else head
    if not isinstance(record, dict):
        return [None]
    value = record.get(name)
    if not rest:
        if fallback is not None and value in (None, ""):
            value = record.get(fallback)
        return list(value or []) if many else [value]
    if many:
        return [v for element in value or [] for v in values_at(element, rest, fallback)]
    return values_at(value, rest, fallback)


def references(values: Iterable) -> list:
    """The ids among values (lists flattened, empty ones left out)."""
    out = []
    for value in values:
        if isinstance(value, list):
            out.extend(v for v in value if v not in (None, ""))
        elif value not in (None, "", [], {}):
            out.append(value)
    return out


def applies(rule: FieldRule, record: dict) -> bool:
    return rule.when is None or bool(record.get(rule.when))


def dropped_references(field_map: FieldMap, prod_raw: dict, body: dict) -> dict[str, int]:
    """Per field, how many of the Production record's values the request leaves out: a dropped field's every
    value, an optional reference's unmatched ones."""
    out = {}
    for rule in field_map.rules:
        if rule.how not in (DROPPED, TRANSLATED) or rule is _STAMP or not applies(rule, prod_raw):
            continue
        held = len(references(values_at(prod_raw, rule.read_path)))
        sent = len(references(values_at(body, rule.path))) if rule.how == TRANSLATED else 0
        if held > sent:
            out[rule.path] = held - sent
    return out
