"""Schemathesis over the simulator's GET operations, against ServiceTitan's OpenAPI documents (../shared).

Every GET the simulator serves that the documents describe (lists, exports, reads by id) is called with
requests schemathesis generates from its parameters: valid ones, and ones that break the schema (a date that is
none, a boolean that is none, a value outside an enum…). Each answer must be a documented status (200, or a 400
for what the parameters' types refuse) in the document's response schema, and never a server error.

Bounds, so that this takes seconds (about 11 s alone, 25 s beside the other simulator tests on 2 cores): a few
examples per operation, derandomized (the same requests every run), only the simulator's operations, the
simulator on loopback with no rate limit. The tenant in the path is the
simulator's (another tenant is a 404 the documents do not list), and the id of a read by id one of the kind's
records (picked by the generated id), so that reads answer records to check rather than 404s.

Left out on purpose: schemathesis' `negative_data_rejection`. ASP.NET, as the API, ignores query parameters it
does not know and takes an empty value of a nullable parameter as absent, where that check expects a 4xx; and the
path parameters are set here, not generated. test_simulator_filters.py checks every typed filter's 400 instead.
"""

from __future__ import annotations

import json
import re
import zlib
from pathlib import Path

import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from stsync_dagster.simulator import APP_KEY, PROD_TENANT_ID, Simulator
from stsync_dagster.simulator.routes import API
from stsync_dagster_tests.test_simulator import token
from stsync_dagster_tests.test_simulator_openapi import DOCS

EXAMPLES = 8  # per operation and generation mode
CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance, content_type_conformance]
# .NET writes a TimeSpan (technicians' shiftStart/shiftEnd) as "07:00:00"; the documents call it
# `format: duration`, which JSON Schema reads as ISO 8601 ("PT7H"). The test holds answers to .NET's form.
TIMESPAN = r"^-?(\d+\.)?\d{2}:\d{2}:\d{2}(\.\d{1,7})?$"


def served_gets() -> set[tuple[str, str]]:
    """(domain, document path) of every GET the simulator serves."""
    return {
        (domain, "/tenant/{tenant}/" + re.sub(r"\{id:int\}", "{id}", res)) for m, domain, res, _ in API if m == "GET"
    }


def _timespans(node):
    if isinstance(node, dict):
        if node.get("format") == "duration":
            node.pop("format")
            node["pattern"] = TIMESPAN
        for value in node.values():
            _timespans(value)
    elif isinstance(node, list):
        for value in node:
            _timespans(value)
    return node


def load(openapi_dir: Path, domain: str):
    return schemathesis.openapi.from_dict(_timespans(json.loads((openapi_dir / DOCS[domain]).read_text())))


def run(operation, mode, ids: list[int], base_url: str, headers: dict, failures: list[str]) -> int:
    """EXAMPLES generated requests of `operation` in `mode`; each failure appended to `failures`. Returns the count."""
    calls = 0

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def call(case):
        nonlocal calls
        case.path_parameters["tenant"] = PROD_TENANT_ID
        if ids:
            case.path_parameters["id"] = ids[zlib.crc32(str(case.path_parameters.get("id")).encode()) % len(ids)]
        response = case.call(base_url=base_url, headers=headers, timeout=30)
        calls += 1
        try:
            case.validate_response(response, checks=CHECKS)
        except BaseException as error:  # one line per failing request, all of them reported
            failures.append(f"{mode.value} GET {operation.path} {case.query}: {error}"[:3000])

    call()
    return calls


def test_schemathesis_over_the_simulators_get_operations(openapi_dir):
    served, failures, operations, calls = served_gets(), [], 0, 0
    with Simulator(seed=7, scale=0.1, rate_limit=None).start() as sim:
        headers = {"Authorization": f"Bearer {token(sim, 'prod')}", "ST-App-Key": APP_KEY}
        for domain in DOCS:
            for result in load(openapi_dir, domain).get_all_operations():
                operation = result.ok()
                if operation.method != "get" or (domain, operation.path) not in served:
                    continue
                operations += 1
                kind = operation.path.split("/")[3] if operation.path.endswith("{id}") else None
                ids = [r["id"] for r in sim.records("prod", kind)] if kind else []
                base_url = f"{sim.url}/prod/{domain}/v2"

                for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                    calls += run(operation, mode, ids, base_url, headers, failures)
    assert operations >= 30, f"only {operations} operations found in the documents"
    assert calls >= operations * 2
    assert failures == [], "\n\n".join(failures[:10])
