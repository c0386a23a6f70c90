"""The shared read side of scores: each filter keeps exactly the rows it names (checked against
what was submitted), so analysis, quality reports and exports read the same rows."""

from datetime import timedelta

import pytest
from django.utils import timezone

from annotations.models import Rating
from audit.reports import scores
from tests.reports.conftest import rate_all

pytestmark = pytest.mark.django_db


@pytest.fixture
def rated(launched_campaign):
    campaign, _owner, _experts = launched_campaign
    given = rate_all(campaign, seed=5, skip_every=7)
    return campaign, given


def test_score_rows_of_a_campaign_are_the_submitted_scores(rated):
    campaign, given = rated
    rows = scores.score_rows(campaign_ids=[campaign.pk]).values_list(
        scores.EXPERT_ID, scores.CAMPAIGN_ITEM_ID, scores.IS_REPEAT, scores.CRITERION_KEY,
        scores.VALUE,
    )  # fmt: skip
    expected = {
        (e, i, r, key, value)
        for (e, i, r), submitted in given.items()
        for key, value in submitted.items()
    }
    assert set(rows) == expected and len(rows) == len(expected)
    assert scores.score_rows(campaign_ids=[campaign.pk + 1000]).count() == 0


def test_filters_keep_first_ratings_scored_ones_and_the_period(rated):
    campaign, given = rated
    ids = [campaign.pk]
    n_first = sum(len(s) for (_e, _i, repeat), s in given.items() if not repeat)
    assert scores.score_rows(campaign_ids=ids, first_only=True).count() == n_first
    # Skipped ratings carry no scores: leaving them out changes nothing here.
    assert (
        scores.score_rows(campaign_ids=ids, scored_only=True).count()
        == scores.score_rows(campaign_ids=ids).count()
    )
    assert scores.score_rows(campaign_ids=ids, submitted_before=timezone.now()).count() == sum(
        len(s) for s in given.values()
    )
    past = timezone.now() - timedelta(days=1)
    assert scores.score_rows(campaign_ids=ids, submitted_before=past).count() == 0


def test_item_filter_and_rating_rows(rated):
    campaign, _given = rated
    ids = [campaign.pk]
    ratings = Rating.objects.filter(assignment__campaign=campaign)
    assert scores.rating_rows(campaign_ids=ids).count() == ratings.count()
    assert (
        scores.rating_rows(campaign_ids=ids, scored_only=True).count()
        == ratings.filter(skipped=False).count()
    )
    item_id = ratings.values_list("assignment__campaign_item__item_id", flat=True).first()
    of_item = scores.score_rows(campaign_ids=ids, item_ids=[item_id])
    assert set(of_item.values_list(scores.ITEM_ID, flat=True)) == {item_id}
    assert set(
        scores.rating_rows(campaign_ids=ids, item_ids=[item_id]).values_list(
            scores.RATING_ITEM_ID, flat=True
        )
    ) == {item_id}
