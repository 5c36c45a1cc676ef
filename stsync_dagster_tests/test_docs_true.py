"""The README and docs/ say only what is true of the code: the README reads in five minutes (at most 200
lines), every relative link leads somewhere, every `stsync` command and flag they show parses, and every
setting, metadata key or other name they quote in backticks exists in the project (or is an outside name
listed here with where it comes from)."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from stsync_dagster.cli import build_parser
from stsync_dagster.config import SYNC_ENTITIES
from stsync_dagster.defs.plan import plan_step

REPO = Path(__file__).resolve().parents[1]
PAGES = [REPO / "README.md", REPO / "deploy" / "README.md", *sorted((REPO / "docs").glob("*.md"))]
# Names the docs quote that belong to other tools: the Dagster Helm chart and its run launcher.
OUTSIDE = {"env_vars", "env_secrets", "env_config_maps", "job_image", "DAGSTER_CURRENT_IMAGE"}


def _project_text() -> str:
    files = [*REPO.glob("stsync_dagster/**/*.py"), *REPO.glob("stsync_dagster_tests/*.py"), REPO / "stsync.config.json",
             REPO / "env.example", REPO / "pyproject.toml", REPO / "deploy" / "dagster.yaml", REPO / ".ci" / "run"]  # fmt: skip
    names = " ".join(p.stem for p in files)  # modules are named by their files
    steps = " ".join(plan_step(name) for name in [*SYNC_ENTITIES, "master_data"])  # built with an f-string
    return "\n".join(p.read_text(encoding="utf-8") for p in files) + names + steps


def test_the_readme_reads_in_five_minutes():
    lines = (REPO / "README.md").read_text(encoding="utf-8").count("\n")
    assert lines <= 200, f"README.md has {lines} lines; move detail to docs/"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(REPO)))
def test_every_relative_link_leads_somewhere(page):
    text = page.read_text(encoding="utf-8")
    broken = []
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if re.match(r"[a-z]+:", target) or target.startswith("#"):
            continue
        path = target.split("#")[0]
        if path and not (page.parent / path).exists():
            broken.append(target)
    assert not broken, f"{page.name}: links to nothing: {broken}"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(REPO)))
def test_every_name_the_docs_quote_exists(page):
    project = _project_text()
    text = page.read_text(encoding="utf-8")
    missing = set()
    for quoted in set(re.findall(r"`([^`\n]+)`", text)):
        names = set(re.findall(r"\b(?:ST|STSYNC|DAGSTER)_[A-Z0-9_]+\b", quoted))
        if re.fullmatch(r"[a-z]+(?:_[a-z0-9]+)+|--[a-z][a-z-]+", quoted):  # a setting, a metadata key, a flag
            names.add(quoted)
        missing |= {name for name in names - OUTSIDE if name not in project}
    assert not missing, f"{page.name} names what the project does not have: {sorted(missing)}"


def _subparsers(parser) -> dict:
    action = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
    return action.choices


def _code_lines(text: str) -> list[str]:
    """Lines of the fenced code blocks that run stsync, without their comments or a listing's description."""
    lines, inside = [], False
    for line in text.splitlines():
        if line.strip().startswith("```"):
            inside = not inside
            continue
        match = re.search(r"(?:^|uv run |\$ )stsync (.*)", line.strip()) if inside else None
        if match:
            lines.append(re.split(r"\s{2,}|\s#|\s[|>&]", match.group(1))[0])
    return lines


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(REPO)))
def test_every_command_the_docs_show_parses(page):
    """Commands in code blocks parse whole (placeholders such as KIND or ID… aside); commands quoted in the
    prose name a subcommand that exists and flags it takes."""
    parser = build_parser()
    subs = _subparsers(parser)
    text = page.read_text(encoding="utf-8")
    wrong = []
    for line in _code_lines(text):
        args = shlex.split(line)
        if any(a.isupper() or "…" in a or "..." in a or a.startswith(("<", "[")) for a in args):
            args = [a for a in args if a.startswith("--") or a in subs]  # the subcommand and its flags, at least
            if args and args[0] in subs and all(_takes(subs[args[0]], a) for a in args[1:]):
                continue
            wrong.append(line)
            continue
        try:
            parser.parse_args(args)
        except SystemExit:
            wrong.append(line)
    for quoted in re.findall(r"`stsync ([^`]+)`", text):
        words = quoted.split()
        if words[0] not in subs or not all(_takes(subs[words[0]], w) for w in words[1:] if w.startswith("--")):
            wrong.append(quoted)
    assert not wrong, f"{page.name} shows commands stsync does not take: {wrong}"


def _takes(subparser, word: str) -> bool:
    if not word.startswith("--"):
        return True
    flag = word.split("=")[0]
    return any(flag in action.option_strings for action in subparser._actions)
