"""The filters each kind's selection may use (sync/select): the Production list filters ServiceTitan documents
for the kind (its OpenAPI documents; held to them by test_selection.py), and a few STSync applies alone where the
API has none (`param=False`). A reference may be given by the name of its master-data record."""

from __future__ import annotations

from stsync_dagster.sync.select.filters import ListFilter, reference

JOB_STATUSES = ("Scheduled", "Dispatched", "InProgress", "Hold", "Completed", "Canceled")
PRIORITIES = ("Low", "Normal", "High", "Urgent")
PO_STATUSES = ("Pending", "Sent", "PartiallyReceived", "Received", "Exported", "Canceled")

JOBS = (
    reference("businessUnitId", "business_units", "businessUnit"),
    reference("jobTypeId", "job_types", "jobType"),
    reference("campaignId", "campaigns", "campaign"),
    reference("customerId", "customers", "customer"),
    reference("locationId", "locations", "location"),
    reference("soldById", "technicians", "soldBy"),
    reference("technicianId", "technicians", "technician", field=None),  # on the job's appointments, not the job
    ListFilter("jobStatus", "enum", "jobStatus", values=JOB_STATUSES),
    ListFilter("priority", "enum", "priority", values=PRIORITIES),
    ListFilter("completedOnOrAfter", "after", "completedOn"),
    ListFilter("completedBefore", "before", "completedOn"),
)

POS = (
    reference("technicianId", "technicians", "technician"),
    ListFilter("jobId", "id", "jobId"),
    ListFilter("projectId", "id", "projectId"),
    ListFilter("status", "enum", "status", values=PO_STATUSES),
    ListFilter("dateOnOrAfter", "after", "date"),
    ListFilter("dateBefore", "before", "date"),
    ListFilter("sentOnOrAfter", "after", "sentOn"),
    ListFilter("sentBefore", "before", "sentOn"),
    # Not filters of the PO list (its OpenAPI document has no vendorId): STSync applies them to what it reads.
    reference("vendorId", "vendors", "vendor", param=False),
    reference("businessUnitId", "business_units", "businessUnit", param=False),
    reference("typeId", "po_types", "type", param=False),
    reference("inventoryLocationId", "warehouses", "warehouse", param=False),
)

_SKU_TEXT = ("code", "displayName", "description")

MATERIALS = (
    ListFilter("active", "bool", "active"),
    ListFilter("isOtherDirectCost", "bool", "isOtherDirectCost"),
    ListFilter("searchText", "text", searched=_SKU_TEXT),
)

EQUIPMENT = (
    ListFilter("active", "bool", "active"),
    ListFilter("searchText", "text", searched=_SKU_TEXT, param=False),  # the equipment list has no such filter
)
