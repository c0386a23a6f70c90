"""The demo data: seed_demo makes the accounts, a dataset with every method and a rated campaign."""

import pytest
from django.contrib.auth import authenticate
from django.contrib.auth.password_validation import validate_password
from django.core.management import call_command

from annotations.models import Rating, Score
from audit.campaigns.models import Campaign
from audit.datasets.models import Dataset, Method, SourcePair
from audit.reports.models import AnalysisSnapshot
from audit.site.demo import DEMO_ACCOUNTS, DEMO_CAMPAIGN, DEMO_DATASET
from tests.factories import UserFactory

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
    campaign = Campaign.objects.get(name=DEMO_CAMPAIGN)
    assert campaign.status == "active"
    assert campaign.memberships.filter(role="expert").count() == 3
    assert campaign.items.count() == 4 * 4  # all 4 eligible source pairs x 4 methods
    rated = Rating.objects.filter(assignment__campaign=campaign)
    assert 0 < rated.count() < campaign.assignments.count()  # some rated, some left to rate
    assert Score.objects.filter(rating__in=rated).count() == rated.count() * 4
    # Every rated item has all three experts' ratings, and the first analysis is there.
    for item in campaign.items.filter(assignments__rating__isnull=False).distinct():
        assert Rating.objects.filter(assignment__campaign_item=item).count() == 3
    snapshot = AnalysisSnapshot.objects.filter(campaign=campaign).latest("created_at")
    assert snapshot.n_ratings == rated.count()
    call_command("seed_demo", "--pairs", "4")  # a second run changes nothing
    assert dataset.items.count() == 4 * 5
    assert Campaign.objects.count() == 1


def test_the_demo_passwords_pass_the_validators():
    for account in DEMO_ACCOUNTS:
        user = UserFactory.build(username=account.username)
        validate_password(account.password, user)
