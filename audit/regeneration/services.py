"""Writes for regeneration: create, run a chunk, cancel, resume, and the comparison campaign.

A job runs as a chain of chunk tasks on the gpu queue (tasks.py). ``job_run_chunk`` is
idempotent: it skips the (source pair, method) generations the job already has, and an item's
content hash is derived from (job, source pair, method, kind), so a chunk that runs twice (a
worker killed mid-chunk, a redelivered message, a resume) never makes a second item. Results are
written in small transactions as answers come in, so a killed worker loses at most one batch.
"""

from __future__ import annotations

import hashlib
import logging
import random
import time
from collections.abc import Iterable, Iterator, Sequence
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from audit.datasets.images import store_path
from audit.datasets.models import Dataset, Item, Method, SourcePair, SourcePairImage
from audit.datasets.selectors import datasets_visible_to
from audit.regeneration import methods as construction
from audit.regeneration.backends import BackendUnavailable, Result, get_backend
from audit.regeneration.models import Generation, RegenerationJob
from audit.regeneration.parsing import OutputError, parse_output

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
FLUSH_EVERY = 64  # answers per write transaction
FLUSH_SECONDS = 1.0
MAX_CONSECUTIVE_TRANSPORT_ERRORS = 50


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
    if not base_url:
        return ""
    parts = urlsplit(base_url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValidationError(f"base URL must be an http(s) URL, not {base_url!r}")
    if parts.username or parts.password or parts.query or parts.fragment:
        raise ValidationError(
            "the base URL may not carry credentials or a query: API keys come from the "
            "OPENAI_API_KEY environment variable of the worker"
        )
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
    from audit.regeneration import tasks

    transaction.on_commit(lambda: tasks.run_chunk.delay(job.pk, offset))


# --- running -------------------------------------------------------------------------------


def _views(pair_ids: list[int]) -> dict[int, construction.SourceView]:
    pairs = SourcePair.objects.in_bulk(pair_ids)
    images: dict[int, list] = {}
    for link in (
        SourcePairImage.objects.filter(source_pair_id__in=pair_ids)
        .select_related("image")
        .order_by("source_pair_id", "position")
    ):
        images.setdefault(link.source_pair_id, []).append(link.image)

    def loader(stored):
        def load():
            if not stored or any(image is None for image in stored):
                return []
            return [(i.format, store_path(i.sha256, i.format).read_bytes()) for i in stored]

        return load

    return {
        pk: construction.SourceView(
            pair_id=pk,
            key=p.key,
            caption=p.caption,
            context=p.context,
            modality=p.modality,
            body_part=p.body_part,
            image_count=p.image_count or len(images.get(pk, [])),
            load_images=loader(images.get(pk)),
        )
        for pk, p in pairs.items()
    }


class _Writer:
    """Buffers finished generations and writes them (items first) in small transactions."""

    def __init__(self, job: RegenerationJob, method_rows: dict[str, Method]):
        self.job = job
        self.rows = method_rows
        self.item_methods = {
            m.key: m
            for m in Method.objects.filter(
                key__in=[o["item_method"] for o in job.method_options.values()]
            )
        }
        self.position = {pk: i for i, pk in enumerate(job.source_pair_ids)}
        self.buffer: list[dict] = []
        self.last_flush = time.monotonic()
        self.written = 0

    def add(self, **entry) -> None:
        self.buffer.append(entry)

    def due(self) -> bool:
        return len(self.buffer) >= FLUSH_EVERY or (
            self.buffer and time.monotonic() - self.last_flush >= FLUSH_SECONDS
        )

    def _item(self, entry: dict, kind: str, question: str, answer: str, hash_: str) -> Item:
        job, source, key = self.job, entry["source"], entry["method"]
        options = job.method_options[key]
        provenance = {
            "regeneration_job": job.pk,
            "backend": job.backend if entry["spec"].needs_model else "none",
            "model": job.model if entry["spec"].needs_model else "",
            "method": key,
            "prompt_hash": options["prompt_hash"],
            "request_hash": entry.get("request_hash", ""),
            "parameters": job.parameters if entry["spec"].needs_model else {},
            "duration_ms": entry.get("duration_ms", 0),
            "prompt_tokens": entry.get("prompt_tokens", 0),
            "completion_tokens": entry.get("completion_tokens", 0),
        }
        if entry.get("scenario"):
            provenance["scenario"] = entry["scenario"]
        return Item(
            dataset_id=job.output_dataset_id,
            source_pair_id=source.pair_id,
            method=self.item_methods[options["item_method"]],
            kind=kind,
            record_index=self.position.get(source.pair_id, 0),
            question=question,
            answer=answer,
            conversation=[{"from": "human", "value": question}, {"from": "gpt", "value": answer}],
            modality=source.modality,
            body_part=source.body_part,
            language="en",
            provenance=provenance,
            content_hash=hash_,
        )

    def flush(self) -> int:
        if not self.buffer:
            return 0
        entries, self.buffer = self.buffer, []
        items, hashes = [], {}
        for n, entry in enumerate(entries):
            for spec in entry.get("items", ()):
                hash_ = item_hash(
                    self.job.pk, entry["source"].pair_id, entry["method"], spec["kind"]
                )
                hashes.setdefault(n, []).append(hash_)
                items.append(
                    self._item(entry, spec["kind"], spec["question"], spec["answer"], hash_)
                )
        with transaction.atomic():
            if items:
                Item.objects.bulk_create(items, ignore_conflicts=True, batch_size=500)
                ids = dict(
                    Item.objects.filter(
                        dataset_id=self.job.output_dataset_id,
                        content_hash__in=[i.content_hash for i in items],
                    ).values_list("content_hash", "pk")
                )
            Generation.objects.bulk_create(
                [
                    Generation(
                        job=self.job,
                        source_pair_id=e["source"].pair_id,
                        method=self.rows[e["method"]],
                        status=Generation.Status.FAILED
                        if e.get("error")
                        else Generation.Status.SUCCEEDED,
                        raw_output=e.get("raw", ""),
                        parsed=e.get("parsed") or {},
                        error=e.get("error", "")[:5000],
                        prompt_hash=e.get("request_hash", ""),
                        prompt_tokens=e.get("prompt_tokens", 0),
                        completion_tokens=e.get("completion_tokens", 0),
                        duration_ms=e.get("duration_ms", 0),
                        attempts=e.get("attempts", 0),
                        item_ids=[ids[h] for h in hashes.get(n, []) if h in ids],
                    )
                    for n, e in enumerate(entries)
                ],
                ignore_conflicts=True,
                batch_size=500,
            )
        self.last_flush = time.monotonic()
        self.written += len(entries)
        return len(entries)


def item_hash(job_id: int, pair_id: int, method: str, kind: str) -> str:
    """Deterministic per (job, source pair, method, kind): the same generation run twice gives
    the same hash, which the (dataset, content_hash) constraint keeps once."""
    return hashlib.sha256(f"regeneration|{job_id}|{pair_id}|{method}|{kind}".encode()).hexdigest()


def _still_running(job: RegenerationJob) -> bool:
    return RegenerationJob.objects.filter(pk=job.pk, status=RegenerationJob.Status.RUNNING).exists()


def job_run_chunk(*, job_id: int, offset: int, backend=None) -> int | None:
    """Run the chunk of source pairs at ``offset``; returns the next chunk's offset to queue, or
    None (job finished, cancelled, failed, or this chunk is stale)."""
    job = RegenerationJob.objects.filter(pk=job_id).first()
    if job is None or not job.is_active or offset != job.cursor:
        return None
    now = timezone.now()
    RegenerationJob.objects.filter(pk=job.pk, status__in=["queued", "running"]).update(
        status=RegenerationJob.Status.RUNNING
    )
    RegenerationJob.objects.filter(pk=job.pk, started_at__isnull=True).update(started_at=now)
    job.refresh_from_db()
    pair_ids = job.source_pair_ids[offset : offset + job.chunk_size]
    rows = {m.key: m for m in Method.objects.filter(key__in=job.methods)}
    done = set(
        Generation.objects.filter(job=job, source_pair_id__in=pair_ids, variant="").values_list(
            "source_pair_id", "method__key"
        )
    )
    views = _views(pair_ids)
    specs = {
        key: construction.spec_for(rows[key], output=job.method_options[key]["output"])
        for key in job.methods
    }
    writer = _Writer(job, rows)
    todo = [
        (pk, key) for pk in pair_ids if pk in views for key in job.methods if (pk, key) not in done
    ]

    model_work = []
    for pk, key in todo:
        spec, source = specs[key], views[pk]
        if spec.needs_model:
            model_work.append((source, key, spec))
            continue
        try:
            writer.add(
                source=source,
                method=key,
                spec=spec,
                items=construction.native_caption_items(source),
            )
        except construction.MethodError as exc:
            writer.add(source=source, method=key, spec=spec, error=str(exc))
    writer.flush()

    cancelled = False
    if model_work:
        cancelled = _run_model_work(job, model_work, writer, backend)
    writer.flush()
    if cancelled or not _still_running(job):
        return None
    advanced = RegenerationJob.objects.filter(
        pk=job.pk, cursor=offset, status=RegenerationJob.Status.RUNNING
    ).update(cursor=offset + len(pair_ids))
    if not advanced:
        return None  # another run of this chunk got there first
    if offset + len(pair_ids) >= len(job.source_pair_ids):
        job_finish(job=job)
        return None
    return offset + len(pair_ids)


def _run_model_work(job, work, writer: _Writer, backend) -> bool:
    """Send the model requests; returns True when the job was cancelled (or failed) meanwhile."""
    own_backend = backend is None
    if own_backend:
        try:
            backend = get_backend(job)
        except BackendUnavailable as exc:
            job_fail(job=job, error=str(exc))
            return True
    meta: list[tuple] = []

    def requests() -> Iterator[construction.Request]:
        for source, key, spec in work:
            try:
                request = construction.build_request(spec=spec, source=source)
            except construction.MethodError as exc:
                writer.add(source=source, method=key, spec=spec, error=str(exc))
                continue
            meta.append((source, key, spec, request))
            yield request

    consecutive_errors = 0
    results = backend.generate(requests())
    try:
        for result in results:
            source, key, spec, request = meta[result.index]
            entry = _entry(source, key, spec, request, result)
            writer.add(**entry)
            consecutive_errors = consecutive_errors + 1 if result.error and not result.text else 0
            if consecutive_errors >= MAX_CONSECUTIVE_TRANSPORT_ERRORS:
                writer.flush()
                job_fail(job=job, error=f"the model server is not answering: {result.error}")
                return True
            if writer.due():
                writer.flush()
                if not _still_running(job):
                    return True
    finally:
        results.close()
        if own_backend:
            backend.close()
    return False


def _entry(source, key, spec, request, result: Result) -> dict:
    entry = dict(
        source=source,
        method=key,
        spec=spec,
        raw=result.text,
        attempts=result.attempts,
        prompt_tokens=result.prompt_tokens,
        completion_tokens=result.completion_tokens,
        duration_ms=result.duration_ms,
        request_hash=request.prompt_hash,
        scenario=request.extra.get("scenario", ""),
    )
    if result.error:
        entry["error"] = result.error
        return entry
    try:
        parsed = parse_output(result.text, spec.output)
    except OutputError as exc:
        entry["error"] = f"invalid output: {exc}"
        return entry
    entry["parsed"] = parsed
    entry["items"] = construction.items_from_output(spec=spec, source=source, parsed=parsed)
    return entry


def job_finish(*, job: RegenerationJob) -> None:
    RegenerationJob.objects.filter(pk=job.pk, status=RegenerationJob.Status.RUNNING).update(
        status=RegenerationJob.Status.SUCCEEDED, finished_at=timezone.now()
    )


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
            raise ValidationError("the job has finished; retry its failed generations instead")
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


def comparison_campaign_create(
    *,
    job: RegenerationJob,
    created_by,
    name: str = "",
    experts: Iterable = (),
    n: int | None = None,
    original_methods: Sequence[str] | None = None,
    raters_per_item: int = 3,
    seed: int | None = None,
):
    """A draft paired campaign over the job's regenerated items and the originals from its
    source datasets (the same source pairs seen through every method), blinded like any other."""
    from audit.campaigns.services import PUBMEDVISION_GUIDELINES, campaign_create

    if job.status != RegenerationJob.Status.SUCCEEDED:
        raise ValidationError("only a finished job can be compared")
    item_methods = [job.method_options[k]["item_method"] for k in job.methods]
    produced = set(
        Item.objects.filter(dataset_id=job.output_dataset_id).values_list("method__key", flat=True)
    )
    regenerated = [key for key in item_methods if key in produced]
    if not regenerated:
        raise ValidationError("the job produced no items to compare")
    sources = list(job.source_datasets.all())
    if original_methods is None:
        original_methods = sorted(
            set(Item.objects.filter(dataset__in=sources).values_list("method__key", flat=True))
        )
    methods = regenerated + [m for m in original_methods if m not in regenerated]
    return campaign_create(
        name=name or f"{job.name}: regenerated vs original",
        created_by=created_by,
        datasets=[job.output_dataset, *sources],
        methods=methods,
        n=n or len(job.source_pair_ids),
        kind="paired",
        raters_per_item=raters_per_item,
        seed=seed,
        experts=experts,
        guidelines=PUBMEDVISION_GUIDELINES,
    )
