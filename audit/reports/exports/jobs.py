"""The export job lifecycle: create (checked, recorded in the audit trail, queued on the io
queue once the transaction commits), run (from scratch, also when a killed worker's job is
delivered again), report progress, hand out the file, expire and clean up.

The file is recorded on the job only after the rename (see :func:`.sinks.atomic_write`), and a
retried job starts again from scratch.
"""

import logging
from datetime import datetime, timedelta
from pathlib import Path

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from audit.campaigns.models import Campaign
from audit.core.services import audit_event_record
from audit.core.tasks import broker_down_message, enqueue_on_commit
from audit.datasets.models import Dataset
from audit.reports.exports import selectors
from audit.reports.exports.dataset import (
    DATASET_FORMATS,
    dataset_export,
    default_dataset_format,
    parse_filters,
)
from audit.reports.exports.models import ExportJob
from audit.reports.exports.ratings import LAYOUTS, RATING_FORMATS, ratings_export
from audit.reports.exports.sinks import ExportError, check_choice

log = logging.getLogger(__name__)


def _export_dir() -> Path:
    return Path(settings.EXPORT_DIR)


def _progress_key(job_id: int) -> str:
    return f"exports:job:{job_id}:progress"


def export_job_create(
    *,
    owner,
    kind: str,
    fmt: str,
    campaign: Campaign | None = None,
    dataset: Dataset | None = None,
    layout: str = "",
    options: dict | None = None,
) -> ExportJob:
    """Check the options and queue the job on the io queue (after the transaction commits).
    Permission checks stay with the caller (see selectors.campaigns_exportable_by)."""
    options = dict(options or {})
    if kind == ExportJob.Kind.RATINGS:
        if campaign is None:
            raise ExportError("a ratings export needs a campaign")
        check_choice(fmt, RATING_FORMATS, "format")
        layout = layout or "long"
        check_choice(layout, LAYOUTS, "layout")
        options = {"names": bool(options.get("names", False))}
    elif kind == ExportJob.Kind.DATASET:
        if dataset is None:
            raise ExportError("a dataset export needs a dataset")
        if fmt == "auto":
            fmt = default_dataset_format(dataset)
        check_choice(fmt, DATASET_FORMATS, "format")
        layout = ""
        campaign_ids = [int(c) for c in options.get("campaign_ids", [])]
        parse_filters(options.get("filters"), criteria=selectors.criterion_keys(campaign_ids))
        options = {"campaign_ids": campaign_ids, "filters": options.get("filters") or {}}
    else:
        raise ExportError(f"unknown export kind {kind!r}")
    with transaction.atomic():
        job = ExportJob.objects.create(
            owner=owner,
            kind=kind,
            campaign=campaign,
            dataset=dataset,
            format=fmt,
            layout=layout,
            options=options,
        )
        # Who exported what and when: on the campaign's Activity page (dataset exports: admin).
        audit_event_record(
            actor=owner,
            verb="export.created",
            target=job,
            campaign=campaign,
            data={"kind": kind, "format": fmt, "layout": layout,
                  "names": bool(options.get("names")), "dataset": dataset.pk if dataset else None},
        )  # fmt: skip
    from audit.reports.exports.tasks import run_export_job

    enqueue_on_commit(run_export_job, job.pk, on_failure=lambda exc: _queue_failed(job.pk, exc))
    return job


def _queue_failed(job_id: int, exc: Exception) -> None:
    """The broker is down: the job says so instead of hanging in "queued"."""
    ExportJob.objects.filter(pk=job_id, status=ExportJob.Status.QUEUED).update(
        status=ExportJob.Status.FAILED, error=broker_down_message(exc), finished_at=timezone.now()
    )


def dataset_campaigns_for(user, dataset: Dataset, campaign_ids: list | None = None) -> list:
    """The campaigns over ``dataset`` whose ratings ``user`` may export (owned; staff: all),
    optionally only ``campaign_ids``; asking for one outside them is an error."""
    allowed = selectors.campaigns_exportable_by(user).filter(datasets=dataset).distinct()
    if not campaign_ids:
        return list(allowed.order_by("pk"))
    chosen = list(allowed.filter(pk__in=campaign_ids).order_by("pk"))
    if len(chosen) != len(set(campaign_ids)):
        raise ExportError(
            "some of the chosen campaigns are not campaigns of yours over this dataset"
        )
    return chosen


def _job_path(job: ExportJob) -> Path:
    ext = Path(job.file_name).suffix
    return _export_dir() / f"{job.public_id}{ext}"


def export_job_run(*, job_id: int) -> ExportJob:
    """Run a job from scratch (also when a killed worker's job is delivered again): the file is
    written under a temporary name, renamed when complete, and only then recorded on the job."""
    with transaction.atomic():
        job = ExportJob.objects.select_for_update().get(pk=job_id)
        if job.status in (ExportJob.Status.SUCCEEDED, ExportJob.Status.EXPIRED):
            return job  # a duplicate delivery of a finished job
        job.status = ExportJob.Status.RUNNING
        job.attempts += 1
        job.started_at = timezone.now()
        job.progress = 0.0
        job.error = ""
        job.file_path = ""
        job.save()
    path = _job_path(job)
    for stale in path.parent.glob(f"{path.name}.part-*"):  # left by a killed attempt
        stale.unlink(missing_ok=True)

    def progress(done: int, total: int) -> None:
        cache.set(_progress_key(job.pk), {"rows": done, "total": total}, 3600)

    try:
        if job.kind == ExportJob.Kind.RATINGS:
            rows = ratings_export(
                campaign=job.campaign,
                path=path,
                fmt=job.format,
                layout=job.layout,
                names=job.options.get("names", False),
                progress=progress,
            )
        else:
            campaigns = dataset_campaigns_for(
                job.owner, job.dataset, job.options.get("campaign_ids")
            )
            rows = dataset_export(
                dataset=job.dataset,
                campaigns=campaigns,
                path=path,
                fmt=job.format,
                filters=job.options.get("filters"),
                progress=progress,
            ).items_written
    except Exception as exc:
        log.exception("export job %s failed", job.pk)
        job.status = ExportJob.Status.FAILED
        job.error = str(exc) if isinstance(exc, ExportError) else f"{type(exc).__name__}: {exc}"
        job.finished_at = timezone.now()
        job.save(update_fields=["status", "error", "finished_at"])
        cache.delete(_progress_key(job.pk))
        if isinstance(exc, ExportError):
            return job  # bad options: retrying would not help
        raise
    now = timezone.now()
    job.status = ExportJob.Status.SUCCEEDED
    job.file_path = path.name
    job.size_bytes = path.stat().st_size
    job.row_count = rows
    job.progress = 1.0
    job.finished_at = now
    job.expires_at = now + timedelta(hours=settings.EXPORT_TTL_HOURS)
    job.save()
    cache.delete(_progress_key(job.pk))
    return job


def export_job_progress(job: ExportJob) -> float:
    """Live progress of a running job (from the cache), or the stored figure."""
    if job.status == ExportJob.Status.RUNNING:
        live = cache.get(_progress_key(job.pk))
        if live and live["total"]:
            return round(min(live["rows"] / live["total"], 1.0), 4)
    return job.progress


def export_file(job: ExportJob) -> Path | None:
    """The complete file of a succeeded, unexpired job; an expired job's file is deleted."""
    if job.status != ExportJob.Status.SUCCEEDED or not job.file_path:
        return None
    if job.expires_at and job.expires_at <= timezone.now():
        export_job_expire(job=job)
        return None
    path = _export_dir() / job.file_path
    return path if path.is_file() else None


def export_job_expire(*, job: ExportJob) -> None:
    if job.file_path:
        (_export_dir() / job.file_path).unlink(missing_ok=True)
    job.status = ExportJob.Status.EXPIRED
    job.file_path = ""
    job.save(update_fields=["status", "file_path"])


def export_jobs_cleanup(*, now: datetime | None = None) -> int:
    """Delete the files of expired jobs and mark them expired; returns how many. Temporary
    files a killed worker left behind (never redelivered) go too, once a day old."""
    now = now or timezone.now()
    expired = ExportJob.objects.filter(status=ExportJob.Status.SUCCEEDED, expires_at__lte=now)
    count = 0
    for job in expired.iterator():
        export_job_expire(job=job)
        count += 1
    folder = _export_dir()
    if folder.is_dir():
        day_ago = (now - timedelta(days=1)).timestamp()
        for part in folder.glob("*.part-*"):
            if part.stat().st_mtime < day_ago:
                part.unlink(missing_ok=True)
    return count


def export_file_delete(job: ExportJob) -> None:
    """When a job row goes (deleted, or its campaign or dataset deleted), its file goes too."""
    if job.file_path:
        (_export_dir() / job.file_path).unlink(missing_ok=True)
