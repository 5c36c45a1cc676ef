"""The field-coverage table: every field of the material, purchase-order and job create requests in ServiceTitan's
OpenAPI documents, with what STSync does with it (stsync_dagster/sync/fieldmap.py), checked against the payload
models STSync sends (stsync_dagster/sync/models.py) and the read shapes it copies from.

    uv run python -m stsync_dagster_tests.field_coverage            # print the table
    uv run python -m stsync_dagster_tests.field_coverage --write    # write docs/field-coverage.md (and the
                                                                    # summary in README.md)

A test (test_field_coverage.py) fails when docs/field-coverage.md is not what this generates.
"""

from __future__ import annotations

import argparse
import json
import sys
import typing
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel

from stsync_dagster.sync.fieldmap import COPIED, DROPPED, DOCUMENTED_MAPS, NO_READ_SOURCE, TRANSLATED, FieldMap

REPO = Path(__file__).resolve().parent.parent
OPENAPI_DIR = REPO.parent / "shared" / "servicetitan" / "openapi"
OUTPUT = REPO / "docs" / "field-coverage.md"
NOT_COPIED = "not copied"  # a field no rule accounts for, or one the payload model lacks: a gap

# Where Production's value is read: the kind's read shape, or (a job's visits) the appointments and assignments.
READ_SHAPES = {
    "items": ("pricebook-v2.json", "Pricebook.V2.MaterialResponse"),
    "pos": ("inventory-v2.json", "Inventory.V2.PurchaseOrderResponse"),
    "jobs": ("jpm-v2.json", "Jpm.V2.JobResponse"),
}
RELATED_READS = {  # create path prefix → (document, schema, how a field name maps to it)
    "appointments[].technicianIds": ("dispatch-v2.json", "Dispatch.V2.AppointmentAssignmentResponse", "technicianId"),
    "appointments[].": ("jpm-v2.json", "Jpm.V2.AppointmentResponse", None),
}


class Documents:
    def __init__(self, folder: Path):
        self.folder = folder
        self._docs: dict[str, dict] = {}

    def schema(self, document: str, name: str) -> dict:
        doc = self._docs.setdefault(document, json.loads((self.folder / document).read_text(encoding="utf-8")))
        return doc["components"]["schemas"][name]

    def resolve(self, document: str, schema: dict) -> dict:
        """A property's schema with $ref, and allOf/oneOf of one $ref, followed."""
        for key in ("allOf", "oneOf", "anyOf"):
            if key in schema and len(schema[key]) == 1:
                schema = schema[key][0]
        if "$ref" in schema:
            return self.schema(document, schema["$ref"].rpartition("/")[2])
        return schema

    def create_path(self, document: str, schema: str) -> str:
        doc = self._docs[document]
        for path, ops in doc["paths"].items():
            body = ops.get("post", {}).get("requestBody", {}).get("content", {}).get("application/json", {})
            if body.get("schema", {}).get("$ref", "").endswith("/" + schema):
                return f"POST {path}"
        raise LookupError(f"{document}: no POST takes {schema}")

    def fields(self, document: str, schema: dict, field_map: FieldMap, prefix: str = "") -> list[str]:
        """Every field of the request, nested objects and lists of objects walked into (unless one rule covers
        the object whole, like externalData)."""
        out = []
        for name, prop in schema.get("properties", {}).items():
            path = f"{prefix}{name}"
            target = self.resolve(document, prop)
            rule = field_map.rule(path)
            whole = rule is not None and rule.path == path
            if target.get("type") == "array" and "properties" in self.resolve(document, target.get("items", {})):
                if not whole:
                    out += self.fields(document, self.resolve(document, target["items"]), field_map, f"{path}[].")
                    continue
            elif "properties" in target and not whole:
                out += self.fields(document, target, field_map, f"{path}.")
                continue
            out.append(path)
        return out

    def has(self, document: str, schema: str, path: str) -> bool:
        """Whether a read shape holds the path (names as the read shape spells them)."""
        node = self.schema(document, schema)
        for part in path.split("."):
            node = self.resolve(document, node)
            if part.endswith("[]"):
                part = part[:-2]
            prop = node.get("properties", {}).get(part)
            if prop is None:
                return False
            node = self.resolve(document, prop)
            if node.get("type") == "array":
                node = node.get("items", {})
        return True


def model_has(model: type[BaseModel], path: str) -> bool:
    """Whether STSync's payload model has the field (the request path, `[]` for list elements)."""
    current: object = model
    for part in path.split("."):
        name = part[:-2] if part.endswith("[]") else part
        if not (isinstance(current, type) and issubclass(current, BaseModel)) or name not in current.model_fields:
            return False
        current = _inner(current.model_fields[name].annotation)
    return True


def _inner(annotation):
    """list[X] | None → X."""
    for arg in typing.get_args(annotation) or ():
        if arg is not type(None):
            return _inner(arg)
    return annotation


@dataclass
class Row:
    path: str
    how: str
    read: str
    note: str


def _read_source(docs: Documents, field_map: FieldMap, path: str, read_path: str) -> str | None:
    for prefix, (document, schema, name) in RELATED_READS.items():
        if field_map.kind == "jobs" and path.startswith(prefix):
            field = name or path[len(prefix) :]
            return f"{schema.rpartition('.')[2]}.{field}" if docs.has(document, schema, field) else None
    document, schema = READ_SHAPES[field_map.kind]
    return read_path if docs.has(document, schema, read_path) else None


def rows(docs: Documents, field_map: FieldMap) -> list[Row]:
    request = docs.schema(field_map.document, field_map.schema)
    paths = docs.fields(field_map.document, request, field_map)
    unknown = [r.path for r in field_map.rules if not any(p == r.path or p.startswith(r.path + ".") for p in paths)]
    if unknown:
        raise ValueError(f"{field_map.kind}: rules for fields {field_map.schema} does not have: {unknown}")
    out = []
    for path in paths:
        rule = field_map.rule(path)
        if rule is None:
            out.append(Row(path, NOT_COPIED, "", "no rule in stsync_dagster/sync/fieldmap.py"))
            continue
        read = rule.read_path if rule.path == path else rule.read_path + path[len(rule.path) :]
        source = _read_source(docs, field_map, path, read) if rule.how != NO_READ_SOURCE else None
        if rule.how in (COPIED, TRANSLATED) and source is None:
            out.append(Row(path, NOT_COPIED, "", f"the read shape has no `{read}` to copy from"))
        elif rule.how in (COPIED, TRANSLATED) and not model_has(field_map.model, path):
            out.append(Row(path, NOT_COPIED, source, f"{field_map.model.__name__} has no such field"))
        else:
            how = f"{rule.how} ({rule.kind.replace('|', ' or ')})" if rule.how == TRANSLATED else rule.how
            out.append(Row(path, how, source or "", rule.note))
    return out


@dataclass
class Summary:
    kind: str
    title: str
    endpoint: str
    counts: dict[str, int]

    @property
    def carried(self) -> int:
        return self.counts[COPIED] + self.counts[TRANSLATED]

    @property
    def copyable(self) -> int:
        return self.carried + self.counts[NOT_COPIED]

    @property
    def ratio(self) -> float:
        return self.carried / self.copyable if self.copyable else 1.0

    @property
    def readable(self) -> int:
        """Fields Production's read shape holds: copyable ones and those dropped for a reason."""
        return self.copyable + self.counts[DROPPED]


def summarise(docs: Documents, field_map: FieldMap, table: list[Row]) -> Summary:
    counts = {how: 0 for how in (COPIED, TRANSLATED, DROPPED, NO_READ_SOURCE, NOT_COPIED)}
    for row in table:
        counts[row.how.partition(" (")[0]] += 1
    endpoint = docs.create_path(field_map.document, field_map.schema)
    return Summary(field_map.kind, field_map.title, endpoint, counts)


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def render(folder: Path = OPENAPI_DIR) -> str:
    docs = Documents(folder)
    tables = {kind: rows(docs, m) for kind, m in DOCUMENTED_MAPS.items()}
    summaries = [summarise(docs, DOCUMENTED_MAPS[kind], table) for kind, table in tables.items()]
    lines = [
        "# Field coverage",
        "",
        "<!-- Generated by `uv run python -m stsync_dagster_tests.field_coverage --write`: do not edit by hand. -->",
        "",
        "Every field of the create requests STSync sends, from ServiceTitan's OpenAPI documents, with what STSync",
        "does with it (`stsync_dagster/sync/fieldmap.py`), checked against the payload models it sends",
        "(`stsync_dagster/sync/models.py`) and the read shapes it copies from. Nested objects and lists of objects",
        "are walked into (`items[].skuId`: the `skuId` of every line).",
        "",
        "- **copied**: Production's value, as it is;",
        "- **translated**: a reference, through the crosswalk (the kind in brackets);",
        "- **dropped**: not copied, for the reason given (the values left out are counted in each run's",
        "  `dropped_values` metadata);",
        "- **no read source**: Production's read shape does not hold it;",
        "- **not copied**: a gap (no rule, or the payload model lacks the field).",
        "",
        "Copyable = copied + translated + not copied (what has a read source and a way to its Integration",
        "counterpart); the last column also counts the dropped fields, which have a read source but no documented",
        "way to match what they reference. The read-back check compares every copied and translated field with",
        "Production.",
        "",
        "| kind | create request | copied | translated | dropped | no read source | not copied | copied ÷ copyable "
        "| copied ÷ with a read source |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for s in summaries:
        c = s.counts
        lines.append(
            f"| {s.title} | `{s.endpoint}` | {c[COPIED]} | {c[TRANSLATED]} | {c[DROPPED]} | {c[NO_READ_SOURCE]} | "
            f"{c[NOT_COPIED]} | {s.carried} / {s.copyable} ({s.ratio:.0%}) | {s.carried} / {s.readable} "
            f"({s.carried / s.readable:.0%}) |"
        )
    for s in summaries:
        lines += [
            "",
            f"## {s.title}",
            "",
            f"`{s.endpoint}` ({DOCUMENTED_MAPS[s.kind].document}, `{DOCUMENTED_MAPS[s.kind].schema}`)",
            "",
            "| field | how | read from | note |",
            "|---|---|---|---|",
        ]
        lines += [
            f"| `{r.path}` | {r.how} | {f'`{r.read}`' if r.read else '–'} | {_cell(r.note)} |" for r in tables[s.kind]
        ]
    return "\n".join(lines) + "\n"


README = REPO / "README.md"
SUMMARY_START, SUMMARY_END = "<!-- field-coverage summary -->", "<!-- /field-coverage summary -->"


def readme_summary(folder: Path = OPENAPI_DIR) -> str:
    """The short table README.md shows between its field-coverage markers."""
    lines = [
        SUMMARY_START,
        "| kind | copied | translated | dropped | no read source | copied ÷ copyable |",
        "|---|---|---|---|---|---|",
    ]
    for s in coverage(folder).values():
        c = s.counts
        lines.append(
            f"| {s.title} | {c[COPIED]} | {c[TRANSLATED]} | {c[DROPPED]} | {c[NO_READ_SOURCE]} | "
            f"{s.carried} / {s.copyable} ({s.ratio:.0%}) |"
        )
    return "\n".join([*lines, SUMMARY_END])


def _with_summary(readme: str, summary: str) -> str:
    head, _, rest = readme.partition(SUMMARY_START)
    _, _, tail = rest.partition(SUMMARY_END)
    return head + summary + tail


def coverage(folder: Path = OPENAPI_DIR) -> dict[str, Summary]:
    docs = Documents(folder)
    return {kind: summarise(docs, m, rows(docs, m)) for kind, m in DOCUMENTED_MAPS.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help=f"write {OUTPUT.relative_to(REPO)}")
    parser.add_argument("--openapi", type=Path, default=OPENAPI_DIR, help="the folder of the OpenAPI documents")
    args = parser.parse_args(argv)
    if not args.openapi.is_dir():
        print(f"OpenAPI documents not found at {args.openapi}", file=sys.stderr)
        return 2
    text = render(args.openapi)
    if args.write:
        OUTPUT.write_text(text, encoding="utf-8")
        README.write_text(
            _with_summary(README.read_text(encoding="utf-8"), readme_summary(args.openapi)), encoding="utf-8"
        )
        print(f"wrote {OUTPUT.relative_to(REPO)} and the summary in {README.relative_to(REPO)}")
    else:
        print(text, end="")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
