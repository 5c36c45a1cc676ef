"""Status changes: a job canceled, its cancellation removed, put on hold, completed; a purchase order canceled;
an appointment rescheduled. Paths and bodies as ServiceTitan's full specs have them (API.md, "Beyond create":
jobs' cancel and remove-cancellation in the current generated client, hold and complete in an older one).
The jobs' and appointments' calls answer 200 with no body, a PO's cancellation 200 {"id"} (its document says
so); a change the record's status does not allow is a 400."""

from __future__ import annotations

from .problems import ApiError
from .shapes import PO_CANCEL, Shape
from .store import Tenant
from .validate import Errors, not_found, require

JOB_REASON = Shape("Jpm.V2.JobReasonRequest", ("reasonId",))
JOB_COMPLETE = Shape("Jpm.V2.CompleteJobRequest", ("completedOn",))
RESCHEDULE = Shape("Jpm.V2.AppointmentRescheduleRequest", ("start", "end"))
PO_CANCELED_REASONS = ("NotRequired", "Duplicate", "Accidental", "VendorIssue", "Other", "JobCanceled")
# The same names in both tenants (each with its own ids): STSync matches them by name.
CANCEL_REASONS = ("Customer canceled", "Duplicate job", "Scheduling conflict")
HOLD_REASONS = ("Waiting on parts", "Customer request", "Weather")


def _job(tenant: Tenant, job_id: int) -> dict:
    job = tenant.get("jobs", job_id)
    if job is None:
        raise not_found("jobs", job_id)
    return job


def _refuse(what: str, job: dict) -> ApiError:
    return ApiError(
        400,
        f"Job {job['id']} cannot be {what}: it is {job['jobStatus']}.",
        {"jobStatus": [f"The job is {job['jobStatus']}."]},
    )


def _reason(tenant: Tenant, body: object, kind: str) -> dict:
    body = require(body, JOB_REASON)
    errors = Errors(tenant)
    errors.ref(kind, "reasonId", errors.integer(body, "reasonId"))
    errors.raise_if_any()
    return body


def _appointments(tenant: Tenant, job: dict, status: str, active: bool) -> None:
    for appointment in tenant.all("appointments"):
        if appointment["jobId"] == job["id"]:
            appointment.update(status=status, active=active)
            tenant.touch(appointment)


def _set_status(
    tenant: Tenant,
    job: dict,
    status: str,
    what: str,
    *,
    refused_from: tuple[str, ...] = (),
    only_from: str | None = None,
    appointments: tuple[str, bool] | None = None,
    **also,
) -> None:
    """Move the job to `status` (refused, as becoming `what`, from the statuses that do not allow it), its
    appointments to (status, active) when given."""
    if job["jobStatus"] in refused_from or (only_from is not None and job["jobStatus"] != only_from):
        raise _refuse(what, job)
    job.update(jobStatus=status, **also)
    if appointments is not None:
        _appointments(tenant, job, *appointments)
    tenant.touch(job)


def cancel_job(tenant: Tenant, job_id: int, body: object) -> None:
    job = _job(tenant, job_id)
    _reason(tenant, body, "job-cancel-reasons")
    _set_status(
        tenant, job, "Canceled", "canceled", refused_from=("Canceled", "Completed"), appointments=("Canceled", False)
    )


def remove_cancellation(tenant: Tenant, job_id: int, _body: object) -> None:
    _set_status(
        tenant, _job(tenant, job_id), "Scheduled", "un-canceled", only_from="Canceled", appointments=("Scheduled", True)
    )


def hold_job(tenant: Tenant, job_id: int, body: object) -> None:
    job = _job(tenant, job_id)
    _reason(tenant, body, "job-hold-reasons")
    _set_status(tenant, job, "Hold", "put on hold", refused_from=("Canceled", "Completed", "Hold"))


def complete_job(tenant: Tenant, job_id: int, body: object) -> None:
    job = _job(tenant, job_id)
    body = require(body, JOB_COMPLETE)
    errors = Errors(tenant)
    completed_on = errors.instant(body, "completedOn")
    errors.raise_if_any()
    _set_status(
        tenant,
        job,
        "Completed",
        "completed",
        refused_from=("Canceled", "Completed"),
        appointments=("Done", True),
        completedOn=completed_on,
    )


def cancel_purchase_order(tenant: Tenant, po_id: int, body: object) -> dict:
    po = tenant.get("purchase-orders", po_id)
    if po is None:
        raise not_found("purchase-orders", po_id)
    body = require(body, PO_CANCEL)
    if body.get("canceledReason") is not None and body["canceledReason"] not in PO_CANCELED_REASONS:
        raise ApiError(
            400,
            "The canceled reason is not valid.",
            {"canceledReason": [f"Use one of {', '.join(PO_CANCELED_REASONS)}."]},
        )
    if po["status"] in ("Canceled", "Received", "Exported"):
        raise ApiError(
            400,
            f"Purchase order {po_id} cannot be canceled: it is {po['status']}.",
            {"status": [f"The purchase order is {po['status']}."]},
        )
    # Kept, but not part of PurchaseOrderResponse (store.py leaves `_` fields out of every answer).
    po.update(status="Canceled", _canceledReason=body.get("canceledReason"))
    tenant.touch(po)
    return {"id": po_id}  # ModificationResponse, as the document says


def reschedule_appointment(tenant: Tenant, appointment_id: int, body: object) -> None:
    appointment = tenant.get("appointments", appointment_id)
    if appointment is None:
        raise not_found("appointments", appointment_id)
    body = require(body, RESCHEDULE)
    errors = Errors(tenant)
    start, end = errors.instant(body, "start"), errors.instant(body, "end")
    if start and end and end < start:
        errors.add("end", "The end must not be before the start.")
    windows = {name: errors.instant(body, name) for name in ("arrivalWindowStart", "arrivalWindowEnd") if name in body}
    errors.window(
        windows.get("arrivalWindowStart", appointment.get("arrivalWindowStart")),
        windows.get("arrivalWindowEnd", appointment.get("arrivalWindowEnd")),
        "arrivalWindowEnd",
    )
    errors.raise_if_any()
    appointment.update(start=start, end=end, **windows)
    tenant.touch(appointment)
