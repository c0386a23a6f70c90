"""Automatic analyses (after ratings) keep a minimum interval that grows with the campaign's size;
the owner's recompute is not held back by it, but stays one run at a time. Ratings go through
``rating_submit`` and the real post_save -> on_commit -> ``request_analysis`` path; what is
queued is read back from the test broker itself (Kombu's filesystem transport's queue folder, or
the Redis list of the analysis queue)."""

import base64
import json
import time
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from django.conf import settings as django_settings

from audit.reports.analysis import services
from audit.reports.models import AnalysisLease, AnalysisSnapshot
from tests.reports.conftest import assignments_of, rate, rate_all

SCORES = {"accuracy": 4, "relevance": 3, "completeness": 4, "usefulness": 2}
PER_1000 = 2000.0  # seconds per 1,000 ratings: 2 s a rating, so a few ratings make a difference


def _queued_messages() -> list[dict]:
    """The analysis queue's messages in the order sent, from the broker itself: Kombu's
    filesystem transport (the embedded default: one file per message) or Redis (CI: a list the
    producer pushes onto the left)."""
    queue = django_settings.CELERY_QUEUE_ANALYSIS
    url = django_settings.CELERY_BROKER_URL
    if url.startswith("redis"):
        import redis

        raw = redis.Redis.from_url(url).lrange(queue, 0, -1)
        return [json.loads(m) for m in reversed(raw)]
    folder = Path(django_settings.CELERY_BROKER_TRANSPORT_OPTIONS["data_folder_in"])
    return [json.loads(p.read_text()) for p in sorted(folder.glob(f"*.{queue}.msg"))]


def _tag(message: dict) -> str:
    return message["properties"]["delivery_tag"]


@pytest.fixture
def broker():
    """What this test queues on the analysis queue: ``[(campaign_id, trigger, eta)]``, in the
    order sent, messages left by earlier tests ignored."""
    before = {_tag(m) for m in _queued_messages()}

    def queued(campaign_id: int) -> list[tuple[int, str, datetime | None]]:
        out = []
        for message in _queued_messages():
            if _tag(message) in before:
                continue
            args, kwargs, _embed = json.loads(base64.b64decode(message["body"]))
            eta = message["headers"]["eta"]
            if args[0] == campaign_id:
                out.append((args[0], kwargs["trigger"], eta and datetime.fromisoformat(eta)))
        return out

    return queued


@pytest.fixture
def interval_settings(settings):
    settings.ANALYSIS_DEBOUNCE_SECONDS = 1
    settings.ANALYSIS_MIN_INTERVAL_SECONDS = 5
    settings.ANALYSIS_INTERVAL_PER_1000_RATINGS = PER_1000
    settings.ANALYSIS_MAX_INTERVAL_SECONDS = 3600
    settings.ANALYSIS_BOOTSTRAP_REPLICATES = 50
    return settings


def rate_through_the_signal(assignment, capture) -> None:
    with capture(execute=True):  # the commit that sends on_commit callbacks
        rate(assignment, SCORES)


def same_moment(a: datetime, b: datetime) -> bool:
    """Celery reads its own clock to turn the countdown into an eta: a moment apart."""
    return abs((a - b).total_seconds()) < 1


def started_at(campaign) -> datetime:
    return AnalysisLease.objects.get(campaign=campaign).started_at


@pytest.mark.django_db
def test_the_wait_after_a_run_grows_with_the_campaigns_size(
    launched_campaign, interval_settings, broker, django_capture_on_commit_callbacks
):
    campaign, _owner, _experts = launched_campaign
    queue = assignments_of(campaign)
    waits = {}
    for n in (6, 24):
        rate_all(campaign, limit=n)  # no commit hooks run here: nothing is queued
        assert services.analysis_run(campaign_id=campaign.pk, trigger="manual") == "succeeded"
        run_started = started_at(campaign)
        rate_through_the_signal(queue[n], django_capture_on_commit_callbacks)
        (_id, trigger, eta), *more = broker(campaign.pk)[len(waits) :]
        assert trigger == AnalysisSnapshot.Trigger.RATINGS and not more
        waits[n] = (eta - run_started).total_seconds()
        assert same_moment(services.analysis_next_automatic(campaign.pk), eta)  # for pages
        due = run_started + timedelta(seconds=services.automatic_interval(n))
        assert due <= eta < due + timedelta(seconds=2)  # whole seconds of countdown
        services.analysis_started(campaign.pk)  # the queued run starts: drops the debounce
    # n ratings -> n x 2 s: four times the ratings, about four times the wait
    assert waits[24] > 3 * waits[6] > 3 * interval_settings.ANALYSIS_MIN_INTERVAL_SECONDS


def test_the_interval_is_bounded_below_and_above(interval_settings):
    interval_settings.ANALYSIS_MAX_INTERVAL_SECONDS = 100
    small, large, huge = (services.automatic_interval(n) for n in (1, 40, 10_000))
    assert small == interval_settings.ANALYSIS_MIN_INTERVAL_SECONDS
    assert small < large < huge == interval_settings.ANALYSIS_MAX_INTERVAL_SECONDS


@pytest.mark.django_db
def test_ratings_while_a_run_is_pending_queue_nothing_more(
    launched_campaign, interval_settings, broker, django_capture_on_commit_callbacks
):
    campaign, _owner, _experts = launched_campaign
    queue = assignments_of(campaign)
    rate_all(campaign, limit=10)
    assert services.analysis_run(campaign_id=campaign.pk, trigger="manual") == "succeeded"
    rate_through_the_signal(queue[10], django_capture_on_commit_callbacks)
    time.sleep(1.2)  # the debounce window is over, the interval is not
    rate_through_the_signal(queue[11], django_capture_on_commit_callbacks)
    assert len(broker(campaign.pk)) == 1


@pytest.mark.django_db
def test_the_first_automatic_run_waits_only_for_the_debounce(
    launched_campaign, interval_settings, broker, django_capture_on_commit_callbacks
):
    campaign, _owner, _experts = launched_campaign
    before = datetime.now().astimezone()
    rate_through_the_signal(assignments_of(campaign)[0], django_capture_on_commit_callbacks)
    [(_id, _trigger, eta)] = broker(campaign.pk)
    assert eta < before + timedelta(seconds=services.automatic_interval(0))
    assert same_moment(services.analysis_next_automatic(campaign.pk), eta)


@pytest.mark.django_db
def test_a_manual_recompute_is_not_held_back_but_an_automatic_run_is(
    launched_campaign, interval_settings, broker, django_capture_on_commit_callbacks
):
    campaign, _owner, _experts = launched_campaign
    queue = assignments_of(campaign)
    rate_all(campaign, limit=12)
    assert services.analysis_run(campaign_id=campaign.pk, trigger="ratings") == "succeeded"
    first = started_at(campaign)

    # The owner asks at once: queued without a countdown, and it runs inside the interval.
    services.analysis_request_now(campaign=campaign)
    assert broker(campaign.pk) == [(campaign.pk, AnalysisSnapshot.Trigger.MANUAL, None)]
    rate_through_the_signal(queue[12], django_capture_on_commit_callbacks)
    assert services.analysis_run(campaign_id=campaign.pk, trigger="manual") == "succeeded"
    manual = started_at(campaign)
    assert manual > first
    assert AnalysisSnapshot.objects.filter(campaign=campaign).count() == 2

    # The automatic run queued by that rating, were it taken now, waits for the interval,
    # counted from the manual run, and makes no snapshot.
    assert services.analysis_run(campaign_id=campaign.pk, trigger="ratings") == "deferred"
    assert AnalysisSnapshot.objects.filter(campaign=campaign).count() == 2
    *_earlier, (_id, trigger, eta) = broker(campaign.pk)
    assert trigger == AnalysisSnapshot.Trigger.RATINGS
    assert eta >= manual + timedelta(seconds=services.automatic_interval(13))

    # Still one run at a time: a recompute asked while a run holds the lease does not start.
    token = services.lease_acquire(campaign.pk)
    assert services.analysis_run(campaign_id=campaign.pk, trigger="manual") == "locked"
    services.lease_release(campaign.pk, token)
    assert AnalysisSnapshot.objects.filter(campaign=campaign).count() == 2


class _CountingCache:
    """The real cache, counting the calls made through it."""

    def __init__(self, cache):
        self.cache, self.calls = cache, []

    def __getattr__(self, name):
        self.calls.append(name)
        return getattr(self.cache, name)


@pytest.mark.django_db
def test_a_process_that_knows_a_run_is_queued_asks_the_cache_nothing(
    launched_campaign, interval_settings, broker, monkeypatch
):
    """After every rating: no cache call while this process knows a run is queued (until a
    moment before it is due), one or two when it does not; a run that starts lets the next
    rating queue the next run."""
    interval_settings.ANALYSIS_DEBOUNCE_SECONDS = 60
    campaign = launched_campaign[0]
    counting = _CountingCache(services.cache)
    monkeypatch.setattr(services, "cache", counting)
    assert services.request_analysis(campaign.pk) is True
    (_id, _trigger, eta), *more = broker(campaign.pk)
    assert not more and counting.calls == ["add", "set"]

    counting.calls.clear()
    assert [services.request_analysis(campaign.pk) for _ in range(5)] == [False] * 5
    assert counting.calls == []
    # Another web process (nothing remembered) learns the due time from the cache once.
    services._queued_until.clear()
    assert [services.request_analysis(campaign.pk) for _ in range(5)] == [False] * 5
    assert counting.calls == ["add", "get"]
    assert services._queued_until[campaign.pk] == pytest.approx(eta.timestamp() - 2, abs=1)

    # Close to the due time it asks again (the run may start any moment).
    counting.calls.clear()
    monkeypatch.setattr(services.time, "time", lambda: eta.timestamp() - 1)
    assert services.request_analysis(campaign.pk) is False
    assert counting.calls == ["add", "get"]
    monkeypatch.undo()

    services.analysis_started(campaign.pk)
    assert services.request_analysis(campaign.pk) is True
    assert len(broker(campaign.pk)) == 2
