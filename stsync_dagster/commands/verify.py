"""`stsync verify`: the environment, the Integration guard, the config file and the crosswalk, then a token and one
API call to each environment, then one page of every endpoint a sync reads there (a refused one: exit 1)."""

from __future__ import annotations

import argparse

from stsync_dagster.commands.exit_codes import EXIT_CONFIG, EXIT_REFUSED
from stsync_dagster.config import MASTER_KINDS, SYNC_ENTITIES, load_config
from stsync_dagster.servicetitan import (
    IntegrationClient,
    ProductionClient,
    ServiceTitanError,
    SettingsError,
    check_integration_target,
)
from stsync_dagster.settings import load_settings
from stsync_dagster.sync.crosswalk import setting as database


def cmd_verify(args: argparse.Namespace) -> int:
    ok = True

    def say(good: bool, what: str, detail: str = "") -> None:
        nonlocal ok
        ok &= good
        print(f"  [{'ok' if good else 'FAIL'}] {what}{': ' + detail if detail else ''}")

    def check(what: str, work, detail=lambda value: ""):
        try:
            value = work()
        except SettingsError as exc:  # ours (ConfigError) or the client's refusal
            say(False, what, str(exc))
            return None
        say(True, what, detail(value))
        return value

    print("stsync verify")
    settings = check(
        "environment variables", lambda: load_settings(dotenv_path=".env"), lambda _: "all present and well-formed"
    )
    if settings is None:
        return EXIT_CONFIG
    check(
        "Integration target", lambda: check_integration_target(settings.int, settings.prod), lambda _: "not Production"
    )
    config = check("config file", lambda: load_config(settings.config_path), lambda _: settings.config_path)
    check("crosswalk", lambda: database.check(settings.db, write=False), str)
    if not ok:  # a configuration problem: no request at all
        print("some checks failed")
        return EXIT_CONFIG
    probe = config.master("business_units").path
    # One retry at most: verify should answer quickly when a host is down.
    quick = dict(page_size=1, timeout=settings.http_timeout, rate_limit=settings.rate_limit, max_retries=1)
    clients = [
        ("Production", ProductionClient(settings.prod, **quick)),
        ("Integration", IntegrationClient(settings.int, production=settings.prod, **quick)),
    ]
    refused = False
    for label, client in clients:
        with client:
            try:
                page = next(iter(client.iter_pages(probe, {"pageSize": 1})), None)
                say(True, f"{label}: token and one API call", f"{len(page.records) if page else 0} record(s) read")
            except (ServiceTitanError, SettingsError) as exc:
                say(False, f"{label}: token and one API call", str(exc))
                continue
            wanted = endpoints(config, production=label == "Production")
            failures = _unreadable(client, wanted)
            refused |= bool(failures)
            for what, exc in failures:
                say(False, f"{label}: {what}", str(exc))
            if not failures:
                say(True, f"{label}: every endpoint a sync reads", f"{len(wanted)} answer")
    print("all checks passed" if ok else "some checks failed")
    return 0 if ok else EXIT_REFUSED if refused else EXIT_CONFIG


def endpoints(config, production: bool) -> dict[str, tuple[str, dict]]:
    """What a sync reads in one environment, by what it is for: (list path, its parameters)."""
    found: dict[str, tuple[str, dict]] = {}
    for name in SYNC_ENTITIES:
        entity = config.entity(name)
        found[name] = (entity.prod_list_path if production else entity.int_list_path, dict(entity.list_params))
        if not production:
            for action, status in entity.statuses.items():
                if status.reasons:
                    found[f"{name} {action} reasons"] = (status.reasons, {"active": "Any"})
    if production:
        found["appointments"] = (config.related.appointments, {})
        found["appointment assignments"] = (config.related.appointment_assignments, {})
    for kind in MASTER_KINDS:
        master = config.master(kind)
        found[kind] = (master.path, dict(master.list_params))
    return found


def _unreadable(client, wanted: dict[str, tuple[str, dict]]) -> list[tuple[str, Exception]]:
    """(what, why) for each endpoint that does not answer one page (a scope not granted: 403)."""
    failures = []
    for what, (path, params) in wanted.items():
        try:
            next(iter(client.iter_pages(path, {**params, "pageSize": 1})), None)
        except ServiceTitanError as exc:
            failures.append((what, exc))
    return failures
