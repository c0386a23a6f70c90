"""Running one chunk of a regeneration job: build each (source pair, method)'s request, send the
model requests, parse the answers and write them as items of the job's output dataset.

``job_run_chunk`` is idempotent: it skips the (source pair, method) generations the job already
has, and an item's content hash is derived from (job, source pair, method, kind), so a chunk that
runs twice (a worker killed mid-chunk, a redelivered message, a resume) never makes a second
item. Results are written in small transactions as answers come in, so a killed worker loses at
most one batch.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Iterator

from django.db import transaction
from django.utils import timezone

from audit.datasets.images import image_file
from audit.datasets.models import Item, Method, SourcePair, SourcePairImage
from audit.regeneration import methods as construction
from audit.regeneration.backends import BackendUnavailable, Result, get_backend
from audit.regeneration.jobs import job_fail, job_finish
from audit.regeneration.models import Generation, RegenerationJob
from audit.regeneration.parsing import OutputError, parse_output

logger = logging.getLogger(__name__)

FLUSH_EVERY = 64  # answers per write transaction
FLUSH_SECONDS = 1.0
MAX_CONSECUTIVE_TRANSPORT_ERRORS = 50


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
            return [(i.format, image_file(i).read_bytes()) for i in stored]

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
        ids: dict[str, int] = {}
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
                        cause=e.get("cause", "")[:32],
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
            writer.add(source=source, method=key, spec=spec, error=str(exc), cause="method")
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
                writer.add(source=source, method=key, spec=spec, error=str(exc), cause="method")
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
        entry["cause"] = result.cause or "server"
        return entry
    try:
        parsed = parse_output(result.text, spec.output)
    except OutputError as exc:
        entry["error"] = f"invalid output: {exc}"
        entry["cause"] = "invalid_output"
        return entry
    entry["parsed"] = parsed
    entry["items"] = construction.items_from_output(spec=spec, source=source, parsed=parsed)
    return entry
