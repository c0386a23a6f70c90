"""Reads for the dataset layer, permission-aware."""

from collections.abc import Callable

from django.core import signing
from django.db.models import QuerySet
from django.urls import reverse

from audit.datasets.models import Dataset, Image, ImportJob, Item, SourcePairImage

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


def image_url(image: Image, *, size: int | None = None) -> str:
    """An opaque, expiring URL: a signed random id, nothing about the file or the item."""
    token = signing.TimestampSigner(salt=IMAGE_URL_SALT).sign(image.public_id.hex)
    url = reverse("datasets:image", kwargs={"token": token})
    return f"{url}?size={size}" if size else url


def image_from_token(token: str, *, max_age: int) -> Image | None:
    try:
        public_id = signing.TimestampSigner(salt=IMAGE_URL_SALT).unsign(token, max_age=max_age)
    except signing.BadSignature:
        return None
    return Image.objects.filter(public_id=public_id).first()


def source_pair_images(source_pair_id: int) -> list[SourcePairImage]:
    return list(
        SourcePairImage.objects.filter(source_pair_id=source_pair_id)
        .select_related("image")
        .order_by("position")
    )
