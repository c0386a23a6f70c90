"""The long-session helpers of the expert's pages: the time left from the expert's own median
active time (read from grouped counts in a query the pages already make), History's previews
(blinded: the page's own opaque image URLs and presented text), and the query counts they keep."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from annotations import selectors
from audit.campaigns.models import Assignment, Campaign
from tests.annotations.conftest import queue_of, rate_url, submit

pytestmark = pytest.mark.django_db


def test_grouped_median_interpolates_within_its_class():
    edges = (10, 20, 30)
    assert selectors.grouped_median([0, 0, 0], 0, edges) is None
    # 4 values, 2 under 10 and 2 in [10, 20): the median is at the border, 10.
    assert selectors.grouped_median([2, 4, 4], 4, edges) == 10
    # 3 values in [10, 20): half (1.5) of them -> halfway through the class.
    assert selectors.grouped_median([0, 3, 3], 3, edges) == 15
    # Most beyond the last edge: the last edge.
    assert selectors.grouped_median([0, 0, 1], 3, edges) == 30


def test_grouped_median_is_close_to_the_exact_one():
    import random
    import statistics

    rng = random.Random(3)
    for _ in range(50):
        values = [rng.lognormvariate(4, 0.6) for _ in range(rng.randint(5, 400))]
        below = [sum(v < e for v in values) for e in selectors.PACE_EDGES]
        estimate = selectors.grouped_median(below, len(values))
        exact = statistics.median(values)
        if exact < selectors.PACE_EDGES[-1]:
            assert abs(estimate - exact) <= 0.15 * exact + 3, (estimate, exact)


def test_format_duration():
    assert selectors.format_duration(20) == "under a minute"
    assert selectors.format_duration(7 * 60 + 10) == "7 min"
    assert selectors.format_duration(23 * 60) == "25 min"
    assert selectors.format_duration(65 * 60) == "1 h 05 min"


def test_time_left_on_the_rating_page_and_the_queue(expert_setup):
    client, campaign, expert, _, _ = expert_setup
    items = queue_of(campaign, expert)
    for assignment in items[:2]:
        submit(client, assignment, active_seconds=60)
    page = client.get(rate_url(items[2]))
    assert page.context["page"].time_left is None  # two timed items are not yet a pace
    submit(client, items[2], active_seconds=60)
    Assignment.objects.filter(pk__in=[a.pk for a in items[:3]]).update(active_seconds=60)
    left = len(items) - 3
    page = client.get(rate_url(items[3]))
    estimate = page.context["page"].time_left
    assert estimate.left == left and estimate.timed == 3
    assert 60 <= estimate.median <= 75  # within the class that holds 60 s
    assert 'id="time-left"' in page.content.decode()
    queue = client.get(reverse("annotations:queue"))
    (card,) = [c for c in queue.context["campaigns"] if c.pk == campaign.pk]
    assert card.time_left.seconds == pytest.approx(estimate.seconds)
    assert estimate.label in queue.content.decode()
    # The API's payload is unchanged (no estimate: it is the page's).
    assert selectors.rating_page(items[3], neighbours=False).time_left is None


def image_of(url: str) -> str:
    """The image an opaque URL names (its random id), without the signature and its time."""
    return url.split("/images/", 1)[1].split(":", 1)[0]


def test_history_previews_are_what_the_expert_saw(expert_setup):
    client, campaign, expert, _, _ = expert_setup
    Campaign.objects.filter(pk=campaign.pk).update(
        design={**campaign.design, "presentation": {"strip_figure_labels": True}}
    )
    items = queue_of(campaign, expert)
    for assignment in items[:3]:
        submit(client, assignment)
    page = client.get(reverse("annotations:history", args=[campaign.public_id]))
    html = page.content.decode()
    for entry, assignment in zip(page.context["entries"], items[:3], strict=True):
        rated = client.get(rate_url(assignment)).context["page"]
        # The same opaque thumbnail URL scheme as the page; the text as the page shows it.
        # (the signed part holds the signing time: two requests a second apart differ there)
        assert image_of(entry["thumb"]) in [image_of(i["thumb"]) for i in rated.images]
        assert entry["thumb"].endswith(f"?size={selectors.THUMBNAIL_SIZE}")
        first_words = " ".join(rated.answer.split()[:5])
        assert entry["snippet"].startswith(first_words.replace("*", "").replace("_", ""))
        assert not entry["snippet"].startswith("Fig")
        assert f'href="{entry["url"]}?from=history"' in html
        item = assignment.campaign_item.item
        for secret in (item.method.key, item.dataset.name, str(item.pk) + ".png"):
            assert secret not in entry["thumb"]
    # The API's history has no previews (its serializer is unchanged).
    api = client.get(reverse("expert-api:history", args=[campaign.public_id])).json()
    assert "thumb" not in api[0] and "snippet" not in api[0]


def test_a_revision_opened_from_history_returns_there(expert_setup):
    client, campaign, expert, _, _ = expert_setup
    first = queue_of(campaign, expert)[0]
    submit(client, first)
    plain = client.get(rate_url(first)).context["config"]
    assert "returnUrl" not in plain
    config = client.get(rate_url(first) + "?from=history").context["config"]
    history = reverse("annotations:history", args=[campaign.public_id])
    assert config["returnUrl"] == f"{history}#a-{first.public_id}"


def _count(client, url) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


def test_the_pages_make_no_more_queries_than_before(expert_setup):
    """Before these features: rating page 7 (pending) / 10 (rated), History 7, queue 3."""
    client, campaign, expert, _, _ = expert_setup
    items = queue_of(campaign, expert)
    for assignment in items[:3]:
        submit(client, assignment, active_seconds=30)
    assert _count(client, rate_url(items[4])) <= 7
    assert _count(client, rate_url(items[1])) <= 10
    assert _count(client, reverse("annotations:history", args=[campaign.public_id])) <= 7
    assert _count(client, reverse("annotations:queue")) <= 3
