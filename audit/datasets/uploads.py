"""Uploaded import files: the size cap, one folder per job under settings.UPLOAD_DIR, and their
removal (at once when the job succeeds; kept AUDIT_UPLOAD_KEEP_HOURS after a failure, to look
into, then removed by the hourly ``datasets.clean_uploads`` task)."""

import shutil
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from django.conf import settings
from django.template.defaultfilters import filesizeformat
from django.utils import timezone

from audit.datasets.models import ImportJob

# A multipart body is the files plus boundaries, headers and the form's small fields.
MULTIPART_ALLOWANCE = 64 * 1024


def limit_message(size: int | None = None) -> str:
    limit = settings.MAX_UPLOAD_BYTES
    said = f" (this one is {filesizeformat(size)})" if size is not None else ""
    return (
        f"The upload is too large{said}: an import upload may hold at most "
        f"{filesizeformat(limit)} ({limit:,} bytes) of files in all. Import larger files with "
        "the import_dataset command on the server."
    )


def body_too_large(meta: dict) -> bool:
    """Whether a request's declared length alone shows it is over the cap (so it can be refused
    before its files are received)."""
    try:
        length = int(meta.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return False
    return length > settings.MAX_UPLOAD_BYTES + MULTIPART_ALLOWANCE


def total_size(files: Iterable) -> int:
    return sum(f.size or 0 for f in files if f is not None)


def too_large(files: Iterable) -> str | None:
    """The message naming the cap if ``files`` together are over it, else None."""
    size = total_size(files)
    return limit_message(size) if size > settings.MAX_UPLOAD_BYTES else None


def new_folder() -> Path:
    folder = Path(settings.UPLOAD_DIR) / timezone.now().strftime("%Y%m%d-%H%M%S-%f")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def save(uploaded, folder: Path, index: int) -> Path:
    suffix = "".join(Path(uploaded.name).suffixes[-2:])[:16]
    target = folder / f"{index}{suffix}"
    with open(target, "wb") as fh:
        for part in uploaded.chunks():
            fh.write(part)
    return target


def job_folder(job: ImportJob) -> Path | None:
    """The job's upload folder: a direct child of UPLOAD_DIR, or None (never anything else, so a
    stray path in a row cannot make the clean-up delete outside the uploads)."""
    if not job.source_file:
        return None
    folder = Path(job.source_file).parent
    root = Path(settings.UPLOAD_DIR)
    try:
        if folder.resolve().parent != root.resolve() or folder.is_symlink():
            return None
    except OSError:
        return None
    return folder


def remove_job_files(job: ImportJob) -> bool:
    """Delete the job's upload folder (the uploaded files and any rejects written beside them)."""
    folder = job_folder(job)
    if folder is None or not folder.exists():
        return False
    shutil.rmtree(folder, ignore_errors=True)
    return not folder.exists()


def clean_uploads(*, now: datetime | None = None) -> int:
    """Remove the upload folders no job needs any more; returns how many were removed.

    Kept: folders of queued and running jobs; of failed jobs, for AUDIT_UPLOAD_KEEP_HOURS after
    they failed. Removed: those of succeeded jobs (normally gone already), of failed jobs past
    that time, and folders no job names once they are that old (a request that died between
    saving the files and creating its job)."""
    now = now or timezone.now()
    cutoff = now - timedelta(hours=settings.UPLOAD_KEEP_HOURS)
    root = Path(settings.UPLOAD_DIR)
    if not root.is_dir():
        return 0
    keep: set[str] = set()
    known: set[str] = set()
    jobs = ImportJob.objects.exclude(source_file="").only("source_file", "status", "finished_at")
    for job in jobs.iterator(chunk_size=2000):
        folder = job_folder(job)
        if folder is None:
            continue
        known.add(folder.name)
        active = job.status in (ImportJob.Status.QUEUED, ImportJob.Status.RUNNING)
        failed_recently = job.status == ImportJob.Status.FAILED and (
            job.finished_at is None or job.finished_at > cutoff
        )
        if active or failed_recently:
            keep.add(folder.name)
    removed = 0
    for folder in root.iterdir():
        if folder.name in keep or folder.is_symlink() or not folder.is_dir():
            continue
        if folder.name not in known:
            modified = datetime.fromtimestamp(folder.stat().st_mtime, tz=UTC)
            if modified > cutoff:
                continue  # a job may be about to be created for it
        shutil.rmtree(folder, ignore_errors=True)
        removed += 1
    return removed
