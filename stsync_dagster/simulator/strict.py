"""Rules ServiceTitan likely enforces that neither its OpenAPI documents nor API.md state: each one a knob,
on by default, so STSync is tested against an API that enforces it and one that does not.

(What the documents do say is always enforced: required fields, references within the tenant, a PO line's SKU
"any active material or equipment", an appointment not ending before it starts.)
"""

from __future__ import annotations

import dataclasses
import threading
from dataclasses import dataclass


@dataclass
class Strictness:
    inactive_references: bool = True  # a job's job type and campaign, an appointment's technicians: active ones
    empty_required: bool = True  # a required code, name or description: not empty or blank
    window_order: bool = True  # an arrival window does not end before it starts
    negative_quantities: bool = True  # a PO line's quantity is not negative
    _lock: threading.Lock = dataclasses.field(default_factory=threading.Lock, repr=False, compare=False)

    @classmethod
    def rules(cls) -> tuple[str, ...]:
        return tuple(f.name for f in dataclasses.fields(cls) if not f.name.startswith("_"))

    def update(self, **fields: bool) -> None:
        unknown = set(fields) - set(self.rules())
        if unknown:
            raise ValueError(f"unknown strictness rules {sorted(unknown)} (known: {', '.join(self.rules())})")
        with self._lock:
            for name, value in fields.items():
                setattr(self, name, bool(value))
