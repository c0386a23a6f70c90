"""Each expert's queue counts (QueueCount), kept by the database's triggers: after every kind of
write an assignment sees (the launch, the common submit, a submit through the general path, a
skip, a revision, a draft, experts changed mid-campaign, an account deleted), they equal a
count of the assignments themselves."""

import threading
import uuid

import pytest
from django.db import connection
from django.db.models import Count, Q, QuerySet

from annotations.services import draft_save, expert_rating_submit, rating_submit
from audit.campaigns.models import Assignment, QueueCount
from audit.campaigns.services import campaign_set_experts
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

SCORES = {"accuracy": 4, "relevance": 3, "completeness": 5, "usefulness": 2}


def counted(campaign) -> dict:
    """(total, done) per expert, counted from the assignments (what the triggers keep)."""
    rows = (
        Assignment.objects.filter(campaign=campaign)
        .values("expert_id")
        .annotate(total=Count("id"), done=Count("id", filter=~Q(status="pending")))
    )
    return {r["expert_id"]: (r["total"], r["done"]) for r in rows}


def kept(campaign) -> dict:
    """The same from QueueCount, leaving out queues that are now empty."""
    rows = QueueCount.objects.filter(campaign=campaign).values_list("expert_id", "total", "done")
    return {expert: (total, done) for expert, total, done in rows if (total, done) != (0, 0)}


def first_pending(campaign, expert) -> Assignment:
    return (
        Assignment.objects.filter(campaign=campaign, expert=expert, status="pending")
        .order_by("position")
        .first()
    )


def test_the_counts_follow_every_write_to_a_queue(launched_campaign):
    campaign, _owner, (a, b, c) = launched_campaign
    assert kept(campaign) == counted(campaign) == {e.pk: (24, 0) for e in (a, b, c)}

    # The common submit (one statement on PostgreSQL), and a retry of it.
    target, client_id = first_pending(campaign, a), uuid.uuid4()
    for _ in range(2):
        expert_rating_submit(expert=a, campaign_id=campaign.public_id,
                             assignment_id=target.public_id, client_id=client_id,
                             scores=SCORES)  # fmt: skip
    assert kept(campaign)[a.pk] == (24, 1)
    # The general path (rating_submit): a submit, a skip, a revision.
    rating_submit(assignment=first_pending(campaign, b), expert=b, client_id=uuid.uuid4(),
                  scores=SCORES, comment="general path")  # fmt: skip
    rating_submit(assignment=first_pending(campaign, b), expert=b, client_id=uuid.uuid4(),
                  scores={}, skipped=True, skip_reason="image_unreadable")  # fmt: skip
    rating_submit(assignment=target, expert=a, client_id=uuid.uuid4(),
                  scores={**SCORES, "accuracy": 1})  # fmt: skip
    # A draft and the time an item was first shown change no count.
    draft_save(assignment=first_pending(campaign, c), expert=c, draft={"scores": {"accuracy": 2}})
    assert kept(campaign) == counted(campaign)
    assert kept(campaign)[a.pk] == (24, 1) and kept(campaign)[b.pk] == (24, 2)

    # Experts changed mid-campaign: a's pending work moves to d, a keeps what a rated.
    d = UserFactory(username="expert_d")
    campaign_set_experts(campaign=campaign, experts=[b, c, d])
    assert kept(campaign) == counted(campaign)
    assert kept(campaign)[a.pk] == (1, 1) and kept(campaign)[d.pk] == (23, 0)

    # An account deleted by an administrator takes its assignments and its queue with it.
    d.delete()
    assert kept(campaign) == counted(campaign) and d.pk not in kept(campaign)
    assert not QueueCount.objects.filter(expert_id=d.pk).exists()


def test_the_counts_of_queues_launched_before_the_triggers_are_filled_in(launched_campaign):
    """The migration's backfill, run again over this database's queues, gives the same
    counts (and the triggers kept them without it)."""
    from importlib import import_module

    campaign, _owner, (a, _b, _c) = launched_campaign
    rating_submit(assignment=first_pending(campaign, a), expert=a, client_id=uuid.uuid4(),
                  scores=SCORES)  # fmt: skip
    expected = kept(campaign)
    migration = import_module("audit.campaigns.migrations.0005_queue_counts")
    QueueCount.objects.all().delete()
    with connection.cursor() as cursor:
        cursor.execute(migration.BACKFILL)
    assert kept(campaign) == expected == counted(campaign)


@pytest.mark.django_db(transaction=True)
def test_a_long_change_of_experts_does_not_hold_up_the_experts_submits(
    launched_campaign, monkeypatch
):
    """A change of experts moves pending work one UPDATE at a time in one transaction (a job,
    minutes on a big campaign); the queue counts of its moves are written once they are all
    made, so an expert whose work is moving still submits meanwhile (a count row locked from
    the first move would hold every submit of theirs until the job ends). The job is paused
    after its first move. SQLite serialises all writers anyway."""
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL: concurrent writers")
    campaign, _owner, (a, b, c) = launched_campaign
    newcomer = UserFactory(username="expert_d")
    paused, release, failures, moving = threading.Event(), threading.Event(), [], set()
    update = QuerySet.update

    def update_then_pause(queryset, **fields):  # the real UPDATE; the job waits after the first
        first = not moving and queryset.model is Assignment and "expert_id" in fields
        if first:
            moving.update(queryset.values_list("pk", flat=True))
        done = update(queryset, **fields)
        if first and threading.current_thread() is worker:
            paused.set()
            release.wait(20)
        return done

    def job():
        try:
            campaign_set_experts(campaign=campaign, experts=[a, b, c, newcomer])
        except Exception as exc:
            failures.append(exc)
        finally:
            paused.set()
            connection.close()

    monkeypatch.setattr(QuerySet, "update", update_then_pause)
    worker = threading.Thread(target=job)
    worker.start()
    assert paused.wait(30) and moving and not failures
    with connection.cursor() as cursor:
        cursor.execute("SET lock_timeout = '3s'")  # a wait on the job fails instead of hanging
    try:
        for expert in (a, b, c):  # whichever lost the first move
            target = (
                Assignment.objects.filter(campaign=campaign, expert=expert, status="pending")
                .exclude(pk__in=moving)
                .first()
            )
            expert_rating_submit(expert=expert, campaign_id=campaign.public_id,
                                 assignment_id=target.public_id, client_id=uuid.uuid4(),
                                 scores=SCORES)  # fmt: skip
    finally:
        with connection.cursor() as cursor:
            cursor.execute("RESET lock_timeout")
        release.set()
        worker.join(30)
    assert not failures
    assert kept(campaign) == counted(campaign)
    assert {expert: done for expert, (_, done) in kept(campaign).items()} == {
        a.pk: 1, b.pk: 1, c.pk: 1, newcomer.pk: 0}  # fmt: skip
