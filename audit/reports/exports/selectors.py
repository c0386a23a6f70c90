"""Reads for exports: who may export what, and the rows, streamed in chunks from a server-side
cursor (on PostgreSQL Django's chunked cursor is a named psycopg cursor), so memory stays flat
whatever the size of a campaign or dataset. The ratings stream is one SQL join written for speed
(and COPY on PostgreSQL); counts and the audited dataset's scores come from the shared read side,
:mod:`audit.reports.scores`."""

import io
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext

from django.db import connection, transaction
from django.db.models import Q, QuerySet

from annotations.models import Rating, Score
from audit.campaigns.models import Assignment, Campaign, CampaignItem, Criterion
from audit.campaigns.selectors import campaigns_owned_by
from audit.datasets.models import Dataset, Item, Method, SourcePairImage
from audit.reports import scores as score_reads
from audit.reports.exports.models import ExportJob

# --- Permissions ------------------------------------------------------------------------------


def campaigns_exportable_by(user) -> QuerySet[Campaign]:
    """Campaigns whose ratings ``user`` may export: the ones they own (staff: all)."""
    return campaigns_owned_by(user)


def datasets_exportable_by(user) -> QuerySet[Dataset]:
    """Datasets ``user`` may export with audit results: staff all; owners of a campaign over the
    dataset that one. Experts own no campaign, so they never can."""
    if not user.is_authenticated:
        return Dataset.objects.none()
    if user.is_staff:
        return Dataset.objects.all()
    return Dataset.objects.filter(campaigns__in=campaigns_owned_by(user).values("pk")).distinct()


def export_jobs_visible_to(user) -> QuerySet[ExportJob]:
    """Staff: every job. Others: ratings exports of the campaigns they own (theirs or a
    co-owner's) and their own dataset exports of datasets they may still export."""
    if not user.is_authenticated:
        return ExportJob.objects.none()
    jobs = ExportJob.objects.select_related("campaign", "dataset", "owner")
    if user.is_staff:
        return jobs
    return jobs.filter(
        Q(kind=ExportJob.Kind.RATINGS, campaign__in=campaigns_owned_by(user).values("pk"))
        | Q(
            kind=ExportJob.Kind.DATASET,
            owner=user,
            dataset__in=datasets_exportable_by(user).values("pk"),
        )
    )


# --- Ratings ----------------------------------------------------------------------------------

# The columns of rating_rows, in order.
RATING_FIELDS = (
    "rating_id", "campaign_item_id", "item_id", "item_external_id", "source_pair_id", "method",
    "dataset", "modality", "body_part", "stratum", "inclusion_probability", "expert_id",
    "expert_username", "is_repeat",
    "criterion", "score", "flags", "comment", "active_seconds", "submitted_at", "revision",
    "skipped", "skip_reason",
)  # fmt: skip


def _t(model) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def _utc_text(column: str) -> str:
    """A timestamp as UTC text ``YYYY-MM-DD HH:MM:SS[.ffffff]`` on both backends: decoding text
    is far cheaper than building a datetime per row, and Arrow parses it in bulk."""
    if connection.vendor == "postgresql":
        return f"to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US')"
    return f"({column} || '')"  # SQLite keeps UTC text; the expression skips the converter


def _ratings_sql(*, with_unscored: bool) -> str:
    join = "LEFT JOIN" if with_unscored else "JOIN"
    from django.contrib.auth import get_user_model

    return f"""
        SELECT r.id, ci.id, i.id, i.external_id, i.source_pair_id, m.key, d.name, i.modality,
               i.body_part, ci.stratum, ci.inclusion_probability, a.expert_id, u.username,
               a.is_repeat, c.key, s.value,
               r.flags, r.comment, r.active_seconds, {_utc_text("r.submitted_at")}, r.revision,
               r.skipped,
               r.skip_reason
        FROM {_t(Rating)} r
        JOIN {_t(Assignment)} a ON a.id = r.assignment_id
        JOIN {_t(CampaignItem)} ci ON ci.id = a.campaign_item_id
        JOIN {_t(Item)} i ON i.id = ci.item_id
        JOIN {_t(Method)} m ON m.id = ci.method_id
        JOIN {_t(Dataset)} d ON d.id = i.dataset_id
        JOIN {_t(get_user_model())} u ON u.id = a.expert_id
        {join} {_t(Score)} s ON s.rating_id = r.id
        {join} {_t(Criterion)} c ON c.id = s.criterion_id
        WHERE a.campaign_id = %s
        ORDER BY r.id, c.position, c.id
    """  # noqa: S608  (table names from the models, the campaign id a parameter)


def rating_count(campaign: Campaign, *, layout: str) -> int:
    """How many rows rating_rows will produce for ``layout`` (progress denominator)."""
    if layout == "wide":
        return score_reads.rating_rows(campaign_ids=[campaign.pk]).count()
    return score_reads.score_rows(campaign_ids=[campaign.pk]).count()


def rating_rows(campaign: Campaign, *, with_unscored: bool, chunk_size: int) -> Iterator[list]:
    """Chunks of raw rows (RATING_FIELDS), one row per score, ordered by rating then criterion;
    with ``with_unscored`` ratings without scores (skips) come as one row with a null score."""
    # PostgreSQL: a named cursor lives in a transaction (and reads one snapshot). SQLite: one
    # SELECT is already a snapshot, and a transaction there would lock out writers.
    in_transaction = transaction.atomic() if connection.vendor == "postgresql" else nullcontext()
    with in_transaction:
        if connection.vendor == "postgresql":
            # A named cursor is planned for its first 10% of rows by default (nested loops);
            # this one is read to the end: plan for all rows (hash joins, one sort).
            with connection.cursor() as plain:
                plain.execute("SET LOCAL cursor_tuple_fraction = 1.0")
                # Sort in memory on the server (the worker's memory is not concerned).
                plain.execute("SET LOCAL work_mem = '128MB'")
        yield from _fetch(campaign, with_unscored=with_unscored, chunk_size=chunk_size)


def _fetch(campaign: Campaign, *, with_unscored: bool, chunk_size: int) -> Iterator[list]:
    with connection.chunked_cursor() as cursor:
        cursor.execute(_ratings_sql(with_unscored=with_unscored), [campaign.pk])
        while rows := cursor.fetchmany(chunk_size):
            yield rows


def criterion_keys(campaigns) -> list[str]:
    """The criterion keys of ``campaigns``, in their display order, each once."""
    keys: list[str] = []
    rows = Criterion.objects.filter(campaign__in=campaigns).order_by("campaign_id", "position")
    for key in rows.values_list("key", flat=True):
        if key not in keys:
            keys.append(key)
    return keys


# --- Audited dataset --------------------------------------------------------------------------

ITEM_FIELDS = (
    "id", "external_id", "kind", "method__key", "source_pair_id", "question", "answer",
    "conversation", "modality", "body_part", "provenance", "source_pair__context",
)  # fmt: skip


def dataset_item_chunks(dataset: Dataset, *, chunk_size: int) -> Iterator[list[tuple]]:
    """The dataset's items in id order, ``chunk_size`` at a time (keyset pages: no OFFSET)."""
    last = 0
    base = Item.objects.filter(dataset=dataset).order_by("id").values_list(*ITEM_FIELDS)
    while True:
        rows = list(base.filter(id__gt=last)[:chunk_size])
        if not rows:
            return
        yield rows
        last = rows[-1][0]


def image_paths(source_pair_ids) -> dict[int, list[str]]:
    """The original image paths of these source pairs, in order."""
    paths: dict[int, list[str]] = {}
    rows = (
        SourcePairImage.objects.filter(source_pair_id__in=source_pair_ids)
        .order_by("source_pair_id", "position")
        .values_list("source_pair_id", "path")
    )
    for pair_id, path in rows:
        paths.setdefault(pair_id, []).append(path)
    return paths


def dataset_source_format(dataset: Dataset) -> str:
    """The format the dataset's first item was imported from ("" when unknown)."""
    provenance = (
        Item.objects.filter(dataset=dataset).order_by("id").values_list("provenance", flat=True)
    ).first()
    return (provenance or {}).get("format", "") if isinstance(provenance, dict) else ""


# --- The PostgreSQL fast path: COPY ... TO STDOUT ---------------------------------------------

# The long layout as CSV text, formatted exactly as the Python path writes it (booleans as
# True/False, flags joined by ";", stratum by " / ", timestamps as UTC ISO 8601 with offset).
_LONG_COPY_SQL = """
    COPY (
        WITH rr AS MATERIALIZED (
            -- per rating, once (not once per score): the text the rows repeat
            SELECT r.id AS rating_id, ci.id AS campaign_item_id, i.id AS item_id,
                   i.external_id AS item_external_id, i.source_pair_id AS source_pair_id,
                   m.key AS method, d.name AS dataset, i.modality AS modality,
                   i.body_part AS body_part,
                   array_to_string(ARRAY(SELECT jsonb_array_elements_text(ci.stratum)), ' / ')
                       AS stratum,
                   ci.inclusion_probability AS inclusion_probability,
                   x.expert AS expert,
                   CASE WHEN a.is_repeat THEN 'True' ELSE 'False' END AS is_repeat,
                   NULLIF(array_to_string(
                       ARRAY(SELECT jsonb_array_elements_text(r.flags)), ';'), '') AS flags,
                   r.comment AS comment, r.active_seconds AS active_seconds,
                   to_char(r.submitted_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US')
                       || '+00:00' AS submitted_at,
                   r.revision AS revision
            FROM {rating} r
            JOIN {assignment} a ON a.id = r.assignment_id
            JOIN {campaign_item} ci ON ci.id = a.campaign_item_id
            JOIN {item} i ON i.id = ci.item_id
            JOIN {method_table} m ON m.id = ci.method_id
            JOIN {dataset_table} d ON d.id = i.dataset_id
            JOIN unnest(%s::bigint[], %s::text[]) AS x(id, expert) ON x.id = a.expert_id
            WHERE a.campaign_id = %s
        )
        SELECT %s AS campaign, rr.rating_id, rr.campaign_item_id, rr.item_id,
               {item_external_id} AS item_external_id, rr.source_pair_id, {method} AS method,
               {dataset} AS dataset, {modality} AS modality, {body_part} AS body_part,
               {stratum} AS stratum, rr.inclusion_probability, {expert} AS expert,
               rr.is_repeat,
               {criterion} AS criterion, s.value AS score, {flags} AS flags,
               {comment} AS comment, rr.active_seconds, rr.submitted_at, rr.revision
        FROM rr
        JOIN {score} s ON s.rating_id = rr.rating_id
        JOIN {criterion_table} c ON c.id = s.criterion_id
        ORDER BY rr.rating_id, c.position, c.id
    ) TO STDOUT WITH (FORMAT csv, HEADER true)
"""


# CSV exports neutralise formula cells (see sinks.neutralise_formula); this is the same rule in
# SQL for the COPY path.
_FORMULA_SQL = (
    "CASE WHEN left({0}, 1) IN ('=', '+', '-', '@', E'\\t', E'\\r') THEN '''' || {0} ELSE {0} END"
)
_LONG_TEXT_COLUMNS = {
    "item_external_id": "rr.item_external_id", "method": "rr.method", "dataset": "rr.dataset",
    "modality": "rr.modality", "body_part": "rr.body_part", "stratum": "rr.stratum",
    "expert": "rr.expert", "criterion": "c.key", "flags": "rr.flags", "comment": "rr.comment",
}  # fmt: skip


def rating_experts(campaign: Campaign) -> list[tuple[int, str]]:
    """(user id, username) of everyone with an assignment in the campaign."""
    return list(
        Assignment.objects.filter(campaign=campaign)
        .values_list("expert_id", "expert__username")
        .distinct()
        .order_by("expert_id")
    )


class CopyStream(io.RawIOBase):
    """A readable file over COPY's chunks (one per row), for readers that want a file (pyarrow's
    CSV reader): each read joins as many rows as fit, so Python works per buffer, not per row."""

    def __init__(self, chunks: Iterator[bytes]):
        self.chunks = chunks
        self.pending = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        want = len(buffer)
        parts, size = [self.pending], len(self.pending)
        if size < want:
            for chunk in self.chunks:
                parts.append(chunk)
                size += len(chunk)
                if size >= want:
                    break
        data = b"".join(parts)
        n = min(want, len(data))
        buffer[:n] = data[:n]
        self.pending = data[n:]
        return n


def copy_blocks(chunks: Iterator[bytes], size: int = 1 << 20) -> Iterator[bytes]:
    """COPY's rows joined into blocks of about ``size`` bytes."""
    parts, total = [], 0
    for chunk in chunks:
        parts.append(chunk)
        total += len(chunk)
        if total >= size:
            yield b"".join(parts)
            parts, total = [], 0
    if parts:
        yield b"".join(parts)


@contextmanager
def rating_long_copy(
    campaign: Campaign,
    *,
    expert_labels: dict[int, str],
    campaign_label: str,
    neutralise_formulas: bool = False,
):
    """PostgreSQL only: the long layout streamed as CSV bytes by the server (COPY TO STDOUT);
    yields ``(chunks, cursor)``; ``cursor.rowcount`` holds the row count once read. The
    ``campaign`` column holds ``campaign_label`` (a reader that fills it in itself passes "")."""
    from django.contrib.auth import get_user_model

    text = {
        name: _FORMULA_SQL.format(expr) if neutralise_formulas else expr
        for name, expr in _LONG_TEXT_COLUMNS.items()
    }
    sql = _LONG_COPY_SQL.format(
        rating=_t(Rating), assignment=_t(Assignment), campaign_item=_t(CampaignItem),
        item=_t(Item), dataset_table=_t(Dataset), score=_t(Score),
        criterion_table=_t(Criterion), method_table=_t(Method), user=_t(get_user_model()),
        **text,
    )  # fmt: skip
    ids = list(expert_labels)
    params = [ids, [expert_labels[i] for i in ids], campaign.pk, campaign_label]
    with transaction.atomic(), connection.cursor() as cursor:
        raw = cursor.cursor  # psycopg 3
        raw.execute("SET LOCAL work_mem = '128MB'")
        raw.execute("SET LOCAL jit = off")  # compiling costs more than it saves here
        with raw.copy(sql, params) as copy:
            yield iter(copy), raw


def campaign_export_history(user, campaign: Campaign, *, limit: int = 50) -> list[ExportJob]:
    """The campaign's exports ``user`` may see, newest first: its ratings exports and the
    audited-dataset exports that count this campaign's ratings."""
    visible = export_jobs_visible_to(user).order_by("-created_at")
    ratings = list(visible.filter(kind=ExportJob.Kind.RATINGS, campaign=campaign)[:limit])
    # options.campaign_ids is JSON: filtered here (JSON containment differs by database).
    dataset = [
        job
        for job in visible.filter(
            kind=ExportJob.Kind.DATASET, dataset__in=campaign.datasets.values("pk")
        )[: limit * 4]
        if campaign.pk in (job.options or {}).get("campaign_ids", ())
    ]
    return sorted(ratings + dataset, key=lambda j: j.created_at, reverse=True)[:limit]
