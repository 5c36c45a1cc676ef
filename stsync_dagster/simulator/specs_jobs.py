"""Production's jobs, with their appointments and the technicians assigned to them."""

from __future__ import annotations

from datetime import datetime, timedelta

from . import vocab
from .clock import iso
from .constants import FOREIGN_EXTERNAL_DATA_GUID
from .gaps import DELIBERATE_GAPS, MERGED_CUSTOMER
from .records import job_fields
from .specs_base import Ref, SpecBuilderBase


class JobSpecs(SpecBuilderBase):
    def jobs(self) -> None:
        gaps = DELIBERATE_GAPS
        customers, locations = self.keys("customers"), self.locations_of()
        units, campaigns = self.keys("business-units"), self.active_keys("campaigns")  # as job types, technicians
        job_types = self.active_keys("job-types")
        technicians = self.active_keys("technicians")
        forced = {
            0: {"customer": self.key_of("customers", gaps["missing"]["customers"][0])},
            1: {"jobType": self.key_of("job-types", gaps["missing"]["job-types"][0])},
            2: {"campaign": self.key_of("campaigns", gaps["duplicated"]["campaigns"][0])},
            3: {"technician": self.key_of("technicians", gaps["missing"]["technicians"][0])},
            4: {"customer": self.key_of("customers", MERGED_CUSTOMER)},
        }
        for i in range(self.sizes["jobs"]):
            force = forced.get(i, {})
            customer = force.get("customer") or self.rng.choice(customers)
            stamps = self.stamps(midnight=i == 5)
            created = datetime.fromisoformat(stamps["createdOn"])
            status = self.rng.choices(
                ("Scheduled", "Dispatched", "InProgress", "Hold", "Completed", "Canceled"), (30, 8, 7, 5, 40, 10)
            )[0]
            job = self.add(
                "jobs",
                job_fields(
                    jobNumber=str(52_000 + i),
                    customerId=customer,
                    locationId=self.rng.choice(locations[customer]),
                    jobStatus=status,
                    completedOn=iso(self.moment(created, self.until)) if status == "Completed" else None,
                    businessUnitId=self.rng.choice(units),
                    jobTypeId=force.get("jobType") or self.rng.choice(job_types),
                    priority=self.rng.choices(("Low", "Normal", "High", "Urgent"), (15, 60, 20, 5))[0],
                    campaignId=force.get("campaign") or self.rng.choice(campaigns),
                    noCharge=self.rng.random() < 0.05,
                    **stamps,
                    createdById=self.user(),
                    customerPo=f"PO-{self.rng.randint(1000, 9999)}" if self.rng.random() < 0.2 else "",
                    invoiceId=("invoices", i),
                    total=self.money(0, 4500) if status == "Completed" else None,
                    summary=self.job_summary(),
                    active=self.rng.random() > 0.03,
                ),
            )
            if i % 25 == 7:
                job["_external"] = {FOREIGN_EXTERNAL_DATA_GUID: [{"key": "crmId", "value": f"CRM-{i}"}]}
            self.appointments(job, created, status, technicians, force.get("technician"))

    def job_summary(self) -> str | None:
        roll = self.rng.random()
        if roll < 0.1:
            return None
        if roll < 0.13:
            return vocab.LONG_TEXT_UNIT * 25
        return self.awkward(0.3) or self.rng.choice(
            (
                "No cooling upstairs",
                "Annual maintenance",
                "Water heater leaking",
                "Breaker keeps tripping",
                "<p>Replace capacitor &amp; contactor</p>",
                "Kitchen sink backed up",
            )
        )

    def appointments(
        self, job: dict, created: datetime, status: str, technicians: list[Ref], forced_technician: Ref | None
    ) -> None:
        count = 1 if self.rng.random() < 0.7 else 2
        appointment_status = {
            "Completed": "Done",
            "Canceled": "Canceled",
            "InProgress": "Working",
            "Dispatched": "Dispatched",
            "Hold": "Hold",
        }.get(status, "Scheduled")
        keys = []
        for k in range(count):
            start = (created + timedelta(days=self.rng.randint(0, 10) + 7 * k)).replace(
                hour=self.rng.choice((13, 15, 17, 19)), minute=0, second=0, microsecond=0
            )
            has_window = self.rng.random() < 0.8
            appointment = self.add(
                "appointments",
                {
                    "jobId": job["key"],
                    "appointmentNumber": f"{job['jobNumber']}-{k + 1}",
                    "start": iso(start),
                    "end": iso(start + timedelta(hours=2)),
                    "arrivalWindowStart": iso(start) if has_window else None,
                    "arrivalWindowEnd": iso(start + timedelta(hours=4)) if has_window else None,
                    "status": appointment_status,
                    "specialInstructions": self.awkward(0.15),
                    "createdOn": job["createdOn"],
                    "modifiedOn": job["modifiedOn"],
                    "customerId": job["customerId"],
                    "unused": False,
                    "createdById": job["createdById"],
                    "isConfirmed": self.rng.random() < 0.5,
                    # A canceled job's appointments are canceled with it, and inactive (as change_record does).
                    "active": job["active"] and appointment_status != "Canceled",
                },
            )
            keys.append(appointment["key"])
            crew = self.rng.sample(technicians, min(len(technicians), 1 if self.rng.random() < 0.6 else 2))
            if forced_technician is not None and k == 0:
                crew = [forced_technician]
            for technician in crew:
                name = next(s["name"] for s in self.specs["technicians"] if s["key"] == technician)
                self.add(
                    "appointment-assignments",
                    {
                        "technicianId": technician,
                        "technicianName": name,
                        "assignedById": job["createdById"],
                        "assignedOn": job["createdOn"],
                        "status": {"Done": "Done", "Working": "Working", "Dispatched": "Dispatched"}.get(
                            appointment_status, "Scheduled"
                        ),
                        "isPaused": False,
                        "jobId": job["key"],
                        "appointmentId": appointment["key"],
                        "createdOn": job["createdOn"],
                        "modifiedOn": job["modifiedOn"],
                        "active": job["active"],
                    },
                )
        job.update(appointmentCount=count, firstAppointmentId=keys[0], lastAppointmentId=keys[-1])
