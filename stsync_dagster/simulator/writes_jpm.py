"""POST / PATCH jobs (200 with the full record) and POST appointments. A job's appointments and their
technician assignments are created with it."""

from __future__ import annotations

from .records import job_fields
from .shapes import APPOINTMENT_ADD, JOB_CREATE, JOB_UPDATE
from .store import Tenant
from .validate import API_USER_ID, Errors, external_data, not_found, require

KIND = "jobs"
PRIORITIES = ("Low", "Normal", "High", "Urgent")
REFERENCES = (("businessUnitId", "business-units"), ("jobTypeId", "job-types"), ("campaignId", "campaigns"))
ACTIVE_ONLY = ("jobTypeId", "campaignId")  # and an appointment's technicians (strict.inactive_references)


def _customer_and_location(errors: Errors, body: dict, record: dict) -> None:
    customer_id = errors.integer(body, "customerId") if "customerId" in body else record.get("customerId")
    location_id = errors.integer(body, "locationId") if "locationId" in body else record.get("locationId")
    if "customerId" in body:
        errors.ref("customers", "customerId", customer_id)
    location = (
        errors.ref("locations", "locationId", location_id) if "locationId" in body or "customerId" in body else None
    )
    if location is not None and customer_id is not None and location["customerId"] != customer_id:
        errors.add("locationId", f"Location {location_id} does not belong to customer {customer_id}")
    record["customerId"], record["locationId"] = customer_id, location_id


def _apply(errors: Errors, body: dict, record: dict) -> None:
    _customer_and_location(errors, body, record)
    for name, kind in REFERENCES:
        if name in body:
            value = errors.integer(body, name)
            (errors.active_ref if name in ACTIVE_ONLY else errors.ref)(kind, name, value)
            record[name] = value
    if "priority" in body:
        priority = errors.text(body, "priority")
        normalized = next((p for p in PRIORITIES if priority and p.lower() == priority.strip().lower()), None)
        if priority is not None and normalized is None:
            errors.add("priority", f"The priority '{priority}' is not valid: use one of {', '.join(PRIORITIES)}.")
        record["priority"] = normalized
    if "summary" in body:
        record["summary"] = errors.text(body, "summary")
    if "customerPo" in body:
        record["customerPo"] = errors.text(body, "customerPo") or ""
    if "tagTypeIds" in body:  # tag types are not modelled: any ids are accepted
        record["tagTypeIds"] = errors.id_list(body, "tagTypeIds")
    if "soldById" in body:
        record["soldById"] = errors.integer(body, "soldById")
    if "jobGeneratedLeadSource" in body:
        record["jobGeneratedLeadSource"] = body["jobGeneratedLeadSource"]
    if "customFields" in body:
        record["customFields"] = [
            {
                "typeId": errors.integer(field, "typeId", f"customFields[{i}].typeId"),
                "name": f"Custom field {field.get('typeId')}",
                "value": field.get("value") or "",
            }
            for i, field in enumerate(body.get("customFields") or [])
        ]


def _appointment(
    errors: Errors, tenant: Tenant, body: dict, field: str, job: dict, number: int, now: str
) -> tuple[dict, list[dict]]:
    def at(name: str) -> str:
        return f"{field}.{name}" if field else name

    start, end = errors.instant(body, "start", at("start")), errors.instant(body, "end", at("end"))
    if start and end and end < start:
        errors.add(at("end"), "The end must not be before the start.")
    technicians = []
    for k, technician_id in enumerate(errors.id_list(body, "technicianIds", at("technicianIds"))):
        technician = errors.active_ref("technicians", f"{at('technicianIds')}[{k}]", technician_id)
        if technician is not None:
            technicians.append(technician)
    window = (
        errors.instant(body, "arrivalWindowStart", at("arrivalWindowStart")),
        errors.instant(body, "arrivalWindowEnd", at("arrivalWindowEnd")),
    )
    errors.window(*window, at("arrivalWindowEnd"))
    appointment = {
        "id": tenant.new_id(),
        "jobId": job["id"],
        "appointmentNumber": f"{job['jobNumber']}-{number}",
        "start": start,
        "end": end,
        "arrivalWindowStart": window[0],
        "arrivalWindowEnd": window[1],
        "status": "Scheduled",
        "specialInstructions": errors.text(body, "specialInstructions"),
        "createdOn": now,
        "modifiedOn": now,
        "customerId": job["customerId"],
        "unused": False,
        "createdById": API_USER_ID,
        "isConfirmed": False,
        "active": True,
    }
    assignments = [
        {
            "id": tenant.new_id(),
            "technicianId": t["id"],
            "technicianName": t["name"],
            "assignedById": API_USER_ID,
            "assignedOn": now,
            "status": "Scheduled",
            "isPaused": False,
            "jobId": job["id"],
            "appointmentId": appointment["id"],
            "createdOn": now,
            "modifiedOn": now,
            "active": True,
        }
        for t in technicians
    ]
    return appointment, assignments


def create_job(tenant: Tenant, body: object) -> tuple[dict, str | None]:
    body = require(body, JOB_CREATE)
    errors = Errors(tenant)
    now = tenant.clock.stamp()
    job_id = tenant.new_id()
    record = {
        "id": job_id,
        **job_fields(
            jobNumber=str(job_id), createdOn=now, modifiedOn=now, createdById=API_USER_ID, invoiceId=tenant.new_id()
        ),
    }
    _apply(errors, body, record)
    if not isinstance(body["appointments"], list) or not body["appointments"]:
        errors.add("appointments", "At least one appointment is required.")
    created = [
        _appointment(errors, tenant, a, f"appointments[{i}]", record, i + 1, now)
        for i, a in enumerate(body["appointments"] if isinstance(body["appointments"], list) else [])
    ]
    stamp = external_data(errors, body)
    errors.raise_if_any()
    for appointment, assignments in created:
        tenant.insert("appointments", appointment)
        for assignment in assignments:
            tenant.insert("appointment-assignments", assignment)
    record.update(
        appointmentCount=len(created), firstAppointmentId=created[0][0]["id"], lastAppointmentId=created[-1][0]["id"]
    )
    tenant.insert(KIND, record)
    if stamp:
        tenant.set_external(KIND, job_id, stamp[0], stamp[1])
    return record, stamp[0] if stamp else None


def update_job(tenant: Tenant, job_id: int, body: object) -> tuple[dict, str | None]:
    body = require(body, JOB_UPDATE)
    record = tenant.get(KIND, job_id)
    if record is None:
        raise not_found(KIND, job_id)
    errors = Errors(tenant)
    changed = dict(record)
    _apply(errors, body, changed)
    stamp = external_data(errors, body, update=True)
    errors.raise_if_any()
    record.update(changed)
    tenant.touch(record)
    if stamp:
        tenant.set_external(KIND, job_id, stamp[0], stamp[1], merge=stamp[2])
    return record, stamp[0] if stamp else None


def add_appointment(tenant: Tenant, body: object) -> dict:
    body = require(body, APPOINTMENT_ADD)
    errors = Errors(tenant)
    job = errors.ref(KIND, "jobId", errors.integer(body, "jobId"))
    errors.raise_if_any()
    now = tenant.clock.stamp()
    appointment, assignments = _appointment(errors, tenant, body, "", job, job["appointmentCount"] + 1, now)
    errors.raise_if_any()
    tenant.insert("appointments", appointment)
    for assignment in assignments:
        tenant.insert("appointment-assignments", assignment)
    job.update(appointmentCount=job["appointmentCount"] + 1, lastAppointmentId=appointment["id"])
    tenant.touch(job)
    return appointment
