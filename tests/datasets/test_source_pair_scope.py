"""Source pairs are keyed within their owner's scope (issue 18.1); the attacks themselves are in
tests/security/test_import_isolation.py. Runs on both writers (ORM here, COPY on PostgreSQL)."""

import importlib

import pytest
from django.apps import apps

from audit.datasets.models import Dataset, Item, SourcePair, SourcePairImage
from audit.datasets.services import dataset_import
from tests.conftest import pmv_record, png_bytes, write_json, write_zip
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

migration = importlib.import_module("audit.datasets.migrations.0005_source_pair_owner_scope")


def test_each_owner_gets_own_pairs_and_reimports_reuse_them(tmp_path):
    alice, bob = UserFactory(username="alice"), UserFactory(username="bob")
    records = [pmv_record(str(i), [f"images/{i}.png", "images/shared.png"]) for i in range(5)]
    path = write_json(tmp_path / "d.json", records)
    for owner, name in ((alice, "A1"), (alice, "A2"), (bob, "B")):
        dataset_import(path=path, dataset_name=name, owner=owner)
    assert SourcePair.objects.count() == 10  # 5 for alice (shared by A1 and A2), 5 for bob
    for owner, names in ((alice, ["A1", "A2"]), (bob, ["B"])):
        pairs = SourcePair.objects.filter(items__dataset__name__in=names).distinct()
        assert pairs.count() == 5
        assert all(p.key.startswith(f"{owner.pk}:") and len(p.key) <= 96 for p in pairs)
    summary = dataset_import(path=path, dataset_name="B", owner=bob)
    assert summary.items_duplicate == 5 and summary.source_pairs_created == 0
    assert SourcePair.objects.count() == 10


def test_image_links_are_filled_only_within_the_scope(tmp_path):
    """Images imported later attach to the owner's own pairs only."""
    alice, bob = UserFactory(username="alice"), UserFactory(username="bob")
    path = write_json(tmp_path / "d.json", [pmv_record("1", ["images/x.png"])])
    dataset_import(path=path, dataset_name="A", owner=alice)
    zipped = write_zip(tmp_path / "i.zip", {"images/x.png": png_bytes()})
    dataset_import(path=path, dataset_name="B", image_sources=[zipped], owner=bob)
    links = dict(SourcePairImage.objects.values_list("source_pair__items__dataset__name", "image"))
    assert links["A"] is None and links["B"] is not None


def test_migration_splits_pairs_shared_across_owners_and_prefixes_keys(tmp_path):
    """Data made before the fix: one pair used by items of alice, bob and an ownerless dataset;
    another used by alice alone; one with no items."""
    alice, bob = UserFactory(username="alice"), UserFactory(username="bob")
    records = [pmv_record("1", ["images/1.png"]), pmv_record("2", ["images/2.png"])]
    dataset_import(path=write_json(tmp_path / "a.json", records), dataset_name="A", owner=alice)
    dataset_import(path=write_json(tmp_path / "b.json", records[:1]), dataset_name="B", owner=bob)
    dataset_import(path=write_json(tmp_path / "n.json", records[:1]), dataset_name="N")
    # Back to the data of before the fix: global keys, everyone's items on alice's pairs.
    first = Item.objects.get(dataset__name="A", external_id="1").source_pair
    bare = first.key.partition(":")[2]
    others = SourcePair.objects.filter(items__dataset__name__in=["B", "N"])
    other_ids = list(others.values_list("pk", flat=True))
    Item.objects.filter(source_pair_id__in=other_ids).update(source_pair=first)
    SourcePair.objects.filter(pk__in=other_ids).delete()
    for pair in SourcePair.objects.all():
        SourcePair.objects.filter(pk=pair.pk).update(key=pair.key.rpartition(":")[2])
    SourcePair.objects.filter(pk=first.pk).update(caption="caption")
    orphan = SourcePair.objects.create(key="f" * 64)
    assert Item.objects.filter(source_pair=first).count() == 3

    migration.split_and_scope(apps, None)

    def pair_of(name):
        return Item.objects.get(dataset__name=name, external_id="1").source_pair

    a, b, n = pair_of("A"), pair_of("B"), pair_of("N")
    assert a.pk == first.pk and len({a.pk, b.pk, n.pk}) == 3
    assert (a.key, b.key, n.key) == (f"{alice.pk}:{bare}", f"{bob.pk}:{bare}", bare)
    for copy in (b, n):
        assert copy.caption == "caption"
        assert list(copy.images.values_list("position", "path")) == [(0, "images/1.png")]
    two = Item.objects.get(dataset__name="A", external_id="2").source_pair
    assert two.key.startswith(f"{alice.pk}:")
    orphan.refresh_from_db()
    assert orphan.key == "f" * 64
    # And imports after the migration find the migrated pairs.
    summary = dataset_import(
        path=write_json(tmp_path / "b2.json", records), dataset_name="B", owner=bob
    )
    assert summary.source_pairs_reused == 1 and summary.source_pairs_created == 1
    assert Dataset.objects.get(name="B").items.count() == 2
