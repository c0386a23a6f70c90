"""Reads for regeneration, permission-aware: a job exists only for its creator and staff."""

from django.db.models import Count, Q, QuerySet, Sum
from django.http import Http404
from django.utils import timezone

from audit.datasets.models import Dataset
from audit.regeneration.models import Generation, JudgeRun, RegenerationJob


def can_regenerate(user) -> bool:
    """Staff, and owners: dataset owners, or users with the regeneration or campaign-creation
    permission (experts have neither)."""
    return user.is_authenticated and (
        user.is_staff
        or user.has_perm("regeneration.add_regenerationjob")
        or user.has_perm("campaigns.add_campaign")
        or Dataset.objects.filter(owner=user).exists()
    )


def jobs_visible_to(user) -> QuerySet[RegenerationJob]:
    if not user.is_authenticated:
        return RegenerationJob.objects.none()
    if user.is_staff:
        return RegenerationJob.objects.all()
    return RegenerationJob.objects.filter(created_by=user)


def job_or_404(user, public_id) -> RegenerationJob:
    """The job if ``user`` may see it; otherwise 404, whether it exists or not."""
    job = jobs_visible_to(user).filter(public_id=public_id).first()
    if job is None:
        raise Http404("No such job.")
    return job


def job_progress(job: RegenerationJob) -> dict:
    """Done, failed, tokens, rate (generations/s since start) and the estimated seconds left."""
    counts = Generation.objects.filter(job=job).aggregate(
        done=Count("pk", filter=Q(status=Generation.Status.SUCCEEDED)),
        failed=Count("pk", filter=Q(status=Generation.Status.FAILED)),
        prompt_tokens=Sum("prompt_tokens"),
        completion_tokens=Sum("completion_tokens"),
    )
    total = job.total
    finished = counts["done"] + counts["failed"]
    rate = eta = None
    if job.started_at and finished:
        end = job.finished_at or timezone.now()
        elapsed = max((end - job.started_at).total_seconds(), 1e-3)
        rate = round(finished / elapsed, 2)
        if job.is_active:
            eta = round(max(total - finished, 0) / rate, 1)
    return {
        "total": total,
        "done": counts["done"],
        "failed": counts["failed"],
        "remaining": max(total - finished, 0),
        "prompt_tokens": counts["prompt_tokens"] or 0,
        "completion_tokens": counts["completion_tokens"] or 0,
        "rate_per_second": rate,
        "eta_seconds": eta,
        "fraction": round(finished / total, 4) if total else 0.0,
    }


def job_failures(job: RegenerationJob) -> QuerySet[Generation]:
    return (
        Generation.objects.filter(job=job, status=Generation.Status.FAILED)
        .select_related("method", "source_pair")
        .order_by("pk")
    )


def job_error_groups(job: RegenerationJob, *, examples: int = 3) -> list[dict]:
    """The failures grouped by cause, most frequent first: the cause, how many, the message
    (the first failure's, as the same cause gives the same message) and a few example items
    (source pair, method, their own error)."""
    groups = (
        Generation.objects.filter(job=job, status=Generation.Status.FAILED)
        .values("cause")
        .annotate(count=Count("pk"))
        .order_by("-count", "cause")
    )
    out = []
    for group in groups:
        rows = list(
            Generation.objects.filter(
                job=job, status=Generation.Status.FAILED, cause=group["cause"]
            )
            .select_related("method", "source_pair")
            .order_by("pk")[:examples]
        )
        out.append(
            {
                "cause": group["cause"] or "unknown",
                "count": group["count"],
                "message": rows[0].error if rows else "",
                "examples": [
                    {
                        "source_pair": g.source_pair_id,
                        "source_key": g.source_pair.key,
                        "method": g.method.key,
                        "error": g.error,
                    }
                    for g in rows
                ],
            }
        )
    return out


def has_items_to_compare(job: RegenerationJob) -> bool:
    """The job finished with regenerated items (what a comparison campaign needs)."""
    return (
        job.status in (RegenerationJob.Status.SUCCEEDED, RegenerationJob.Status.PARTLY_FAILED)
        and job.output_dataset_id is not None
        and job.output_dataset.items.exists()
    )


def judge_runs_visible_to(user) -> QuerySet[JudgeRun]:
    """Dataset judge runs (pre-screens): their creator's and staff's; campaign runs belong to
    the campaign's analysis page."""
    if not user.is_authenticated:
        return JudgeRun.objects.none()
    runs = JudgeRun.objects.filter(dataset__isnull=False).select_related("dataset")
    return runs if user.is_staff else runs.filter(created_by=user)


def judge_run_or_404(user, public_id) -> JudgeRun:
    run = judge_runs_visible_to(user).filter(public_id=public_id).first()
    if run is None:
        raise Http404("No such judge run.")
    return run
