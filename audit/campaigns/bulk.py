"""Writing a launch's rows fast: the sampled campaign items and the experts' assignments.

On PostgreSQL the rows go in with COPY (psycopg 3) and the campaign items' ids come back with one
query; elsewhere (SQLite) the ORM's ``bulk_create`` writes them, slower but the same rows. Both
run inside the caller's transaction, so a failed launch leaves nothing behind.
"""

import json
import os
import uuid
from collections.abc import Callable, Sequence

from django.db import connection

from audit.campaigns.assignment import Slot
from audit.campaigns.models import Assignment, CampaignItem
from audit.campaigns.sampling import Sample

BATCH = 5000  # rows per bulk_create batch, and how often progress is reported


def _uses_copy() -> bool:
    return connection.vendor == "postgresql"


def _copy_text(value: str) -> str:
    """A value in COPY's text format (JSON from json.dumps has no raw tabs or newlines)."""
    for raw, escaped in (("\\", "\\\\"), ("\t", "\\t"), ("\n", "\\n"), ("\r", "\\r")):
        value = value.replace(raw, escaped)
    return value


def _copy(sql: str, lines, progress: Callable[[int], None] | None) -> None:
    """COPY ``lines`` (an iterable of text rows ending in newlines) with ``sql``."""
    pg = connection.connection  # the psycopg connection behind Django's
    with pg.cursor() as cursor, cursor.copy(sql) as copy:
        buffer: list[str] = []
        done = 0
        for line in lines:
            buffer.append(line)
            if len(buffer) >= BATCH:
                copy.write("".join(buffer))
                done += len(buffer)
                buffer.clear()
                if progress:
                    progress(done)
        if buffer:
            copy.write("".join(buffer))
            done += len(buffer)
    if progress:
        progress(done)


def write_campaign_items(
    *,
    campaign,
    sample: Sample,
    method_ids: dict[str, int],
    gold: dict[str, dict],
    progress: Callable[[int], None] | None = None,
) -> list[int]:
    """Write one CampaignItem per sampled item; returns their ids in ``sample.items`` order."""
    if not _uses_copy():
        ids = []
        items = sample.items
        for start in range(0, len(items), BATCH):
            created = CampaignItem.objects.bulk_create(
                CampaignItem(
                    campaign=campaign,
                    item_id=s.item_id,
                    source_pair_id=s.source_pair_id,
                    method_id=method_ids[s.method],
                    stratum=list(s.stratum),
                    inclusion_probability=s.inclusion_probability,
                    is_gold=s.is_gold,
                    gold_scores=gold.get(str(s.item_id), {}),
                )
                for s in items[start : start + BATCH]
            )
            ids.extend(ci.pk for ci in created)
            if progress:
                progress(len(ids))
        return ids

    connection.ensure_connection()
    strata: dict[tuple, str] = {}
    cid = campaign.pk

    def lines():
        for s in sample.items:
            stratum = strata.get(s.stratum)
            if stratum is None:
                stratum = strata[s.stratum] = _copy_text(json.dumps(list(s.stratum)))
            scores = gold.get(str(s.item_id))
            yield (
                f"{cid}\t{s.item_id}\t{s.source_pair_id}\t{method_ids[s.method]}\t{stratum}\t"
                f"{s.inclusion_probability!r}\t{'t' if s.is_gold else 'f'}\t"
                f"{_copy_text(json.dumps(scores)) if scores else '{}'}\n"
            )

    table = CampaignItem._meta.db_table
    _copy(
        f"COPY {table} (campaign_id, item_id, source_pair_id, method_id, stratum, "
        "inclusion_probability, is_gold, gold_scores) FROM STDIN",
        lines(),
        progress,
    )
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT item_id, id FROM {table} WHERE campaign_id = %s", [cid])  # noqa: S608
        by_item = dict(cursor.fetchall())
    return [by_item[s.item_id] for s in sample.items]


def _uuid4_strings(n: int) -> list[str]:
    """``n`` random (version 4) UUIDs as text, made from one read of the system's randomness."""
    raw = os.urandom(16 * n)
    out = []
    for i in range(n):
        out.append(str(uuid.UUID(bytes=raw[16 * i : 16 * i + 16], version=4)))
    return out


def write_assignments(
    *, campaign, slots: Sequence[Slot], progress: Callable[[int], None] | None = None
) -> int:
    """Write one pending Assignment per slot; returns how many."""
    if not _uses_copy():
        for start in range(0, len(slots), BATCH):
            Assignment.objects.bulk_create(
                Assignment(
                    campaign=campaign,
                    campaign_item_id=slot.campaign_item_id,
                    expert_id=slot.expert_id,
                    position=slot.position,
                    is_repeat=slot.is_repeat,
                )
                for slot in slots[start : start + BATCH]
            )
            if progress:
                progress(min(start + BATCH, len(slots)))
        return len(slots)

    connection.ensure_connection()
    cid = campaign.pk
    pending = Assignment.Status.PENDING.value

    def lines():
        for start in range(0, len(slots), BATCH):
            chunk = slots[start : start + BATCH]
            for public_id, slot in zip(_uuid4_strings(len(chunk)), chunk, strict=True):
                yield (
                    f"{public_id}\t{cid}\t{slot.campaign_item_id}\t{slot.expert_id}\t"
                    f"{slot.position}\t{'t' if slot.is_repeat else 'f'}\t{pending}\t0\t{{}}\n"
                )

    _copy(
        f"COPY {Assignment._meta.db_table} (public_id, campaign_id, campaign_item_id, expert_id, "
        "position, is_repeat, status, active_seconds, draft) FROM STDIN",
        lines(),
        progress,
    )
    return len(slots)
