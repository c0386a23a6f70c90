"""Source pairs are keyed within their owner's scope (issue 18.1): key "<owner id>:<sha256>" for
the pairs of an owner's datasets, the bare sha256 for datasets without an owner.

Before, keys were global, so an import by one owner could link its records to another owner's
source pair (and change its caption, or read it and its images). Existing data is brought in
line: a pair whose items lie in datasets of more than one owner is split, one copy (with its
image links) for each further owner, whose items move to it; the pair keeps the items of its
first importer (the owner of its oldest item). Then every pair's key takes its owner's prefix.
Campaign items and regeneration outputs keep naming the pair they were made from.

Not reversible: split pairs cannot be merged back under one global key.
"""

from django.db import migrations, models
from django.db.models import Count, F, Q, Value
from django.db.models.functions import Concat


def _scope(owner_id):
    return f"{owner_id}:" if owner_id is not None else ""


def split_and_scope(apps, schema_editor):
    Dataset = apps.get_model("datasets", "Dataset")
    Item = apps.get_model("datasets", "Item")
    SourcePair = apps.get_model("datasets", "SourcePair")
    SourcePairImage = apps.get_model("datasets", "SourcePairImage")

    shared = list(
        Item.objects.values("source_pair_id")
        .annotate(
            owners=Count("dataset__owner", distinct=True),
            ownerless=Count("pk", filter=Q(dataset__owner__isnull=True)),
        )
        .filter(Q(owners__gt=1) | Q(owners=1, ownerless__gt=0))
        .values_list("source_pair_id", flat=True)
    )
    for pair_id in shared:
        pair = SourcePair.objects.get(pk=pair_id)
        items = Item.objects.filter(source_pair_id=pair_id)
        first = items.order_by("pk").values_list("dataset__owner_id", flat=True)[0]
        owners = set(items.values_list("dataset__owner_id", flat=True).distinct()) - {first}
        links = list(SourcePairImage.objects.filter(source_pair_id=pair_id).order_by("position"))
        # The pair takes its first owner's prefix now, so an ownerless copy can have the bare key.
        SourcePair.objects.filter(pk=pair_id).update(key=_scope(first) + pair.key)
        for owner_id in sorted(owners, key=lambda o: (o is not None, o or 0)):
            copy = SourcePair.objects.create(
                key=_scope(owner_id) + pair.key,
                caption=pair.caption,
                context=pair.context,
                source_ref=pair.source_ref,
                modality=pair.modality,
                body_part=pair.body_part,
                image_count=pair.image_count,
            )
            SourcePairImage.objects.bulk_create(
                SourcePairImage(
                    source_pair_id=copy.pk,
                    position=link.position,
                    path=link.path,
                    image_id=link.image_id,
                )  # fmt: skip
                for link in links
            )
            theirs = (
                Q(dataset__owner__isnull=True)
                if owner_id is None
                else Q(dataset__owner_id=owner_id)
            )
            items.filter(theirs).update(source_pair_id=copy.pk)

    # Every pair now has the items of one scope: prefix the owned ones (copies made above
    # carry their prefix already; an ownerless scope has none).
    owner_ids = Dataset.objects.exclude(owner=None).values_list("owner_id", flat=True).distinct()
    for owner_id in owner_ids:
        used = Item.objects.filter(dataset__owner_id=owner_id).values("source_pair_id")
        SourcePair.objects.filter(pk__in=used).exclude(key__contains=":").update(
            key=Concat(Value(_scope(owner_id)), F("key"), output_field=models.CharField())
        )


class Migration(migrations.Migration):
    dependencies = [
        ("datasets", "0004_item_kind_caption_label"),
    ]

    operations = [
        migrations.AlterField(
            model_name="sourcepair",
            name="key",
            field=models.CharField(max_length=96),
        ),
        migrations.RunPython(split_and_scope, reverse_code=None),
    ]
