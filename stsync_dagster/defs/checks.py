"""Asset checks of the sync assets that read only the crosswalk and Integration, so they also run alone (the
UI's "Execute" on a check): records failed or blocked now, blocked too long, and crosswalk integrity.

They are one multi-asset check (one step, whichever of its checks are selected), run after the assets they
check when those are in the run. `read_back_fidelity` needs the run's own creates: it is reported by the asset.
"""

from contextlib import nullcontext

import dagster as dg

from stsync_dagster.config import SYNC_ENTITIES
from stsync_dagster.defs.config_file import ConfigFileResource
from stsync_dagster.defs.logs import engine_logs
from stsync_dagster.defs.metadata import lines_table, masked, table
from stsync_dagster.defs.resources import CrosswalkResource, IntegrationResource
from stsync_dagster.servicetitan.redact import Redactor, redacting
from stsync_dagster.sync.checks import CheckOutcome, blocked_too_long, crosswalk_integrity, open_issues
from stsync_dagster.sync.entities import HANDLERS

ERROR, WARN = dg.AssetCheckSeverity.ERROR, dg.AssetCheckSeverity.WARN

STANDALONE_CHECKS = {
    "failed_records": (
        ERROR,
        "Fails listing the records whose copy failed (with the API's message or the invalid "
        "field) and that no later run has copied yet.",
    ),
    "blocked_records": (
        WARN,
        "Warns listing the records blocked by a reference with no Integration counterpart "
        "(which reference, and why), until a run copies them.",
    ),
    "blocked_too_long": (WARN, "Warns about records blocked for more than STSYNC_BLOCKED_WARN_DAYS days (default 7)."),
    "deferred_records": (
        WARN,
        "Warns listing the records left deferred (a run limit, a claim of another run, a lost answer): the next "
        "run copies them.",
    ),
    "crosswalk_integrity": (ERROR, "A random sample of the crosswalk's Integration ids still holds its record."),
}
ISSUE_ROW_COLUMNS = {"prod_id": "int", "since": "string", "reason": "string", "detail": "string"}


def check_result(
    asset: str, name: str, outcome: CheckOutcome, severity: dg.AssetCheckSeverity, mask: Redactor
) -> dg.AssetCheckResult:
    metadata: dict = {"checked": dg.MetadataValue.int(outcome.checked)}
    if outcome.rows or outcome.details:
        metadata["details"] = table(ISSUE_ROW_COLUMNS, outcome.rows) if outcome.rows else lines_table(outcome.details)
    return dg.AssetCheckResult(
        asset_key=asset,
        check_name=name,
        passed=outcome.passed,
        severity=severity,
        description=mask(outcome.description),
        metadata=masked(metadata, mask),
    )


@dg.multi_asset_check(
    specs=[
        dg.AssetCheckSpec(name, asset=entity, description=text)
        for entity in SYNC_ENTITIES
        for name, (_severity, text) in STANDALONE_CHECKS.items()
    ],
    can_subset=True,
    name="sync_health",
)
def sync_health(
    context: dg.AssetCheckExecutionContext,
    integration: IntegrationResource,
    crosswalk: CrosswalkResource,
    config_file: ConfigFileResource,
):
    mask = integration.redactor() + crosswalk.redactor()
    selected = {(key.asset_key.to_user_string(), key.name) for key in context.selected_asset_check_keys}
    with redacting(mask), engine_logs(context, mask):
        cw = crosswalk.get()
        outcomes = {
            "failed_records": lambda entity: open_issues(entity, cw, "failed"),
            "blocked_records": lambda entity: open_issues(entity, cw, "blocked"),
            "deferred_records": lambda entity: open_issues(entity, cw, "deferred"),
            "blocked_too_long": lambda entity: blocked_too_long(entity, cw, crosswalk.warn_days()),
        }
        needs_integration = any(name == "crosswalk_integrity" for _, name in selected)
        with integration.client() if needs_integration else nullcontext() as intc:
            for entity in SYNC_ENTITIES:
                for name, (severity, _text) in STANDALONE_CHECKS.items():
                    if (entity, name) not in selected:
                        continue
                    if name == "crosswalk_integrity":
                        handler = HANDLERS[entity](config_file.get(), integration.guid())
                        outcome = crosswalk_integrity(handler, intc, cw)
                    else:
                        outcome = outcomes[name](entity)
                    yield check_result(entity, name, outcome, severity, mask)


sync_checks = [sync_health]
