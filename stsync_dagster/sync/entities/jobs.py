"""Jobs, with their appointments and the technicians assigned to them."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Iterable

from stsync_dagster.sync.adoption import key_part
from stsync_dagster.sync.entities import selectable
from stsync_dagster.sync.entities.base import EntityHandler
from stsync_dagster.sync.models import (
    AppointmentCreate,
    JobCreate,
    LeadSourceCreate,
    SourceAppointment,
    SourceAssignment,
    SourceJob,
)
from stsync_dagster.sync.outcome import Invalid
from stsync_dagster.sync.policy import references
from stsync_dagster.sync.references import Ref, RefMap
from stsync_dagster.sync.stamps import external_data
from stsync_dagster.sync.timefmt import rfc3339


_ANY = {"active": "Any"}  # a canceled job's appointments are inactive, and hidden by default


@dataclass(frozen=True)
class Visit:
    appointment: SourceAppointment
    technician_ids: tuple[int, ...]


def _opt(value) -> str | None:
    return rfc3339(value) if value is not None else None


# The statuses that can be replayed (each by its own call); the others (Dispatched, InProgress) are the
# technicians' doing and count as open.
_FOLLOWED = ("Canceled", "Hold", "Completed")


def _status(value: str | None) -> str:
    return value if value in _FOLLOWED else "Open"


def _lead_source(job: SourceJob, refs: RefMap) -> LeadSourceCreate | None:
    source = job.jobGeneratedLeadSource
    if source is None:
        return None
    job_id, employee_id = refs.optional("jobs", source.jobId), refs.optional("technicians", source.employeeId)
    return LeadSourceCreate(jobId=job_id, employeeId=employee_id) if (job_id, employee_id) != (None, None) else None


class JobsHandler(EntityHandler):
    kind = "jobs"
    filters = selectable.JOBS
    model = SourceJob
    key_refs = {"customerId": "customers"}
    reference_fields = references(
        required={
            "customerId": "customers",
            "locationId": "locations",
            "businessUnitId": "business_units",
            "jobTypeId": "job_types",
            "campaignId": "campaigns",
        },
        optional={"appointments.technicianIds": "technicians", "soldById": "technicians"},
    )
    not_updatable = frozenset({"externalData", "appointments"})  # appointments have their own endpoints
    not_read_back = frozenset({"externalData", "appointments"})  # their own resource
    initial_status = "Open"  # a new job starts Scheduled

    _TIMES = ("start", "end", "arrivalWindowStart", "arrivalWindowEnd")

    def followed_view(self, body: dict) -> dict:
        visits = [{k: a.get(k) for k in self._TIMES} for a in body.get("appointments") or []]
        return {**self.update_view(body), "appointments": visits}

    def read_related(self, intc, int_records: list[dict]) -> dict[int, list[dict]]:
        """The copies' appointments (first and last of each job, 50 per call; a copy has what STSync sent)."""
        wanted = {i for r in int_records for i in (r.get("firstAppointmentId"), r.get("lastAppointmentId")) if i}
        by_job: dict[int, list[dict]] = defaultdict(list)
        for raw in intc.get_by_ids(self.config.related.appointments, sorted(wanted), params=_ANY):
            by_job[int(raw["jobId"])].append(raw)
        return {job: sorted(appts, key=lambda a: a["id"]) for job, appts in by_job.items()}

    def follow_steps(self, body: dict, int_record: dict, related: dict[int, list[dict]]) -> list[tuple]:
        """A visit rescheduled in Production: PATCH …/appointments/{id}/reschedule (visits matched in order)."""
        steps = []
        held = related.get(int(int_record["id"]), [])
        for want, have in zip(body.get("appointments") or [], held):
            if any(key_part(want.get(k)) != key_part(have.get(k)) for k in self._TIMES if want.get(k)):
                steps.append(("reschedule", {k: want[k] for k in self._TIMES if want.get(k)}, int(have["id"])))
        return steps

    def read_back_view(self, client, raws: list[dict]) -> dict[int, dict]:
        """Each job with its visits as STSync copies them (read from the tenant `client` reads)."""
        jobs = [SourceJob.model_validate(r) for r in raws]
        visits = self._visits(jobs, client)
        return {
            int(r["id"]): {**r, "appointments": [
                {**{k: _opt(getattr(v.appointment, k)) for k in self._TIMES}, "technicianIds": list(v.technician_ids)}
                for v in visits.get(int(r["id"]), [])
            ]}
            for r in raws
        }  # fmt: skip

    def desired_status(self, job: SourceJob) -> str:
        return _status(job.jobStatus)

    def current_status(self, int_record: dict) -> str:
        return _status(int_record.get("jobStatus"))

    def status_steps(self, job: SourceJob, target: str, current: str) -> list[tuple[str, dict]]:
        if target == current:
            return []
        steps: list[tuple[str, dict]] = []
        if current == "Canceled":
            steps.append(("remove_cancellation", {}))
        elif current != "Open":
            return []  # off hold or un-completed: the API has no such call
        memo = "Copied from Production by STSync"
        if target == "Canceled":
            steps.append(("cancel", {"memo": memo}))
        elif target == "Hold":
            steps.append(("hold", {"memo": memo}))
        elif target == "Completed":
            completed = (job.model_extra or {}).get("completedOn") or rfc3339(job.modifiedOn)
            steps.append(("complete", {"completedOn": completed}))
        return steps

    def needs(self, jobs: list[SourceJob]) -> dict[str, set[int]]:
        """The jobs these were generated from (they may have to wait for the creates in flight)."""
        return {"jobs": {j.jobGeneratedLeadSource.jobId for j in jobs if j.jobGeneratedLeadSource} - {None}}

    def prepare(self, jobs: list[SourceJob], prod) -> dict[int, list[Visit]]:
        """The page's appointments and their technician assignments."""
        return self._visits(jobs, prod)

    def _visits(self, jobs: list[SourceJob], prod) -> dict[int, list[Visit]]:
        """The page's appointments by ids (batched), then their technician assignments."""
        related = self.config.related
        wanted = {i for job in jobs for i in (job.firstAppointmentId, job.lastAppointmentId) if i}
        appointments = [
            SourceAppointment.model_validate(a)
            for a in prod.get_by_ids(related.appointments, sorted(wanted), params=_ANY)
        ]
        by_job: dict[int, dict[int, SourceAppointment]] = defaultdict(dict)
        for appt in appointments:
            by_job[appt.jobId][appt.id] = appt
        # first/last only cover jobs with at most two appointments; ask for the rest job by job.
        more = [job.id for job in jobs if job.appointmentCount > len(by_job[job.id])]
        for job_id, raws in zip(more, prod.list_each(related.appointments, [{"jobId": i, **_ANY} for i in more])):
            for raw in raws:
                appt = SourceAppointment.model_validate(raw)
                by_job[job_id][appt.id] = appt
        appointment_ids = sorted(a for visits in by_job.values() for a in visits)
        technicians: dict[int, list[int]] = defaultdict(list)
        for raw in prod.get_by_ids(related.appointment_assignments, appointment_ids, id_param="appointmentIds"):
            assignment = SourceAssignment.model_validate(raw)
            if assignment.active:
                technicians[assignment.appointmentId].append(assignment.technicianId)
        visits = {}
        for job in jobs:
            appts = sorted(by_job[job.id].values(), key=lambda a: (a.start, a.id))
            # A canceled job's appointments are all inactive; they still give the visit its times.
            kept = [a for a in appts if a.active] or appts
            visits[job.id] = [Visit(a, tuple(sorted(set(technicians[a.id])))) for a in kept]
        return visits

    def references(self, job: SourceJob, visits: dict[int, list[Visit]]) -> Iterable[Ref]:
        yield Ref("customerId", "customers", job.customerId)
        yield Ref("locationId", "locations", job.locationId)
        yield Ref("businessUnitId", "business_units", job.businessUnitId)
        yield Ref("jobTypeId", "job_types", job.jobTypeId)
        yield Ref("campaignId", "campaigns", job.campaignId)
        for i, visit in enumerate(visits.get(job.id, [])):
            for tech in visit.technician_ids:
                yield Ref(f"appointments[{i}].technicianIds", "technicians", tech)
        # Optional references, left out (and counted) when they have no Integration counterpart.
        if job.soldById is not None:
            yield Ref("soldById", "technicians", job.soldById)
        source = job.jobGeneratedLeadSource
        if source is not None and source.jobId is not None:
            yield Ref("jobGeneratedLeadSource.jobId", "jobs", source.jobId)
        if source is not None and source.employeeId is not None:  # a technician, or an office user (not listed)
            yield Ref("jobGeneratedLeadSource.employeeId", "technicians", source.employeeId)

    def build(self, job: SourceJob, refs: RefMap, visits: dict[int, list[Visit]]) -> JobCreate:
        job_visits = visits.get(job.id, [])
        if not job_visits:
            raise Invalid("appointments", "the Integration API requires at least one; the Production job has none")

        def ref(field: str, kind: str, prod_id: int) -> int | None:
            return refs.get(Ref(field, kind, prod_id))

        appointments = [
            AppointmentCreate(
                start=rfc3339(v.appointment.start),
                end=rfc3339(v.appointment.end),
                arrivalWindowStart=_opt(v.appointment.arrivalWindowStart),
                arrivalWindowEnd=_opt(v.appointment.arrivalWindowEnd),
                technicianIds=[
                    tid
                    for t in v.technician_ids
                    if (tid := ref(f"appointments[{i}].technicianIds", "technicians", t)) is not None
                ]  # a technician without counterpart is dropped (the reference's policy), unless it blocks
                or None,
            )
            for i, v in enumerate(job_visits)
        ]
        # Tags, custom fields and projects: their types cannot be listed to be matched (see the field coverage).
        return JobCreate(
            customerId=ref("customerId", "customers", job.customerId),
            locationId=ref("locationId", "locations", job.locationId),
            businessUnitId=ref("businessUnitId", "business_units", job.businessUnitId),
            jobTypeId=ref("jobTypeId", "job_types", job.jobTypeId),
            campaignId=ref("campaignId", "campaigns", job.campaignId),
            priority=job.priority,
            appointments=appointments,
            summary=job.summary,
            customerPo=job.customerPo or None,
            soldById=refs.get(Ref("soldById", "technicians", job.soldById)) if job.soldById is not None else None,
            jobGeneratedLeadSource=_lead_source(job, refs),
            externalData=external_data(self.guid, job.id),
        )
