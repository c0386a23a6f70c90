"""The regeneration job's lifecycle: check and create a job (with its output dataset and one item
method per construction method), queue its first chunk, finish, fail, cancel, resume and retry.

A job runs as a chain of chunk tasks on the gpu queue (tasks.py, runner.py); a job is queued only
once the transaction that made it commits, and one the broker could not take says so instead of
hanging in "queued".
"""

import logging
import random
from collections.abc import Iterable, Sequence

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Min, Q
from django.utils import timezone

from audit.core.services import audit_event_record
from audit.core.tasks import broker_down_message, enqueue_on_commit
from audit.datasets.models import Dataset, Method, SourcePair
from audit.datasets.selectors import datasets_visible_to
from audit.regeneration import egress
from audit.regeneration import methods as construction
from audit.regeneration.models import Generation, RegenerationJob

logger = logging.getLogger(__name__)

# Parameters a job may carry, with their allowed ranges; anything else is refused.
PARAMETER_RANGES = {
    "temperature": (0.0, 2.0),
    "top_p": (0.0, 1.0),
    "max_tokens": (1, 32768),
    "seed": (0, 2**31 - 1),
    "concurrency": (1, 256),
    "timeout": (0.1, 3600.0),
    "max_retries": (0, 10),
    "retry_backoff": (0.0, 60.0),
    "max_model_len": (256, 1_048_576),
}
DEFAULT_PARAMETERS = {"temperature": 0.2, "max_tokens": 1024, "seed": 0, "concurrency": 16}
SECRET_WORDS = ("key", "secret", "password", "authorization", "bearer", "credential")


# --- creating ------------------------------------------------------------------------------


def _check_parameters(parameters: dict) -> dict:
    clean = dict(DEFAULT_PARAMETERS)
    for name, value in (parameters or {}).items():
        if any(word in name.lower() for word in SECRET_WORDS):
            raise ValidationError(
                f"parameter {name!r} looks like a secret: API keys come from the OPENAI_API_KEY "
                "environment variable of the worker, never from a job"
            )
        if name not in PARAMETER_RANGES:
            raise ValidationError(
                f"unknown parameter {name!r}; use {', '.join(sorted(PARAMETER_RANGES))}"
            )
        if value is None:
            clean.pop(name, None)
            continue
        low, high = PARAMETER_RANGES[name]
        kind = int if isinstance(low, int) and isinstance(high, int) else float
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValidationError(f"parameter {name!r} must be a number, not {value!r}")
        if kind is int and value != int(value):
            raise ValidationError(f"parameter {name!r} must be a whole number")
        if not low <= value <= high:
            raise ValidationError(f"parameter {name!r} must be between {low} and {high}")
        clean[name] = kind(value)
    return clean


def _check_base_url(base_url: str) -> str:
    """The base URL, checked as every request will check it (egress.check): after DNS
    resolution, against the deny ranges and the administrator's allow-list."""
    if not base_url:
        return ""
    try:
        egress.check(base_url, require_resolution=False)
    except egress.UnsafeURL as exc:
        raise ValidationError(str(exc)) from None
    return base_url.rstrip("/")


def _select_source_pairs(
    datasets, *, modality: str, body_part: str, sample: int | None, seed: int
) -> list[int]:
    pairs = SourcePair.objects.filter(items__dataset__in=datasets)
    if modality:
        pairs = pairs.filter(modality__iexact=modality)
    if body_part:
        pairs = pairs.filter(body_part__iexact=body_part)
    ids = sorted(set(pairs.values_list("pk", flat=True)))
    if sample is not None:
        if sample < 1:
            raise ValidationError("the sample size must be at least 1")
        if sample < len(ids):
            ids = sorted(random.Random(f"regeneration|{seed}").sample(ids, sample))
    return ids


def job_create(
    *,
    created_by,
    name: str,
    datasets: Iterable[Dataset],
    methods: Sequence[str],
    model: str = "",
    backend: str = RegenerationJob.Backend.OPENAI,
    base_url: str = "",
    parameters: dict | None = None,
    method_options: dict | None = None,
    modality: str = "",
    body_part: str = "",
    sample: int | None = None,
    seed: int = 0,
    chunk_size: int | None = None,
    start: bool = True,
) -> RegenerationJob:
    """A job over the source pairs of ``datasets`` (filtered, optionally a seeded sample), queued
    on the gpu queue after the transaction commits. Refuses secrets in any field."""
    name = (name or "").strip()
    if not name:
        raise ValidationError("a job needs a name")
    datasets = list(datasets)
    visible = set(datasets_visible_to(created_by).values_list("pk", flat=True))
    if not datasets or any(d.pk not in visible for d in datasets):
        raise ValidationError("choose at least one of your datasets")
    keys = list(methods)
    if not keys or len(set(keys)) != len(keys):
        raise ValidationError("choose at least one method, each once")
    rows = {m.key: m for m in Method.objects.filter(key__in=keys)}
    unknown = [k for k in keys if k not in rows]
    if unknown:
        raise ValidationError(f"unknown methods: {', '.join(unknown)}")
    method_options = {k: dict(v) for k, v in (method_options or {}).items()}
    specs = {}
    for key in keys:
        try:
            specs[key] = construction.spec_for(
                rows[key], output=method_options.get(key, {}).get("output")
            )
        except construction.MethodError as exc:
            raise ValidationError(str(exc)) from None
    if backend not in RegenerationJob.Backend.values:
        raise ValidationError(f"backend must be one of {', '.join(RegenerationJob.Backend.values)}")
    needs_model = any(spec.needs_model for spec in specs.values())
    model = (model or "").strip()
    if needs_model and not model:
        raise ValidationError("the model is required for methods that call a model")
    base_url = _check_base_url((base_url or "").strip())
    parameters = _check_parameters(parameters or {})
    chunk_size = chunk_size or settings.REGENERATION_CHUNK_SIZE
    if not 1 <= chunk_size <= 10_000:
        raise ValidationError("the chunk size must be between 1 and 10000")
    pair_ids = _select_source_pairs(
        datasets, modality=modality, body_part=body_part, sample=sample, seed=seed
    )
    if not pair_ids:
        raise ValidationError("no source pairs match this selection")
    with transaction.atomic():
        job = RegenerationJob.objects.create(
            name=name[:200],
            created_by=created_by,
            selection={
                "modality": modality,
                "body_part": body_part,
                "sample": sample,
                "seed": seed,
            },
            source_pair_ids=pair_ids,
            methods=keys,
            backend=backend,
            base_url=base_url,
            model=model,
            parameters=parameters,
            chunk_size=chunk_size,
        )
        job.source_datasets.set(datasets)
        audit_event_record(
            actor=created_by, verb="regeneration.created", target=job,
            data={"base_url": base_url, "model": model, "methods": list(keys)},
        )  # fmt: skip
        job.output_dataset = Dataset.objects.create(
            name=f"{name[:150]} (regenerated, job {job.pk})",
            description=f"Items regenerated by job {job.pk} from "
            f"{', '.join(d.name for d in datasets)}.",
            owner=created_by,
        )
        for key in keys:
            spec = specs[key]
            # Regenerated items get their own method row, so a campaign can compare them with
            # the originals built by the same construction method.
            item_method = Method.objects.create(
                key=f"{key[:44]}-job{job.pk}",
                name=f"{rows[key].name[:120]} · {model or 'no model'} (job {job.pk})",
                description=f"{key} regenerated by job {job.pk}",
                sees_image=spec.sees_image,
                sees_context=spec.sees_context,
                prompt_template=spec.template,
            )
            method_options[key] = {
                "output": spec.output,
                "item_method": item_method.key,
                "prompt_hash": construction.prompt_hash(spec),
            }
        job.method_options = method_options
        job.save(update_fields=["output_dataset", "method_options"])
        if start:
            _queue_chunk(job, 0)
    logger.info(
        "regeneration job %s created: %s pairs x %s methods", job.pk, len(pair_ids), len(keys)
    )
    return job


def _queue_chunk(job: RegenerationJob, offset: int) -> None:
    from audit.regeneration.tasks import run_chunk  # tasks imports the runner, which imports this

    enqueue_on_commit(
        run_chunk,
        job.pk,
        offset,
        on_failure=lambda exc: job_fail(job=job, error=broker_down_message(exc)),
    )


def job_finish(*, job: RegenerationJob) -> None:
    """The end of a job that ran through: succeeded, partly failed (some generations failed)
    or failed (all did, or none was made), with the failures summed up by cause in ``error``."""
    counts = Generation.objects.filter(job=job).aggregate(
        done=Count("pk", filter=Q(status=Generation.Status.SUCCEEDED)),
        failed=Count("pk", filter=Q(status=Generation.Status.FAILED)),
    )
    done, failed = counts["done"], counts["failed"]
    status, error = RegenerationJob.Status.SUCCEEDED, ""
    if not done:
        status = RegenerationJob.Status.FAILED
        error = (
            f"all {failed} generations failed. {failure_summary(job)}"
            if failed
            else "nothing was generated: none of the source pairs could be read"
        )
    elif failed:
        status = RegenerationJob.Status.PARTLY_FAILED
        error = f"{failed} of {done + failed} generations failed. {failure_summary(job)}"
    RegenerationJob.objects.filter(pk=job.pk, status=RegenerationJob.Status.RUNNING).update(
        status=status, error=error[:5000], finished_at=timezone.now()
    )


def failure_summary(job: RegenerationJob, *, limit: int = 3) -> str:
    """The failures grouped by cause, most frequent first: "8 x nothing listens at ..."."""
    groups = (
        Generation.objects.filter(job=job, status=Generation.Status.FAILED)
        .values("cause")
        .annotate(n=Count("pk"), first=Min("pk"))
        .order_by("-n", "cause")
    )
    parts = []
    for group in groups[:limit]:
        message = Generation.objects.filter(pk=group["first"]).values_list("error", flat=True)[0]
        parts.append(f"{group['n']} x {message}")
    more = len(groups) - limit
    if more > 0:
        parts.append(f"and {more} other cause(s)")
    return "; ".join(parts)


def job_fail(*, job: RegenerationJob, error: str) -> None:
    logger.warning("regeneration job %s failed: %s", job.pk, error)
    RegenerationJob.objects.filter(
        pk=job.pk, status__in=[RegenerationJob.Status.QUEUED, RegenerationJob.Status.RUNNING]
    ).update(status=RegenerationJob.Status.FAILED, error=error[:5000], finished_at=timezone.now())


# --- controlling ---------------------------------------------------------------------------


def job_cancel(*, job: RegenerationJob) -> RegenerationJob:
    """Stop a queued or running job: the running chunk stops after its current batch."""
    updated = RegenerationJob.objects.filter(
        pk=job.pk, status__in=[RegenerationJob.Status.QUEUED, RegenerationJob.Status.RUNNING]
    ).update(status=RegenerationJob.Status.CANCELLED, finished_at=timezone.now())
    job.refresh_from_db()
    if not updated:
        raise ValidationError(
            f"the job is {job.status}; only a queued or running job can be cancelled"
        )
    return job


def job_resume(*, job: RegenerationJob, retry_failed: bool = False) -> RegenerationJob:
    """Queue the job again from its first unfinished chunk (also after a worker died).
    ``retry_failed`` drops the failed generations and goes over every chunk again (the
    succeeded ones are kept and skipped)."""
    with transaction.atomic():
        job = RegenerationJob.objects.select_for_update().get(pk=job.pk)
        if job.status == RegenerationJob.Status.SUCCEEDED and not retry_failed:
            raise ValidationError("the job has succeeded: there is nothing to resume")
        if job.cursor >= len(job.source_pair_ids) and job.is_finished and not retry_failed:
            raise ValidationError("the job has run to its end; retry its failed generations")
        if retry_failed:
            Generation.objects.filter(job=job, status=Generation.Status.FAILED).delete()
            job.cursor = 0
        job.status = RegenerationJob.Status.QUEUED
        job.error = ""
        job.finished_at = None
        job.save(update_fields=["status", "error", "finished_at", "cursor"])
        if job.cursor >= len(job.source_pair_ids):
            job.status = RegenerationJob.Status.RUNNING
            job.save(update_fields=["status"])
            job_finish(job=job)
            job.refresh_from_db()
        else:
            _queue_chunk(job, job.cursor)
    return job
