"""Reads for exports: who may export what, and the rows, streamed in chunks from a server-side
cursor (on PostgreSQL Django's chunked cursor is a named psycopg cursor), so memory stays flat
whatever the size of a campaign or dataset."""

from collections.abc import Iterator
from contextlib import nullcontext

from django.db import connection, transaction
from django.db.models import Q, QuerySet

from annotations.models import Rating, Score
from audit.campaigns.models import Assignment, Campaign, CampaignItem, Criterion
from audit.campaigns.selectors import campaigns_owned_by
from audit.datasets.models import Dataset, Item, Method, SourcePairImage
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
    "dataset", "modality", "body_part", "stratum", "expert_id", "expert_username", "is_repeat",
    "criterion", "score", "flags", "comment", "active_seconds", "submitted_at", "revision",
    "skipped", "skip_reason",
)  # fmt: skip


def _t(model) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def _ratings_sql(*, with_unscored: bool) -> str:
    join = "LEFT JOIN" if with_unscored else "JOIN"
    from django.contrib.auth import get_user_model

    return f"""
        SELECT r.id, ci.id, i.id, i.external_id, i.source_pair_id, m.key, d.name, i.modality,
               i.body_part, ci.stratum, a.expert_id, u.username, a.is_repeat, c.key, s.value,
               r.flags, r.comment, r.active_seconds, r.submitted_at, r.revision, r.skipped,
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
        return Rating.objects.filter(assignment__campaign=campaign).count()
    return Score.objects.filter(rating__assignment__campaign=campaign).count()


def rating_rows(campaign: Campaign, *, with_unscored: bool, chunk_size: int) -> Iterator[list]:
    """Chunks of raw rows (RATING_FIELDS), one row per score, ordered by rating then criterion;
    with ``with_unscored`` ratings without scores (skips) come as one row with a null score."""
    # PostgreSQL: a named cursor lives in a transaction (and reads one snapshot). SQLite: one
    # SELECT is already a snapshot, and a transaction there would lock out writers.
    in_transaction = transaction.atomic() if connection.vendor == "postgresql" else nullcontext()
    with in_transaction, connection.chunked_cursor() as cursor:
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


def item_scores(item_ids: list[int], campaign_ids: list[int]):
    """(item id, criterion key, score) of the scored ratings of these items in these campaigns."""
    return Score.objects.filter(
        rating__assignment__campaign_item__item_id__in=item_ids,
        rating__assignment__campaign_id__in=campaign_ids,
    ).values_list("rating__assignment__campaign_item__item_id", "criterion__key", "value")


def item_ratings(item_ids: list[int], campaign_ids: list[int]):
    """(item id, flags) of the non-skipped ratings of these items in these campaigns."""
    return Rating.objects.filter(
        assignment__campaign_item__item_id__in=item_ids,
        assignment__campaign_id__in=campaign_ids,
        skipped=False,
    ).values_list("assignment__campaign_item__item_id", "flags")


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
