"""A selection as a user writes it: `where` (filters by the API's names or by a reference's name) and `sample`,
in `stsync.config.json` (`entities.<kind>.select`), in the run config of the sync assets, the plan job and
`copy_records`, and on the command line (`--where`, `--sample-per`, `--sample`, `--sample-share`)."""

from __future__ import annotations

from typing import Union

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

Scalar = Union[bool, int, str]


class Sample(BaseModel):
    """`count` records for each combination of the `per` fields present in the window (of the whole window
    without `per`), or a `share` of them; chosen by a hash of the id, so every run over the window picks the same."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    per: list[str] = Field(default_factory=list)
    count: int | None = Field(default=None, ge=1)
    share: float | None = Field(default=None, gt=0, le=1)

    @model_validator(mode="after")
    def _one_size(self):
        if (self.count is None) == (self.share is None):
            raise ValueError("give either count (records per combination) or share (a fraction, 0 < share <= 1)")
        if self.per and self.count is None:
            raise ValueError("per needs count: a share is already kept in every combination alike")
        return self


class Selection(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    where: dict[str, Union[Scalar, list[Scalar]]] = Field(default_factory=dict)
    sample: Sample | None = None

    @property
    def empty(self) -> bool:
        return not self.where and self.sample is None


def parse_where(items: list[str]) -> dict[str, Scalar | list[Scalar]]:
    """`key=value` pairs (the command line's `--where`); a key given twice takes either value."""
    where: dict[str, list[Scalar]] = {}
    for item in items:
        key, sep, value = item.partition("=")
        key, value = key.strip(), value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        if not sep or not key or not value:
            raise ValueError(f'--where {item!r}: write it as key=value (jobType="Water Heater Install")')
        where.setdefault(key, []).append(value)
    return {key: values[0] if len(values) == 1 else values for key, values in where.items()}


def parse_sample(per: str | None, count: int | None, share: float | None) -> Sample | None:
    """`--sample-per jobTypeId,jobStatus:5` (fields, then the count per combination), `--sample N`,
    `--sample-share 0.1`."""
    fields: list[str] = []
    if per and count is not None:
        raise ValueError("--sample-per FIELDS:N already gives the count: leave out --sample")
    if per:
        names, sep, number = per.rpartition(":")
        if not sep or not names.strip():
            raise ValueError(f"--sample-per {per!r}: write it as fields:count (jobTypeId,jobStatus:5)")
        try:
            count = int(number)
        except ValueError:
            raise ValueError(f"--sample-per {per!r}: the count after ':' must be a whole number") from None
        fields = [name.strip() for name in names.split(",") if name.strip()]
    if count is None and share is None:
        return None
    return Sample(per=fields, count=count, share=share)


def chosen(
    kind: str,
    config,
    where: dict | None,
    per: list[str] | None,
    count: int = 0,
    share: float = 0.0,
    origin: str = "run config",
) -> tuple[Selection | None, str]:
    """The selection a run of `kind` goes by, and where it was given (the JSON path its errors name): the run's
    own (run config, command line) when it gives any, else the config file's `entities.<kind>.select` (none
    when `config` is None)."""
    if where or per or count or share:
        if per and not count:
            raise ValueError(f"{origin}: {kind}: sample_per needs sample_count (records per combination)")
        try:
            sample = Sample(per=list(per or []), count=count or None, share=share or None) if count or share else None
            return Selection(where=dict(where or {}), sample=sample), f"{origin}: {kind}"
        except ValidationError as exc:
            first = exc.errors()[0]
            raise ValueError(
                f"{origin}: {kind}: {'.'.join(map(str, first['loc'])) or 'sample'}: {first['msg']}"
            ) from None
    if config is None:  # `copy` of given ids: only a selection given with them applies
        return None, ""
    return config.entity(kind).select, f"$.entities.{kind}.select"
