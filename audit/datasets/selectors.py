"""Reads for the dataset layer, permission-aware."""

import functools
import hashlib
import hmac
from collections.abc import Callable
from dataclasses import dataclass

from django.core import signing
from django.db import connection
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils.encoding import force_bytes

from audit.core.reversing import url_for
from audit.datasets.images import image_problem
from audit.datasets.models import Dataset, Image, ImportJob, Item, Method, SourcePairImage

IMAGE_URL_SALT = "audit.datasets.image-url"


def datasets_visible_to(user) -> QuerySet[Dataset]:
    """Staff see every dataset; an owner sees the datasets they own."""
    if not user.is_authenticated:
        return Dataset.objects.none()
    if user.is_staff:
        return Dataset.objects.all()
    return Dataset.objects.filter(owner=user)


def datasets_writable_by(user) -> QuerySet[Dataset]:
    """The datasets ``user`` may import into: a superuser, any; everyone else (staff included,
    who may read every dataset), only the datasets they own."""
    if not user.is_authenticated or not user.is_active:
        return Dataset.objects.none()
    if user.is_superuser:
        return Dataset.objects.all()
    return Dataset.objects.filter(owner=user)


def can_write_dataset(user, dataset: Dataset) -> bool:
    if not user.is_authenticated or not user.is_active:
        return False
    return user.is_superuser or (dataset.owner_id is not None and dataset.owner_id == user.pk)


def can_read_catalogue(user) -> bool:
    """Who may list construction methods (names, descriptions, prompts): staff, holders of a
    campaign or dataset permission, dataset owners and campaign owners. An expert may not: the
    catalogue would tell them how the items they rate were made."""
    if not user.is_authenticated:
        return False
    permissions = ("campaigns.add_campaign", "datasets.add_dataset", "datasets.add_method")
    if user.is_staff or any(user.has_perm(p) for p in permissions):
        return True
    if Dataset.objects.filter(owner=user).exists():
        return True
    # Campaign owners, through the reverse relation (this layer does not import campaigns).
    return user.campaign_memberships.filter(role="owner").exists()


def items_visible_to(user) -> QuerySet[Item]:
    return Item.objects.filter(dataset__in=datasets_visible_to(user))


def import_jobs_visible_to(user) -> QuerySet[ImportJob]:
    if not user.is_authenticated:
        return ImportJob.objects.none()
    if user.is_staff:
        return ImportJob.objects.all()
    return ImportJob.objects.filter(created_by=user)


# Higher layers add rules here (campaigns: an expert sees the images of their assignments)
# without this layer importing them.
IMAGE_ACCESS_RULES: list[Callable[[object, Image], bool]] = []


def user_can_view_image(user, image: Image) -> bool:
    """Whether ``user`` may see ``image``: staff, the owner of a dataset whose items' source pairs
    link it, or anyone a registered rule allows. Image files are content-addressed and shared on
    disk, but source pairs are per owner (SourcePair.key), so an owner reaches an image only
    through their own pairs: by having imported its bytes, never by naming another owner's path."""
    if not user.is_authenticated or not user.is_active:
        return False
    if user.is_staff:
        return True
    if SourcePairImage.objects.filter(
        image=image, source_pair__items__dataset__owner=user
    ).exists():
        return True
    return any(rule(user, image) for rule in IMAGE_ACCESS_RULES)


def user_owns_image(user, image: Image) -> bool:
    """Staff, or the owner of a dataset whose items' source pairs link ``image``: who may be
    told where its file is."""
    if not user.is_authenticated or not user.is_active:
        return False
    return (
        user.is_staff
        or SourcePairImage.objects.filter(
            image=image, source_pair__items__dataset__owner=user
        ).exists()
    )


@dataclass
class ImagesCheck:
    checked: int
    problems: list[str]  # "image <id> (<sha256 prefix>): <why>"


def images_check(
    *, stored_too: bool = False, full_hash: bool = False, dataset_name: str | None = None
) -> ImagesCheck:
    """The images imported in place (``stored_too``: every image) whose files are missing or
    changed: by size, or by sha256 with ``full_hash`` (reads every file)."""
    images = Image.objects.order_by("id").only("id", "sha256", "format", "size_bytes", "location")
    if not stored_too:
        images = images.exclude(location="")
    if dataset_name is not None:
        images = images.filter(
            Exists(
                SourcePairImage.objects.filter(
                    image=OuterRef("pk"), source_pair__items__dataset__name=dataset_name
                )
            )
        )
    checked, problems = 0, []
    for image in images.iterator(chunk_size=2000):
        checked += 1
        why = image_problem(image, full_hash=full_hash)
        if why:
            problems.append(f"image {image.pk} ({image.sha256[:12]}): {why}")
    return ImagesCheck(checked, problems)


class _ImageSigner(signing.TimestampSigner):
    """Django's TimestampSigner, same tokens, with the HMAC key derived once per secret (its
    ``salted_hmac`` hashes the secret again on every call; an item's page signs each image)."""

    def signature(self, value, key=None):
        mac = _hmac_for(self.salt + "signer", force_bytes(key or self.key), self.algorithm).copy()
        mac.update(force_bytes(value))
        return signing.b64_encode(mac.digest()).decode()


@functools.lru_cache(maxsize=16)
def _hmac_for(salt: str, secret: bytes, algorithm: str):
    hasher = getattr(hashlib, algorithm)
    return hmac.new(hasher(force_bytes(salt) + secret).digest(), digestmod=hasher)


def image_urls(image: Image, *sizes: int | None) -> list[str]:
    """Opaque, expiring URLs of one image (``None``: full size; else a thumbnail's longest
    side): a signed random id, nothing about the file or the item; signed once for all."""
    token = _ImageSigner(salt=IMAGE_URL_SALT).sign(image.public_id.hex)
    url = url_for("datasets:image", token=token)
    return [f"{url}?size={size}" if size else url for size in sizes]


def image_url(image: Image, *, size: int | None = None) -> str:
    return image_urls(image, size)[0]


def image_from_token(token: str, *, max_age: int) -> Image | None:
    try:
        public_id = _ImageSigner(salt=IMAGE_URL_SALT).unsign(token, max_age=max_age)
    except signing.BadSignature:
        return None
    return Image.objects.filter(public_id=public_id).first()


def source_pair_images(source_pair_id: int) -> list[SourcePairImage]:
    return list(
        SourcePairImage.objects.filter(source_pair_id=source_pair_id)
        .select_related("image")
        .order_by("position")
    )


# The dataset browser. A dataset can hold a million items: every read here is bounded (a page,
# a capped count, a capped list of values) and walks an index that leads with the dataset.


@dataclass(frozen=True)
class ItemFilters:
    method: str = ""  # a method key
    modality: str = ""
    body_part: str = ""
    text: str = ""  # in the question or the answer


@dataclass(frozen=True)
class ItemPage:
    items: list[Item]
    next_after: int | None  # the cursor of the next page, None on the last
    previous_before: int | None  # the cursor of the previous page, None on the first
    # A text search that stopped at its window before filling the page: the item id it read to.
    searched_to: int | None = None


# Items a text search reads per request: without a text index a rare term would otherwise
# read the whole dataset (seconds at 1M items); the page offers to search further.
TEXT_SCAN_WINDOW = 100_000


def datasets_browsable_by(user) -> QuerySet[Dataset]:
    """The datasets listed to ``user`` in the browser; experts, owning none, are listed nothing
    (the view refuses them the page)."""
    return datasets_visible_to(user).select_related("owner").order_by("name")


def dataset_items_filtered(dataset: Dataset, filters: ItemFilters) -> QuerySet[Item]:
    items = Item.objects.filter(dataset=dataset)
    if filters.method:
        items = items.filter(method__key=filters.method)
    if filters.modality:
        items = items.filter(modality=filters.modality)
    if filters.body_part:
        items = items.filter(body_part=filters.body_part)
    if filters.text:
        # No text index: see TEXT_SCAN_WINDOW for how a page bounds the scan.
        text = filters.text
        items = items.filter(Q(question__icontains=text) | Q(answer__icontains=text))
    return items


def dataset_items_page(
    dataset: Dataset,
    filters: ItemFilters,
    *,
    after: int | None = None,
    before: int | None = None,
    size: int = 50,
    scan_window: int = TEXT_SCAN_WINDOW,
) -> ItemPage:
    """One page of the filtered items in id order, by keyset (``after`` / ``before`` an item
    id): no OFFSET, so page 20,000 costs what page 1 does. A text search pages forward only,
    reading at most ``scan_window`` of the dataset's items per page."""
    items = dataset_items_filtered(dataset, filters)
    if filters.text:
        return _text_search_page(dataset, items, after=after, size=size, window=scan_window)
    if before is not None:
        rows = list(items.filter(pk__lt=before).order_by("-pk")[: size + 1])
        earlier = len(rows) > size
        rows = rows[:size][::-1]
        later = items.filter(pk__gte=before).exists()
    else:
        start = items.filter(pk__gt=after) if after is not None else items
        rows = list(start.order_by("pk")[: size + 1])
        later = len(rows) > size
        rows = rows[:size]
        earlier = after is not None and items.filter(pk__lte=after).exists()
    _attach_method_and_thumbnail(rows)
    return ItemPage(
        items=rows,
        next_after=rows[-1].pk if rows and later else None,
        previous_before=rows[0].pk if rows and earlier else None,
    )


def _text_search_page(
    dataset: Dataset, items: QuerySet[Item], *, after: int | None, size: int, window: int
) -> ItemPage:
    # The window: the dataset's next ``window`` items after the cursor. Its edge is found by
    # offset over ids (reads the window once), not by a "first id" lookup, which PostgreSQL
    # answers by walking the primary key through other datasets' items.
    start = after or 0
    ids = Item.objects.filter(dataset=dataset, pk__gt=start).order_by("pk")
    edge = list(ids.values_list("pk", flat=True)[window - 1 : window + 1])
    in_window = items.filter(pk__gt=start, pk__lte=edge[0]) if edge else items.filter(pk__gt=start)
    rows = list(in_window.order_by("pk")[: size + 1])
    searched_to = None
    if len(rows) > size:
        rows = rows[:size]
        next_after = rows[-1].pk
    elif len(edge) == 2:  # items remain past the window
        next_after = searched_to = edge[0]
    else:
        next_after = None
    _attach_method_and_thumbnail(rows)
    return ItemPage(
        items=rows, next_after=next_after, previous_before=None, searched_to=searched_to
    )


def count_capped(items: QuerySet, cap: int) -> tuple[int, bool]:
    """How many of ``items``, counting no further than ``cap``: (count, whether capped)."""
    n = items[: cap + 1].count()
    return min(n, cap), n > cap


def _attach_method_and_thumbnail(items: list[Item], size: int = 128) -> None:
    """Sets ``item.method_name`` and ``item.thumbnail_url`` (the first image of its source pair
    that resolved to a stored file, or None), in two queries for the page."""
    methods = dict(
        Method.objects.filter(pk__in={i.method_id for i in items}).values_list("pk", "name")
    )
    first: dict[int, Image] = {}
    links = (
        SourcePairImage.objects.filter(
            source_pair_id__in={i.source_pair_id for i in items}, image__isnull=False
        )
        .select_related("image")
        .order_by("source_pair_id", "position")
    )
    for link in links:
        first.setdefault(link.source_pair_id, link.image)
    for item in items:
        item.method_name = methods.get(item.method_id, "")
        image = first.get(item.source_pair_id)
        item.thumbnail_url = image_url(image, size=size) if image else None


def dataset_methods(dataset: Dataset) -> list[Method]:
    """The methods with at least one item in ``dataset`` (one index probe per method)."""
    used = Item.objects.filter(dataset=dataset, method=OuterRef("pk"))
    return list(Method.objects.filter(Exists(used)).order_by("name"))


def dataset_values(dataset: Dataset, field: str, *, limit: int = 200) -> list[str]:
    """The distinct non-empty values of ``field`` ("modality" or "body_part") in ``dataset``,
    sorted, at most ``limit``. A loose index scan (each step jumps to the next larger value in
    the (dataset, field) index): DISTINCT would read every item of the dataset."""
    if field not in ("modality", "body_part"):
        raise ValueError(f"not a browsable field: {field}")
    quote = connection.ops.quote_name
    table = quote(Item._meta.db_table)
    column = quote(Item._meta.get_field(field).column)
    dataset_column = quote(Item._meta.get_field("dataset").column)
    sql = f"""
        WITH RECURSIVE walk(value, n) AS (
            SELECT MIN({column}), 1 FROM {table} WHERE {dataset_column} = %s
            UNION ALL
            SELECT (SELECT MIN({column}) FROM {table}
                    WHERE {dataset_column} = %s AND {column} > walk.value), walk.n + 1
            FROM walk WHERE walk.value IS NOT NULL AND walk.n <= %s
        )
        SELECT value FROM walk WHERE value IS NOT NULL AND value <> ''
    """  # noqa: S608 (identifiers from the model's metadata, values bound)
    with connection.cursor() as cursor:
        cursor.execute(sql, [dataset.pk, dataset.pk, limit])
        return [row[0] for row in cursor.fetchall()][:limit]
