"""Every library the package imports is declared in pyproject.toml, not only installed because another one
needs it (alembic came with dagster, and would vanish the day dagster stopped needing it)."""

import ast
import re
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "stsync_dagster"


def _name(requirement: str) -> str:
    return re.split(r"[\s\[<>=!~;]", requirement, maxsplit=1)[0].lower().replace("_", "-")


def _imported_modules() -> set[str]:
    found: set[str] = set()
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                found |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                found.add(node.module.split(".")[0])
    return found - set(sys.stdlib_module_names) - {"stsync_dagster"}


def test_every_imported_library_is_declared():
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    declared = {_name(r) for r in project["dependencies"]}
    distributions = packages_distributions()
    undeclared = {
        module: distributions.get(module, ["?"])
        for module in sorted(_imported_modules())
        if not {_name(d) for d in distributions.get(module, [module])} & declared
    }
    assert not undeclared, f"imported but not declared in pyproject.toml: {undeclared}"


def test_the_assets_master_data_deps_are_what_the_handlers_reference():
    """Two views of one graph: the assets' deps (what the UI draws and a run selects) and the kinds the engine
    matches first (master_first, from the handlers' references)."""
    from stsync_dagster.config import MASTER_KINDS, SYNC_ENTITIES
    from stsync_dagster.defs.assets import needed_master_data
    from stsync_dagster.sync.entities import referenced_kinds

    for entity in SYNC_ENTITIES:
        assert set(needed_master_data([entity])) == referenced_kinds(entity) & set(MASTER_KINDS), entity
