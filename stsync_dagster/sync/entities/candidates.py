"""List parameters that narrow adoption's read of Integration to the records that could match a few Production
records: by STSync's mark (externalData values, 50 a request), and by natural key (a partial text search, or the
span of creation instants the key holds). Each returns a superset; the index keeps only exact matches."""

from __future__ import annotations

from datetime import datetime, timedelta

from stsync_dagster.sync.adoption import fold, key_part
from stsync_dagster.sync.stamps import STAMP_KEY
from stsync_dagster.sync.timefmt import instant, rfc3339, utc

BATCH = 50  # the API's limit on ids / externalDataValues per request
SEARCH_LENGTH = (2, 200)  # materials' searchText, as the OpenAPI document bounds it
WINDOW = timedelta(days=1)  # creation instants this close share one read


def stamp_reads(params: dict, guid: str, prod_ids: list[int]) -> list[dict]:
    """Every Integration record that carries STSync's mark for one of these Production ids."""
    return [
        {
            **params,
            "externalDataApplicationGuid": guid,
            "externalDataKey": STAMP_KEY,
            "externalDataValues": ",".join(str(i) for i in prod_ids[start : start + BATCH]),
        }
        for start in range(0, len(prod_ids), BATCH)
    ]


def search_reads(params: dict, name: str, texts: list) -> list[dict] | None:
    """One partial-text search per distinct text, by its longest word (a copy made by hand may space it
    differently); None when a text has no word the search takes, or when keys compare it in a way a
    case-insensitive search may not (anything but ASCII: NFKC and casefolding; a text read as an instant)."""
    words: dict[str, str] = {}
    for text in texts:
        text = str(text or "")
        word = max(text.split(), key=len, default="")[: SEARCH_LENGTH[1]]
        if len(word) < SEARCH_LENGTH[0] or not text.isascii() or key_part(text) != fold(text):
            return None
        words.setdefault(word.lower(), word)  # the search ignores case: one request for both; sent as written
    return [{**params, name: word} for _, word in sorted(words.items())]


def created_windows(params: dict, values: list) -> list[dict] | None:
    """Reads of the records created in the spans these instants fall in (to the second, as keys compare them):
    one per day-long cluster; None when a value is not an instant."""
    moments = sorted(_instant(v) for v in values)
    if any(m is None for m in moments):
        return None
    reads: list[dict] = []
    start = last = None
    for moment in [*moments, None]:
        if moment is not None and start is not None and moment - start <= WINDOW:
            last = moment
            continue
        if start is not None:
            reads.append(
                {**params, "createdOnOrAfter": rfc3339(start), "createdBefore": rfc3339(last + timedelta(seconds=1))}
            )
        start = last = moment
    return reads


def _instant(value) -> datetime | None:
    moment = utc(value) if isinstance(value, datetime) else instant(value) if value else None
    return moment.replace(microsecond=0) if moment is not None else None
