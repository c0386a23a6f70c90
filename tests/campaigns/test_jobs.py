"""Launch and change of experts as jobs: the request queues, the worker runs the service in one
transaction; the campaign is 'launching' (invisible to experts, unchangeable) until the commit;
progress is readable from the cache while the transaction is open; a failed job says why and
puts the campaign back to draft; a worker lost mid-launch leaves nothing, and the redelivered
job launches from scratch."""

from unittest import mock

import pytest
from django.core.exceptions import ValidationError
from django.db import OperationalError
from django.http import Http404
from django.urls import reverse
from rest_framework.test import APIClient

from audit.campaigns import bulk, jobs, selectors, tasks
from audit.campaigns.models import Assignment, Campaign, CampaignItem, CampaignJob
from audit.campaigns.services import campaign_create, campaign_update
from tests.conftest import METHODS
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def draft(rated_dataset):
    experts = [UserFactory(username=f"rater_{c}") for c in "abc"]
    campaign = campaign_create(
        name="Job test",
        created_by=rated_dataset.owner,
        datasets=[rated_dataset],
        methods=METHODS,
        n=6,
        raters_per_item=3,
        seed=7,
        experts=experts,
    )
    return campaign, experts


def test_request_makes_the_campaign_launching_and_invisible_until_the_job_commits(draft):
    campaign, experts = draft
    job = jobs.campaign_launch_request(campaign=campaign, actor=campaign.created_by)
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.LAUNCHING and job.status == "queued"
    assert not campaign.items.exists() and not campaign.assignments.exists()
    # Experts see nothing; nobody can change or launch it again meanwhile.
    assert not selectors.campaigns_for_expert(experts[0]).exists()
    with pytest.raises(Http404):
        selectors.expert_campaign_or_404(experts[0], campaign.public_id)
    with pytest.raises(ValidationError, match="it is launching"):
        jobs.campaign_launch_request(campaign=campaign)
    with pytest.raises(ValidationError, match="only a draft"):
        campaign_update(campaign=campaign, name="Renamed")
    with pytest.raises(ValidationError, match="launching"):
        jobs.campaign_experts_request(campaign=campaign, experts=experts)
    progress = jobs.campaign_job_progress(job)
    assert progress["stage"] == "queued" and progress["stages"][0]["state"] == "current"

    job = jobs.campaign_job_run(job_id=job.pk)
    campaign.refresh_from_db()
    assert job.status == "succeeded" and campaign.status == Campaign.Status.ACTIVE
    assert job.result == {"items": 24, "assignments": 72, "experts": 3}
    assert campaign.design["blinding"] and campaign.launched_at is not None
    assert selectors.campaigns_for_expert(experts[0]).get() == campaign
    progress = jobs.campaign_job_progress(job)
    assert progress["stage"] is None and {s["state"] for s in progress["stages"]} == {"done"}
    # Running a finished job again does nothing.
    assert jobs.campaign_job_run(job_id=job.pk).status == "succeeded"
    assert campaign.items.count() == 24


def test_progress_is_readable_while_the_transaction_is_open(draft):
    campaign, _experts = draft
    job = jobs.campaign_launch_request(campaign=campaign)
    seen = {}
    real = selectors.sample_blinding

    def spy(**kwargs):
        # Mid-launch: rows written but not committed; the cache says where the job is.
        seen.update(jobs.campaign_job_progress(CampaignJob.objects.get(pk=job.pk)))
        return real(**kwargs)

    with mock.patch.object(selectors, "sample_blinding", spy):
        jobs.campaign_job_run(job_id=job.pk)
    assert seen["status"] == "running" and seen["stage"] == "blinding"
    states = {s["key"]: s["state"] for s in seen["stages"]}
    assert states == {
        "queued": "done",
        "sample": "done",
        "items": "done",
        "assign": "done",
        "assignments": "done",
        "blinding": "current",
        "commit": "todo",
    }


def test_a_failed_job_puts_the_campaign_back_to_draft_and_says_why(draft, client):
    campaign, experts = draft
    job = jobs.campaign_launch_request(campaign=campaign)
    campaign.memberships.filter(user=experts[0]).update(active=False)  # changed meanwhile
    job = jobs.campaign_job_run(job_id=job.pk)
    campaign.refresh_from_db()
    assert job.status == "failed" and "need at least as many experts" in job.error
    assert campaign.status == Campaign.Status.DRAFT and not campaign.items.exists()
    client.force_login(campaign.created_by)
    page = client.get(reverse("campaigns:detail", args=[campaign.public_id])).content.decode()
    assert "Launch failed" in page and "need at least as many experts" in page
    assert 'id="launch"' in page  # it can be launched again


def test_an_unexpected_error_fails_the_job_and_rolls_everything_back(draft):
    campaign, _experts = draft
    job = jobs.campaign_launch_request(campaign=campaign)
    with mock.patch.object(bulk, "write_assignments", side_effect=RuntimeError("disk full")):
        job = jobs.campaign_job_run(job_id=job.pk)
    campaign.refresh_from_db()
    assert job.status == "failed" and "disk full" in job.error
    assert campaign.status == Campaign.Status.DRAFT
    assert not CampaignItem.objects.filter(campaign=campaign).exists()


class WorkerLost(BaseException):
    """What a killed worker looks like from inside: the process stops mid-transaction."""


def test_a_worker_lost_mid_launch_leaves_nothing_and_the_redelivered_job_launches(draft):
    campaign, _experts = draft
    job = jobs.campaign_launch_request(campaign=campaign)
    with (
        mock.patch.object(bulk, "write_assignments", side_effect=WorkerLost),
        pytest.raises(WorkerLost),
    ):
        jobs.campaign_job_run(job_id=job.pk)
    campaign.refresh_from_db()
    job.refresh_from_db()
    assert campaign.status == Campaign.Status.LAUNCHING and job.status == "running"
    assert not CampaignItem.objects.filter(campaign=campaign).exists()
    # acks_late + reject_on_worker_lost: the task comes again and runs from scratch.
    job = jobs.campaign_job_run(job_id=job.pk)
    campaign.refresh_from_db()
    assert job.status == "succeeded" and campaign.status == Campaign.Status.ACTIVE
    assert campaign.items.count() == 24 and campaign.assignments.count() == 72


def test_transient_errors_are_retried_then_the_job_fails(draft):
    campaign, _experts = draft
    job = jobs.campaign_launch_request(campaign=campaign)
    assert tasks.run_campaign_job.acks_late and tasks.run_campaign_job.reject_on_worker_lost
    with mock.patch.object(bulk, "write_campaign_items", side_effect=OperationalError("gone")):
        with pytest.raises(OperationalError):
            jobs.campaign_job_run(job_id=job.pk)
        campaign.refresh_from_db()
        assert campaign.status == Campaign.Status.LAUNCHING  # a retry will run it again
        result = tasks.run_campaign_job.apply(args=[job.pk])  # eager: retries, then gives up
    assert isinstance(result.result, OperationalError)
    job.refresh_from_db()
    campaign.refresh_from_db()
    assert job.status == "failed" and "gave up" in job.error
    assert campaign.status == Campaign.Status.DRAFT


def test_the_task_runs_the_job(draft):
    campaign, _experts = draft
    job = jobs.campaign_launch_request(campaign=campaign)
    assert tasks.run_campaign_job.apply(args=[job.pk]).get() == "succeeded"
    assert tasks.run_campaign_job.queue == "io"


def test_the_job_is_queued_on_commit_and_a_broker_down_fails_it(
    draft, django_capture_on_commit_callbacks
):
    campaign, _experts = draft
    with (
        mock.patch.object(tasks.run_campaign_job, "apply_async") as apply_async,
        django_capture_on_commit_callbacks(execute=True),
    ):
        job = jobs.campaign_launch_request(campaign=campaign)
    apply_async.assert_called_once_with(args=(job.pk,), kwargs={})
    campaign_two, _ = campaign, None
    jobs.campaign_job_run(job_id=job.pk)

    other = campaign_create(
        name="Broker down",
        created_by=campaign_two.created_by,
        datasets=list(campaign_two.datasets.all()),
        methods=METHODS,
        n=2,
        raters_per_item=1,
        experts=[UserFactory(username="solo")],
    )
    with (
        mock.patch.object(tasks.run_campaign_job, "apply_async", side_effect=OSError("refused")),
        django_capture_on_commit_callbacks(execute=True),
    ):
        failed = jobs.campaign_launch_request(campaign=other)
    failed.refresh_from_db()
    other.refresh_from_db()
    assert failed.status == "failed" and "could not queue the job" in failed.error
    assert other.status == Campaign.Status.DRAFT


def test_change_of_experts_on_a_launched_campaign_is_a_job(draft):
    campaign, experts = draft
    jobs.campaign_job_run(job_id=jobs.campaign_launch_request(campaign=campaign).pk)
    newcomer = UserFactory(username="rater_d")
    job = jobs.campaign_experts_request(campaign=campaign, experts=[*experts[1:], newcomer])
    assert job.kind == "experts" and not Assignment.objects.filter(expert=newcomer).exists()
    job = jobs.campaign_job_run(job_id=job.pk)
    assert job.status == "succeeded" and job.result == {"moves": 24}
    assert Assignment.objects.filter(campaign=campaign, expert=newcomer).count() == 24
    with pytest.raises(ValidationError, match="at least 3 experts"):
        jobs.campaign_experts_request(campaign=campaign, experts=experts[:2])
    # On a draft it is immediate: no job.
    other = campaign_create(
        name="Draft", created_by=campaign.created_by, datasets=list(campaign.datasets.all()),
        methods=METHODS, n=2, experts=experts[:1],
    )  # fmt: skip
    assert jobs.campaign_experts_request(campaign=other, experts=experts) is None
    assert other.memberships.filter(role="expert").count() == 3


def test_job_api_answers_owners_only(world):
    campaign, other = world["campaign"], world["other"]
    api = APIClient()
    api.force_authenticate(world["users"]["owner_elsewhere"])
    more = [UserFactory(username=f"more{i}") for i in range(2)]
    other.memberships.bulk_create(
        [other.memberships.model(campaign=other, user=u, role="expert") for u in more]
    )
    response = api.post(f"/api/campaigns/{other.public_id}/launch/")
    assert response.status_code == 202
    job_url = response.json()["job"]["url"]
    assert api.get(job_url).json()["status"] == "queued"
    for role in ("owner_here", "expert_here", "expert_elsewhere"):
        api.force_authenticate(world["users"][role])
        assert api.get(job_url).status_code == 404, role
    api.force_authenticate(world["users"]["owner_here"])
    missing = f"/api/campaigns/{campaign.public_id}/jobs/00000000-0000-0000-0000-000000000000/"
    assert api.get(missing).status_code == 404
