"""Deliberate differences between the tenants, named so tests can assert on them."""

from __future__ import annotations

from collections.abc import Mapping

# Present in Production, absent from Integration ("missing"), or present twice in Integration ("duplicated").
DELIBERATE_GAPS: Mapping[str, Mapping[str, tuple[str, ...]]] = {
    "missing": {
        "vendors": ("Gulf Coast Refrigerant Supply",),
        "customers": ("Harborview Dental Group",),
        "job-types": ("Water Heater Flush",),
        "technicians": ("Dmitri Volkov",),
    },
    "duplicated": {"campaigns": ("Spring Tune-Up Mailer",)},
}
# A Production customer merged into another one (inactive, mergedToId set); present in both tenants.
MERGED_CUSTOMER = "Riverside Dental Group (old account)"
