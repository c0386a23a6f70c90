"""Campaign changes run as jobs on a worker, never in a request: the launch (draw the sample,
write the items and every expert's queue) and reassigning pending work after the experts
changed. The request checks what it can at once, records a CampaignJob and queues it once that
is committed; the worker runs the synchronous service (``services.campaign_launch``,
``services.campaign_set_experts``) in one transaction.

While a launch runs the campaign is ``launching``: experts see nothing of it and it cannot be
changed. It becomes active when the job's transaction commits; a failed job puts it back to
draft and says why. A worker killed mid-job commits nothing, and the task (acknowledged late) is
delivered again and runs the job from scratch.

Progress (stage, counts) goes to the shared cache, since the job's own rows are invisible until
its commit; the owner's page polls ``campaign_job_progress``.
"""

import logging
import time

from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext, gettext_noop

from audit.campaigns import services
from audit.campaigns.models import Campaign, CampaignJob
from audit.core.tasks import TRANSIENT_ERRORS, broker_down_message, enqueue_on_commit

logger = logging.getLogger(__name__)

PROGRESS_SECONDS = 0.25  # the least time between two cache writes of the same stage
EXPERTS_STAGES = {
    "queued": gettext_noop("Waiting for a worker"),
    "experts": gettext_noop("Moving pending work between experts"),
    "commit": gettext_noop("Committing"),
}


def _progress_key(job_id: int) -> str:
    return f"campaign-job-progress:{job_id}"


def _enqueue(job: CampaignJob) -> None:
    from audit.campaigns.tasks import run_campaign_job

    enqueue_on_commit(
        run_campaign_job,
        job.pk,
        on_failure=lambda exc: job_fail(job_id=job.pk, error=broker_down_message(exc)),
    )


def campaign_launch_request(*, campaign: Campaign, actor=None) -> CampaignJob:
    """Queue the launch of a draft campaign: it is ``launching`` from now until the job ends.
    ValidationError at once when it is not a draft or has fewer experts than raters per item."""
    with transaction.atomic():
        campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
        if campaign.status != Campaign.Status.DRAFT:
            raise ValidationError(
                f"only a draft campaign can be launched (it is {campaign.status})"
            )
        services.launch_check(campaign)
        campaign.status = Campaign.Status.LAUNCHING
        campaign.save(update_fields=["status"])
        job = CampaignJob.objects.create(
            campaign=campaign, kind=CampaignJob.Kind.LAUNCH, created_by=actor
        )
        _enqueue(job)
    return job


def campaign_experts_request(*, campaign: Campaign, experts, actor=None) -> CampaignJob | None:
    """Change a campaign's experts. On a draft that is quick and done now (None is returned);
    on a launched campaign the pending work moves in a job, which is returned (two changes
    queued one after the other each take the campaign's lock in turn: the later one's experts
    stay). ValidationError at once for what can be checked now (closed, launching, too few)."""
    wanted = []
    for expert in experts:
        user, specialty = expert if isinstance(expert, tuple) else (expert, "")
        wanted.append([user.pk, specialty])
    with transaction.atomic():
        campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
        if campaign.status == Campaign.Status.DRAFT:
            services.campaign_set_experts(campaign=campaign, experts=experts, actor=actor)
            return None
        if campaign.status == Campaign.Status.LAUNCHING:
            raise ValidationError("the campaign is launching; change its experts afterwards")
        if campaign.status == Campaign.Status.CLOSED:
            raise ValidationError("a closed campaign's experts cannot change")
        if len({pk for pk, _ in wanted}) < campaign.raters_per_item:
            raise ValidationError(f"at least {campaign.raters_per_item} experts are needed")
        job = CampaignJob.objects.create(
            campaign=campaign,
            kind=CampaignJob.Kind.EXPERTS,
            params={"experts": wanted},
            created_by=actor,
        )
        _enqueue(job)
    return job


class _Reporter:
    """``progress(stage, done, total)`` for the services, written to the cache (throttled)."""

    def __init__(self, job_id: int, labels: dict[str, str]):
        self.key = _progress_key(job_id)
        self.labels = labels
        self.stage = None
        self.last = 0.0
        self.passed: list[str] = []

    def __call__(self, stage: str, done: int | None, total: int | None) -> None:
        now = time.monotonic()
        if stage == self.stage and now - self.last < PROGRESS_SECONDS and done != total:
            return
        if stage != self.stage:
            if self.stage is not None and self.stage not in self.passed:
                self.passed.append(self.stage)
            self.stage = stage
        self.last = now
        cache.set(
            self.key,
            {"stage": stage, "done": done, "total": total, "passed": list(self.passed)},
            3600,
        )


def _run_launch(job: CampaignJob, report: _Reporter) -> dict:
    campaign = services.campaign_launch(
        campaign=job.campaign, actor=job.created_by, progress=report
    )
    return {
        "items": campaign.items.count(),
        "assignments": campaign.assignments.count(),
        "experts": campaign.memberships.filter(role="expert", active=True).count(),
    }


def _run_experts(job: CampaignJob, report: _Reporter) -> dict:
    users = get_user_model().objects.in_bulk([pk for pk, _ in job.params["experts"]])
    experts = [(users[pk], specialty) for pk, specialty in job.params["experts"] if pk in users]
    report("experts", 0, None)
    moves = services.campaign_set_experts(
        campaign=job.campaign, experts=experts, actor=job.created_by
    )
    report("commit", 0, None)
    return {"moves": len(moves)}


RUNNERS = {
    CampaignJob.Kind.LAUNCH: (_run_launch, services.LAUNCH_STAGES),
    CampaignJob.Kind.EXPERTS: (_run_experts, EXPERTS_STAGES),
}


def campaign_job_run(*, job_id: int) -> CampaignJob:
    """Run a queued job (what the worker does). A job delivered again after its worker died
    runs again from scratch: nothing of the first try was committed. A finished job is left as
    it is. Transient database errors propagate, for the task to retry."""
    job = CampaignJob.objects.select_related("campaign", "created_by").get(pk=job_id)
    if not job.is_active:
        return job
    CampaignJob.objects.filter(pk=job.pk).update(
        status=CampaignJob.Status.RUNNING, started_at=timezone.now(), error=""
    )
    run, labels = RUNNERS[job.kind]
    try:
        result = run(job, _Reporter(job.pk, labels))
    except TRANSIENT_ERRORS:
        raise
    except ValidationError as exc:
        job_fail(job_id=job.pk, error=" ".join(exc.messages))
    except Exception as exc:
        logger.exception("campaign job %s failed", job.pk)
        job_fail(job_id=job.pk, error=f"unexpected error: {type(exc).__name__}: {exc}")
    else:
        CampaignJob.objects.filter(pk=job.pk).update(
            status=CampaignJob.Status.SUCCEEDED, result=result, finished_at=timezone.now()
        )
    cache.delete(_progress_key(job.pk))
    job.refresh_from_db()
    return job


def job_fail(*, job_id: int, error: str) -> None:
    """Mark a job failed and say why; a failed launch puts its campaign back to draft."""
    with transaction.atomic():
        job = CampaignJob.objects.select_for_update().get(pk=job_id)
        job.status = CampaignJob.Status.FAILED
        job.error = error
        job.finished_at = timezone.now()
        job.save(update_fields=["status", "error", "finished_at"])
        if job.kind == CampaignJob.Kind.LAUNCH:
            Campaign.objects.filter(pk=job.campaign_id, status=Campaign.Status.LAUNCHING).update(
                status=Campaign.Status.DRAFT
            )
    cache.delete(_progress_key(job_id))


def campaign_job_progress(job: CampaignJob) -> dict:
    """What the owner's page and the API show of a job: its status, the stage it is at (live,
    from the cache, while it runs), counts, every stage with its state, and the outcome."""
    _, labels = RUNNERS[job.kind]
    live = cache.get(_progress_key(job.pk)) if job.is_active else None
    stage = (live or {}).get("stage") or "queued"
    passed = set((live or {}).get("passed", []))
    if stage != "queued":
        passed.add("queued")
    stages = []
    for key, label in labels.items():
        if job.status == CampaignJob.Status.SUCCEEDED:
            state = "done"
        elif not job.is_active:
            state = "todo"
        else:
            state = "done" if key in passed else "current" if key == stage else "todo"
        stages.append({"key": key, "label": gettext(label), "state": state})
    return {
        "id": str(job.public_id),
        "kind": job.kind,
        "status": job.status,
        "stage": stage if job.is_active else None,
        "stage_label": gettext(labels.get(stage, stage)) if job.is_active else None,
        "done": (live or {}).get("done"),
        "total": (live or {}).get("total"),
        "stages": stages,
        "result": job.result,
        "error": job.error,
        "created_at": job.created_at.isoformat(),
        "finished_at": job.finished_at.isoformat() if job.finished_at else None,
    }
