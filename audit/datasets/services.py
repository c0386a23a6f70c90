"""Writes for the dataset layer: importing a file (``dataset_import``, which drives the steps of
``importers.pipeline``) and import jobs (admin and API uploads, run on the io queue)."""

import time
from collections.abc import Iterable
from pathlib import Path

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from audit.core.services import audit_event_record
from audit.core.tasks import broker_down_message, enqueue_on_commit
from audit.datasets import uploads
from audit.datasets.errors import FileFormatError, ImportFailed, RecordProblem
from audit.datasets.images import ImageStoreWriter
from audit.datasets.importers.formats import FORMATS, ImportOptions, guess_kind
from audit.datasets.importers.pipeline import (
    MAX_REPORTED_PROBLEMS,
    ChunkWriter,
    ImageResolver,
    ImportSummary,
    Progress,
    frozen_heap,
    import_records,
    open_image_sources,
    open_records,
    record_parser,
    write_rejects,
)
from audit.datasets.importers.writers import writer_for_connection
from audit.datasets.models import Dataset, ImportJob, Method, SourcePair
from audit.datasets.selectors import can_write_dataset


def _check_request(*, path: Path, fmt: str, method_key: str | None, dataset_name: str) -> None:
    """What can be refused before the file is opened."""
    if fmt != "auto" and fmt not in FORMATS:
        raise ImportFailed(
            [RecordProblem(f"unsupported format {fmt!r}; use one of {', '.join(FORMATS)} or auto")]
        )
    if not path.is_file():
        raise ImportFailed([RecordProblem(f"{path}: no such file")])
    if method_key and not Method.objects.filter(key=method_key).exists():
        known = ", ".join(Method.objects.values_list("key", flat=True))
        raise ImportFailed([RecordProblem(f"unknown method {method_key!r} (known: {known})")])
    if not dataset_name.strip():
        raise ImportFailed([RecordProblem("a dataset name is required")])


def dataset_name_taken(name: str) -> str:
    return (
        f"a dataset named {name!r} already exists and is not yours: choose another name "
        "(an import never adds to another owner's dataset)"
    )


def import_target_problem(*, dataset_name: str, user) -> str | None:
    """Why ``user`` may not import into the dataset named ``dataset_name`` (None: they may, into
    their own or a new one); checked when a job is asked for and again when it runs."""
    dataset = Dataset.objects.filter(name=dataset_name.strip()).first()
    if dataset is None or can_write_dataset(user, dataset):
        return None
    return dataset_name_taken(dataset.name)


def dataset_import(
    *,
    path: Path,
    dataset_name: str,
    fmt: str = "auto",
    method_key: str | None = None,
    image_sources: Iterable[Path] = (),
    skip_invalid: bool = False,
    rejects_path: Path | None = None,
    kind: str | None = None,
    language: str = "en",
    column_map: dict[str, str] | None = None,
    owner=None,
    progress: Progress | None = None,
    image_mode: str = "copy",
) -> ImportSummary:
    """Import one file into the dataset named ``dataset_name`` (created if new), through the
    steps of ``importers.pipeline``.

    ``owner`` is the user importing: a new dataset is theirs, and an existing one must be one
    they may write (``selectors.can_write_dataset``: their own, or any for a superuser), else the
    import is refused. None is the operator (the command line without --owner): any dataset, a
    new one without owner. Either way the records' source pairs are looked up and created in
    the scope of the dataset's owner (SourcePair.key), never another owner's.

    All-or-nothing by default: any bad record fails the import, which then leaves nothing in the
    database or the image store, and ImportFailed lists up to 100 problems. With
    ``skip_invalid`` the valid records are imported and the rejects written to ``rejects_path``.

    ``image_mode``: "copy" the images into the content-addressed store; "link" hard-link image
    files from folders into it (copied when the filesystem refuses, with a note in the summary);
    "in_place" record where each file lives under a read-only root of settings.IMAGE_ROOTS and
    copy nothing (a missing or changed file is then reported when served and by
    ``check_images``). In every mode the original is kept as it is and served without its
    metadata (clean copies made before serving, audit.datasets.clean).
    """
    started = time.monotonic()
    path = Path(path)
    _check_request(path=path, fmt=fmt, method_key=method_key, dataset_name=dataset_name)

    source = open_records(path=path, fmt=fmt, max_record_bytes=settings.IMPORT_MAX_RECORD_BYTES)
    fmt = source.format
    bytes_total = path.stat().st_size
    options = ImportOptions(
        format=fmt,
        method_key=method_key,
        kind=kind or guess_kind(path.name),
        language=language,
        column_map=column_map or {},
    )
    summary = ImportSummary(dataset=dataset_name, format=fmt)
    if FORMATS[fmt].needs_method and not method_key and "method" not in (column_map or {}):
        source.close()
        raise ImportFailed([RecordProblem(f"format {fmt!r} needs a method (--method KEY)")])
    try:
        sources = open_image_sources([Path(p) for p in image_sources], image_mode)
    except ImportFailed:
        source.close()
        raise

    problems: list[RecordProblem] = [RecordProblem(p, field="images") for p in sources.problems]
    rejects: list[RecordProblem] = []
    store = ImageStoreWriter()
    try:
        if problems and not skip_invalid:
            raise ImportFailed(problems[:MAX_REPORTED_PROBLEMS])
        rejects.extend(problems)
        with transaction.atomic(), frozen_heap():
            dataset, created = Dataset.objects.get_or_create(
                name=dataset_name.strip(), defaults={"owner": owner}
            )
            if not created and owner is not None and not can_write_dataset(owner, dataset):
                raise ImportFailed([RecordProblem(dataset_name_taken(dataset.name))])
            writer = writer_for_connection(
                dataset_id=dataset.pk,
                pair_scope=SourcePair.scope(dataset.owner_id),
                language=language,
                provenance={"file": path.name, "format": fmt, "kind": options.kind},
                now=timezone.now(),
            )
            chunks = ChunkWriter(
                writer, summary, check_existing=not created and dataset.items.exists()
            )
            # Re-importing into a dataset that has items: most records are likely duplicates,
            # not worth preparing rows for.
            parse_one = record_parser(
                options=options,
                method_of=chunks.method_id,
                prepare=None if chunks.check_existing else writer.prepare,
                image_files=not sources.empty,
            )
            import_records(
                source=source,
                parse_one=parse_one,
                resolver=ImageResolver(
                    sources,
                    store,
                    summary,
                    writer=writer,
                    mode=image_mode,
                    threads=settings.IMPORT_IMAGE_THREADS,
                    # Forking workers costs ~0.1 s: worth it for a large file only.
                    processes=settings.IMPORT_IMAGE_PROCESSES
                    if bytes_total >= settings.IMPORT_IMAGE_PROCESSES_FROM_BYTES
                    else 0,
                ),
                chunks=chunks,
                summary=summary,
                problems=problems,
                rejects=rejects,
                skip_invalid=skip_invalid,
                chunk_size=settings.IMPORT_CHUNK_SIZE,
                bytes_total=bytes_total,
                progress=progress,
            )
    except FileFormatError as exc:
        store.rollback()
        raise ImportFailed(
            [*problems, exc.problem][:MAX_REPORTED_PROBLEMS], summary.as_dict()
        ) from None
    except ImportFailed as exc:
        store.rollback()
        exc.summary = summary.as_dict()
        raise
    except OSError as exc:
        store.rollback()
        raise ImportFailed(
            [RecordProblem(f"storage error, nothing was imported: {exc}")], summary.as_dict()
        ) from None
    except BaseException:
        store.rollback()
        raise
    finally:
        source.close()
        sources.close()

    summary.rejects = len(rejects)
    summary.problems = [p.as_dict() for p in rejects[:MAX_REPORTED_PROBLEMS]]
    if rejects:
        summary.rejects_path = write_rejects(
            rejects, rejects_path or path.with_name(path.name + ".rejects.jsonl")
        )
    if progress:
        progress(summary.records, bytes_total, bytes_total)
    summary.seconds = round(time.monotonic() - started, 3)
    return summary


# --- Import jobs (admin and API uploads, run by Celery on the io queue) ---------------------


def _progress_key(job_id: int) -> str:
    return f"import-job-progress:{job_id}"


def import_job_create(
    *,
    upload,
    dataset_name: str,
    created_by,
    fmt: str = "auto",
    method_key: str = "",
    image_uploads: Iterable = (),
    skip_invalid: bool = False,
) -> ImportJob:
    """Save the uploaded files and queue the import on the io queue once the job is committed.
    The caller has checked the size cap (uploads.too_large) and the target
    (import_target_problem); the job checks the target again when it runs."""
    folder = uploads.new_folder()
    source = uploads.save(upload, folder, 0)
    images = [str(uploads.save(u, folder, i)) for i, u in enumerate(image_uploads, start=1)]
    job = ImportJob.objects.create(
        dataset_name=dataset_name,
        format=fmt,
        method_key=method_key or "",
        skip_invalid=skip_invalid,
        source_file=str(source),
        source_name=Path(upload.name).name[:300],
        image_sources=images,
        bytes_total=source.stat().st_size,
        created_by=created_by,
    )
    audit_event_record(
        actor=created_by, verb="import.created", target=job,
        data={"dataset": dataset_name, "file": job.source_name, "format": fmt,
              "images": len(images)},
    )  # fmt: skip
    from audit.datasets.tasks import run_import_job  # tasks imports this module

    enqueue_on_commit(run_import_job, job.pk, on_failure=lambda exc: _queue_failed(job.pk, exc))
    return job


def _queue_failed(job_id: int, exc: Exception) -> None:
    """The broker is down: the job says so instead of hanging in "queued"."""
    ImportJob.objects.filter(pk=job_id).update(
        status=ImportJob.Status.FAILED,
        error=broker_down_message(exc),
        finished_at=timezone.now(),
    )


def import_job_run(*, job_id: int) -> ImportJob:
    """Run a queued import job; a re-delivered job (worker lost) simply runs again, which is
    safe because an import is all-or-nothing and idempotent."""
    job = ImportJob.objects.get(pk=job_id)
    if job.status == ImportJob.Status.SUCCEEDED:
        return job
    ImportJob.objects.filter(pk=job.pk).update(
        status=ImportJob.Status.RUNNING, started_at=timezone.now(), error=""
    )
    last = [0.0]

    def progress(records: int, done: int, total: int) -> None:
        # The import runs in one transaction, so progress goes to the cache, not the database.
        now = time.monotonic()
        if now - last[0] >= 0.5 or done >= total:
            last[0] = now
            cache.set(_progress_key(job.pk), {"records": records, "bytes_done": done}, 3600)

    source = Path(job.source_file)
    try:
        if job.created_by is None or not job.created_by.is_active:
            # Nobody to import for (and None would mean the operator, who may write anything).
            raise ImportFailed(
                [RecordProblem("the user who asked for this import is deleted or deactivated")]
            )
        summary = dataset_import(
            path=source,
            dataset_name=job.dataset_name,
            fmt=job.format or "auto",
            method_key=job.method_key or None,
            image_sources=[Path(p) for p in job.image_sources],
            skip_invalid=job.skip_invalid,
            rejects_path=source.with_name("rejects.jsonl"),
            owner=job.created_by,
            progress=progress,
        )
    except ImportFailed as exc:
        ImportJob.objects.filter(pk=job.pk).update(
            status=ImportJob.Status.FAILED,
            error="\n".join(str(p) for p in exc.problems),
            summary={**exc.summary, "problems": [p.as_dict() for p in exc.problems]},
            finished_at=timezone.now(),
        )
    else:
        # Done with the files (the rejects' problems are in the summary, the first 100 of them).
        uploads.remove_job_files(job)
        summary.rejects_path = None
        ImportJob.objects.filter(pk=job.pk).update(
            status=ImportJob.Status.SUCCEEDED,
            summary=summary.as_dict(),
            records_done=summary.records,
            bytes_done=job.bytes_total,
            finished_at=timezone.now(),
        )
    cache.delete(_progress_key(job.pk))
    job.refresh_from_db()
    return job


def import_job_progress(job: ImportJob) -> dict:
    """Live progress of a running job (from the cache), or the stored figures once finished."""
    live = cache.get(_progress_key(job.pk)) if job.status == ImportJob.Status.RUNNING else None
    records = live["records"] if live else job.records_done
    done = live["bytes_done"] if live else job.bytes_done
    fraction = round(done / job.bytes_total, 4) if job.bytes_total else 0.0
    return {
        "records": records,
        "bytes_done": done,
        "bytes_total": job.bytes_total,
        "fraction": fraction,
    }
