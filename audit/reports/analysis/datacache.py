"""Reading a campaign's ratings incrementally: the previous run's loaded data (a file per
campaign under ``ANALYSIS_CACHE_DIR``) plus the ratings changed since it was read.

A read after a few new ratings fetches only the ratings whose ``updated_at`` is at or after the
previous read's start (less ``ANALYSIS_CACHE_MARGIN_SECONDS``, for transactions that were open
then and clocks a little apart), with their assignments' rows and their scores, and merges them
into the kept arrays in the order a full read gives. The merge is then checked against the
database in the same transaction (repeatable read on PostgreSQL): the number and ids of the
campaign's items and assignments, which expert holds each assignment, the number of pending
ones, and the number, ids and revisions of its ratings. Any difference (a deleted rating, work
moved to another expert, a transaction the margin missed) means a full read instead, as does a
changed list of criteria, a changed method-guess setting, a missing, unreadable or older-format
file. What the check cannot see (a score edited in the database without saving its rating, an
expert renamed) waits for the next full read: the owner's "recompute now", the nightly run and
quality reports read everything afresh.

The file holds numbers and JSON only (``numpy.savez``, no pickles) and is replaced atomically;
it is a cache: deleting it costs one full read.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, F, Q, Sum
from django.utils import timezone

from audit.campaigns.models import Assignment, Campaign, CampaignItem
from audit.reports import scores as score_reads
from audit.reports.analysis.reading import (
    ASSIGNMENT_COLUMNS,
    SCORE_DTYPE,
    CampaignData,
    load_campaign_data,
)

logger = logging.getLogger(__name__)

CACHE_VERSION = 2
STATUS_WIDTH = max(len(s) for s in Assignment.Status.values)
SCORE_COLUMNS = (
    score_reads.CRITERION_ID,
    score_reads.EXPERT_ID,
    score_reads.CAMPAIGN_ITEM_ID,
    score_reads.IS_REPEAT,
    score_reads.VALUE,
    score_reads.RATING_ID,
)


@dataclass
class CampaignRead:
    """A campaign's data and how it was read."""

    data: CampaignData
    incremental: bool  # only the changed ratings were fetched
    started: datetime  # when the read began (the next incremental read's watermark)
    # ratings added, revised or removed since the data kept in the file (None without one)
    changed: int | None
    n_fetched: int = 0  # rating rows fetched by an incremental read
    why_full: str | None = None  # why an incremental read was not possible


def cache_path(campaign_id: int) -> Path:
    return Path(settings.ANALYSIS_CACHE_DIR) / f"campaign-{int(campaign_id)}.npz"


def _guesses_asked(campaign: Campaign) -> bool:
    return bool(((campaign.design or {}).get("method_guess") or {}).get("enabled"))


@contextmanager
def consistent_reads() -> Iterator[None]:
    """One transaction whose reads all see the same committed state: REPEATABLE READ on
    PostgreSQL when the transaction is ours (inside a caller's transaction, the caller's)."""
    ours = not connection.in_atomic_block
    with transaction.atomic():
        if ours and connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        yield


# --------------------------------------------------------------------------------------------
# The file
# --------------------------------------------------------------------------------------------


@dataclass
class Cached:
    data: CampaignData  # criteria left empty: always read afresh
    criteria: list[int]
    guesses_asked: bool
    watermark: datetime
    snapshot_id: int | None


def cache_save(campaign: Campaign, read: CampaignRead, snapshot_id: int | None) -> None:
    """Keep ``read``'s data for the next incremental read, tied to the snapshot made from it.
    Failing to write is logged, never fatal (the next run reads everything)."""
    data = read.data
    rows, keys = data.assignments, data.assignment_keys
    columns = {
        "scores": data.scores,
        "item_ids": data.item_ids,
        "item_source": data.item_source,
        "a_id": np.array([k[0] for k in keys], dtype=np.int64),
        "a_revision": np.array([-1 if k[1] is None else k[1] for k in keys], dtype=np.int64),
        "a_expert": np.array([a[0] for a in rows], dtype=np.int64),
        "a_item": np.array([a[2] for a in rows], dtype=np.int64),
        "a_repeat": np.array([a[3] for a in rows], dtype=bool),
        "a_status": np.array([a[4] for a in rows], dtype=f"U{STATUS_WIDTH}"),
        "a_active": np.array([a[5] for a in rows], dtype=np.float64),
        "a_rating": np.array([-1 if a[6] is None else a[6] for a in rows], dtype=np.int64),
        "a_skipped": np.array([-1 if a[7] is None else int(a[7]) for a in rows], dtype=np.int8),
    }
    meta = {
        "version": CACHE_VERSION,
        "campaign": campaign.pk,
        "watermark": read.started.isoformat(),
        "snapshot_id": snapshot_id,
        "criteria": [c.pk for c in data.criteria],
        "guesses_asked": _guesses_asked(campaign),
        "item_method": data.item_method,
        "item_stratum": data.item_stratum,
        "item_gold": data.item_gold,
        "usernames": {str(a[0]): a[1] for a in rows},
        "flags": [a[8] for a in rows],
        "guesses": data.guesses,
    }
    path = cache_path(campaign.pk)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        blob = np.frombuffer(json.dumps(meta, separators=(",", ":")).encode(), dtype=np.uint8)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as handle:
                np.savez(handle, meta=blob, **columns)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError:
        logger.exception("could not keep the analysis data of campaign %s", campaign.pk)


def cache_load(campaign_id: int) -> Cached | None:
    """The kept data of a campaign, or None (no file, another format, unreadable)."""
    path = cache_path(campaign_id)
    try:
        with np.load(path, allow_pickle=False) as archive:
            meta = json.loads(archive["meta"].tobytes())
            if meta.get("version") != CACHE_VERSION or meta.get("campaign") != campaign_id:
                return None
            c = {name: archive[name] for name in archive.files if name != "meta"}
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, EOFError):
        logger.warning("unreadable analysis cache %s: reading everything", path, exc_info=True)
        return None
    if c["scores"].dtype != SCORE_DTYPE:
        return None
    names = {int(k): v for k, v in meta["usernames"].items()}
    experts = c["a_expert"].tolist()
    assignments = list(
        zip(
            experts,
            [names[e] for e in experts],
            c["a_item"].tolist(),
            c["a_repeat"].tolist(),
            c["a_status"].tolist(),
            c["a_active"].tolist(),
            [None if r < 0 else r for r in c["a_rating"].tolist()],
            [None if s < 0 else bool(s) for s in c["a_skipped"].tolist()],
            meta["flags"],
            strict=True,
        )
    )
    keys = list(
        zip(
            c["a_id"].tolist(),
            [None if r < 0 else r for r in c["a_revision"].tolist()],
            strict=True,
        )
    )
    data = CampaignData(
        criteria=[],
        item_ids=c["item_ids"],
        item_source=c["item_source"],
        item_method=meta["item_method"],
        item_stratum=[tuple(s) for s in meta["item_stratum"]],
        item_gold=meta["item_gold"],
        assignments=assignments,
        scores=c["scores"],
        guesses=[tuple(row) for row in meta["guesses"]],
        assignment_keys=keys,
    )
    return Cached(
        data=data,
        criteria=meta["criteria"],
        guesses_asked=meta["guesses_asked"],
        watermark=datetime.fromisoformat(meta["watermark"]),
        snapshot_id=meta["snapshot_id"],
    )


# --------------------------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------------------------


def read_campaign(
    campaign: Campaign, *, incremental: bool, cached: Cached | None = None
) -> CampaignRead:
    """The campaign's data: merged from ``cached`` (see :func:`cache_load`) and the ratings
    changed since when ``incremental`` and possible, else read in full. ``changed`` counts the
    ratings added, revised or removed since the cached data whenever there is some."""
    started = timezone.now()
    with consistent_reads():
        why = "no kept data" if cached is None else None
        if incremental and cached is not None:
            merged, why, fetched = _merge_changes(campaign, cached)
            if merged is not None:
                return CampaignRead(
                    merged,
                    True,
                    started,
                    _changed(cached.data, merged),
                    n_fetched=fetched,
                )
        data = load_campaign_data(campaign)
    changed = _changed(cached.data, data) if cached is not None else None
    return CampaignRead(
        data, False, started, changed, why_full=why if incremental else "full read asked"
    )


def _fingerprint_db(campaign: Campaign) -> dict:
    items = CampaignItem.objects.filter(campaign=campaign).aggregate(
        n_items=Count("pk"), item_ids=Sum("pk")
    )
    assignments = Assignment.objects.filter(campaign=campaign).aggregate(
        n=Count("pk"),
        ids=Sum("pk"),
        holders=Sum(F("pk") * F("expert_id")),
        pending=Count("pk", filter=Q(status=Assignment.Status.PENDING)),
        rated=Count("rating__pk"),
        rating_ids=Sum("rating__pk"),
        revisions=Sum("rating__revision"),
    )
    return {k: int(v or 0) for k, v in {**items, **assignments}.items()}


def _fingerprint(data: CampaignData) -> dict:
    keys = data.assignment_keys
    return {
        "n_items": int(data.item_ids.size),
        "item_ids": int(data.item_ids.sum()),
        "n": len(keys),
        "ids": sum(k[0] for k in keys),
        "holders": sum(k[0] * a[0] for k, a in zip(keys, data.assignments, strict=True)),
        "pending": sum(1 for a in data.assignments if a[4] == Assignment.Status.PENDING),
        "rated": sum(1 for a in data.assignments if a[6] is not None),
        "rating_ids": sum(a[6] for a in data.assignments if a[6] is not None),
        "revisions": sum(k[1] for k in keys if k[1] is not None),
    }


def _merge_changes(
    campaign: Campaign, cached: Cached
) -> tuple[CampaignData | None, str | None, int]:
    """(merged data, None, ratings fetched) or (None, why not, 0)."""
    criteria = list(campaign.criteria.order_by("position", "pk"))
    if [c.pk for c in criteria] != cached.criteria:
        return None, "the criteria changed", 0
    asked = _guesses_asked(campaign)
    if asked != cached.guesses_asked:
        return None, "the method-guess setting changed", 0
    since = cached.watermark - timedelta(seconds=settings.ANALYSIS_CACHE_MARGIN_SECONDS)
    old = cached.data
    changed_rows = list(
        Assignment.objects.filter(campaign=campaign, rating__updated_at__gte=since).values_list(
            *ASSIGNMENT_COLUMNS, "pk", "rating__revision", "rating__method_guess"
        )
    )
    assignments, keys = list(old.assignments), list(old.assignment_keys)
    position = {key[0]: i for i, key in enumerate(keys)}
    for row in changed_rows:
        i = position.get(row[9])
        if i is None:
            return None, "new assignments", 0
        assignments[i], keys[i] = row[:9], row[9:11]
    ratings = {row[6] for row in changed_rows}
    new_scores = np.fromiter(
        score_reads.score_rows(campaign_ids=[campaign.pk], scored_only=True)
        .filter(rating__updated_at__gte=since)
        .values_list(*SCORE_COLUMNS)
        .iterator(chunk_size=20_000),
        dtype=SCORE_DTYPE,
    )
    kept = old.scores[~np.isin(old.scores["rating"], np.fromiter(ratings, dtype=np.int64))]
    scores = np.concatenate([kept, new_scores])
    scores = scores[np.lexsort((scores["rating"], scores["criterion"]))]
    guesses = old.guesses
    if asked:
        by_rating = {g[0]: g for g in old.guesses if g[0] not in ratings}
        for row in changed_rows:
            if not row[7]:  # scored ratings only, as a full read
                by_rating[row[6]] = (row[6], row[2], row[3], row[11])
        guesses = [by_rating[r] for r in sorted(by_rating)]
    merged = CampaignData(
        criteria=criteria,
        item_ids=old.item_ids,
        item_source=old.item_source,
        item_method=old.item_method,
        item_stratum=old.item_stratum,
        item_gold=old.item_gold,
        assignments=assignments,
        scores=scores,
        guesses=guesses,
        assignment_keys=keys,
    )
    db = _fingerprint_db(campaign)
    if db != _fingerprint(merged):
        differ = sorted(k for k in db if db[k] != _fingerprint(merged)[k])
        return None, f"the database differs from the kept data ({', '.join(differ)})", 0
    return merged, None, len(changed_rows)


def _changed(old: CampaignData, new: CampaignData) -> int:
    """Ratings added, revised (another revision) or removed between two reads."""
    before = {a[6]: k[1] for a, k in zip(old.assignments, old.assignment_keys, strict=True)}
    after = {a[6]: k[1] for a, k in zip(new.assignments, new.assignment_keys, strict=True)}
    before.pop(None, None)
    after.pop(None, None)
    common = before.keys() & after.keys()
    return (
        len(before) - len(common)
        + len(after) - len(common)
        + sum(1 for r in common if before[r] != after[r])
    )  # fmt: skip
