import pytest
from django.contrib.auth import authenticate
from django.core.management import call_command

from audit.core.demo import DEMO_ACCOUNTS, DEMO_DATASET
from audit.datasets.models import Dataset, Method, SourcePair

pytestmark = pytest.mark.django_db


def test_seed_demo_makes_accounts_and_a_dataset_with_every_method(settings, tmp_path):
    settings.VAR_DIR = tmp_path
    call_command("seed_demo", "--pairs", "4")
    for account in DEMO_ACCOUNTS:
        user = authenticate(username=account.username, password=account.password)
        assert user is not None, account.username
        assert user.is_staff == (account.role != "expert")
    dataset = Dataset.objects.get(name=DEMO_DATASET)
    assert dataset.owner.username == "owner"
    builtin = set(Method.objects.filter(builtin=True).values_list("key", flat=True))
    assert SourcePair.objects.count() == 4
    for pair in SourcePair.objects.all():
        assert set(pair.items.values_list("method__key", flat=True)) == builtin
        assert pair.caption
        assert all(link.image_id for link in pair.images.all())
    call_command("seed_demo", "--pairs", "4")  # a second run changes nothing
    assert dataset.items.count() == 4 * 5
