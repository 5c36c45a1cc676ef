"""The fields of a material and of a job, in the order the API sends them (after the id), with the values a record
created through the API starts with. The generator (specs_work.py, specs_jobs.py) and the create handlers
(writes_pricebook.py, writes_jpm.py) both start from here and replace what they draw or are sent."""

from __future__ import annotations


def material_fields(**fields: object) -> dict:
    """A material's fields: a new material's values, replaced by `fields`."""
    record = {
        "code": "",
        "displayName": None,
        "description": "",
        "cost": 0.0,
        "active": True,
        "price": 0.0,
        "memberPrice": 0.0,
        "addOnPrice": 0.0,
        "addOnMemberPrice": 0.0,
        "hours": 0.0,
        "bonus": 0.0,
        "commissionBonus": 0.0,
        "paysCommission": False,
        "deductAsJobCost": False,
        "unitOfMeasure": None,
        "isInventory": False,
        "account": None,
        "costOfSaleAccount": None,
        "assetAccount": None,
        "taxable": None,
        "primaryVendor": None,
        "otherVendors": None,
        "categories": [],
        "assets": [],
        "createdOn": None,
        "modifiedOn": None,
        "source": None,
        "externalId": None,
        "isConfigurableMaterial": False,
        "chargeableByDefault": True,
        "variationsOrConfigurableMaterials": [],
        "businessUnitId": None,
        "createdById": None,
        "displayInAmount": False,
        "generalLedgerAccountId": None,
        "isOtherDirectCost": False,
        "costTypeId": None,
        "defaultAssetUrl": None,
        "budgetCostCode": None,
        "budgetCostType": None,
    }
    record.update(fields)
    return record


def job_fields(**fields: object) -> dict:
    """A job's fields: a new job's values, replaced by `fields` (its number and invoice have no default)."""
    record = {
        "jobNumber": None,
        "projectId": None,
        "customerId": None,
        "locationId": None,
        "jobStatus": "Scheduled",
        "completedOn": None,
        "businessUnitId": None,
        "jobTypeId": None,
        "priority": None,
        "campaignId": None,
        "appointmentCount": 0,
        "firstAppointmentId": None,
        "lastAppointmentId": None,
        "recallForId": None,
        "warrantyId": None,
        "jobGeneratedLeadSource": None,
        "noCharge": False,
        "notificationsEnabled": True,
        "createdOn": None,
        "modifiedOn": None,
        "createdById": None,
        "tagTypeIds": [],
        "leadCallId": None,
        "partnerLeadCallId": None,
        "bookingId": None,
        "soldById": None,
        "customerPo": "",
        "invoiceId": None,
        "membershipId": None,
        "total": None,
        "createdFromEstimateId": None,
        "estimateIds": [],
        "summary": None,
        "customFields": [],
        "active": True,
    }
    record.update(fields)
    return record
