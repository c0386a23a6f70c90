"""Writes for the dataset layer: importing files, import jobs, methods."""

import json
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from audit.datasets.errors import FileFormatError, ImportFailed, RecordError, RecordProblem
from audit.datasets.images import (
    ImageProblem,
    ImageSources,
    ImageStoreWriter,
    probe_image,
)
from audit.datasets.importers.formats import (
    FORMATS,
    ImportOptions,
    ParsedRecord,
    guess_format,
    guess_kind,
)
from audit.datasets.importers.reading import READERS, ByteCounter, ReadAhead, detect_container
from audit.datasets.importers.writers import ItemRow, PairRow, writer_for_connection
from audit.datasets.models import Dataset, Image, ImportJob, Method

logger = logging.getLogger(__name__)

MAX_REPORTED_PROBLEMS = 100
Progress = Callable[[int, int, int], None]  # records read, bytes read, bytes in all


@dataclass
class ImportSummary:
    dataset: str
    format: str
    records: int = 0
    items_created: int = 0
    items_duplicate: int = 0
    source_pairs_created: int = 0
    source_pairs_reused: int = 0
    images_stored: int = 0
    images_reused: int = 0
    images_without_file: int = 0
    rejects: int = 0
    rejects_path: str | None = None
    seconds: float = 0.0
    problems: list[dict] = field(default_factory=list)

    def as_dict(self) -> dict:
        return asdict(self)


def _open_records(path: Path, fmt: str, max_record_bytes: int):
    """The file's records and the format to parse them with (guessing it for 'auto')."""
    fp = path.open("rb")
    suffix = path.suffix.lower()
    if fmt == "csv" or suffix == ".csv":
        container = "csv"
    elif suffix in (".jsonl", ".ndjson"):
        container = "jsonl"
    elif suffix == ".json":
        container = "json"  # a .json file must hold one array; anything else is an error
    else:
        container = detect_container(fp)
    if fmt == "auto":
        try:
            first = next(READERS[container](ByteCounter(fp), max_record_bytes=max_record_bytes))
        except StopIteration:
            fp.close()
            raise ImportFailed([RecordProblem("the file holds no records")]) from None
        except RecordError as exc:
            fp.close()
            raise ImportFailed([exc.problem]) from None
        fmt = guess_format(first[1], path.name)
        fp.seek(0)
    if container not in FORMATS[fmt].containers:
        container = FORMATS[fmt].containers[0]
    counter = ByteCounter(fp)
    return fp, counter, READERS[container](counter, max_record_bytes=max_record_bytes), fmt


class _ImageResolver:
    """Finds, checks and stores the images a record names; remembers paths already done."""

    def __init__(self, sources: ImageSources, store: ImageStoreWriter, summary: ImportSummary):
        self.sources = sources
        self.store = store
        self.summary = summary
        self.by_path: dict[str, int | ImageProblem] = {}

    def resolve(self, record: ParsedRecord) -> list[int | None]:
        if self.sources.empty:
            self.summary.images_without_file += len(record.image_paths)
            return [None] * len(record.image_paths)
        ids: list[int | None] = []
        for i, path in enumerate(record.image_paths):
            found = self.by_path.get(path)
            if found is None:
                found = self.by_path[path] = self._load(path)
            if isinstance(found, ImageProblem):
                raise RecordError(
                    RecordProblem(
                        f"{path[:200]!r}: {found}",
                        record.position,
                        record.external_id,
                        f"image[{i}]",
                    )
                )
            ids.append(found)
        return ids

    def _load(self, path: str) -> int | ImageProblem:
        try:
            data = self.sources.read(path)
            if data is None:
                return ImageProblem("not found in the given image folders or zips")
            probed = probe_image(data)
        except ImageProblem as exc:
            return exc
        image = Image.objects.filter(sha256=probed.sha256).only("id").first()
        if image:
            self.summary.images_reused += 1
            self.store.put(probed, data)  # the file may have been lost: put is a no-op if not
            return image.pk
        self.store.put(probed, data)
        self.summary.images_stored += 1
        return Image.objects.create(
            sha256=probed.sha256,
            format=probed.format,
            width=probed.width,
            height=probed.height,
            size_bytes=probed.size_bytes,
        ).pk


class _ChunkWriter:
    """Turns a chunk of parsed records into source pairs and items, deduplicated."""

    def __init__(self, writer, dataset: Dataset, summary: ImportSummary, check_existing: bool):
        self.writer = writer
        self.summary = summary
        self.check_existing = check_existing
        self.pair_ids: dict[str, int] = {}
        self.seen_items: set[bytes] = set()
        self.methods = {m.key: m.pk for m in Method.objects.all()}

    def method_id(self, record: ParsedRecord) -> int:
        if not record.method_key:
            raise RecordError(
                RecordProblem(
                    "no construction method: give --method KEY or a 'method' column",
                    record.position,
                    record.external_id,
                    "method",
                )
            )
        pk = self.methods.get(record.method_key)
        if pk is None:
            known = ", ".join(sorted(self.methods))
            raise RecordError(
                RecordProblem(
                    f"unknown method {record.method_key!r} (known: {known})",
                    record.position,
                    record.external_id,
                    "method",
                )
            )
        return pk

    def write(self, chunk: list[tuple[ParsedRecord, list[int | None], int, tuple | None]]) -> None:
        """``chunk``: (record, image ids, method id, the writer's prepare for it)."""
        writer, summary, pair_ids = self.writer, self.summary, self.pair_ids
        keys = {rec.pair_key for rec, _, _, _ in chunk}
        unknown = [k for k in keys if k not in pair_ids]
        existing = writer.lookup_pairs(unknown) if unknown else {}
        summary.source_pairs_reused += len(existing)
        pair_ids.update(existing)

        new_rows: dict[str, PairRow] = {}
        updates: list[tuple[int, str, str, str, str]] = []
        links: list[tuple[int, int, int]] = []
        for rec, image_ids, _, prepared in chunk:
            key = rec.pair_key
            pk = pair_ids.get(key)
            if pk is None:
                row = new_rows.get(key)
                if row is None:
                    new_rows[key] = row = PairRow(
                        key,
                        rec.caption,
                        rec.context,
                        rec.modality,
                        rec.body_part,
                        list(
                            zip(
                                range(len(rec.image_paths)), rec.image_paths, image_ids, strict=True
                            )
                        ),
                    )
                    if prepared is not None and prepared[1] is not None:
                        row.prepared = prepared[1:]
                else:
                    row.prepared = None  # merged: the writer formats the row itself
                    row.caption = rec.caption or row.caption
                    row.context = rec.context or row.context
                    row.modality = row.modality or rec.modality
                    row.body_part = row.body_part or rec.body_part
                    row.links = [
                        (i, p, old if old is not None else new)
                        for (i, p, old), new in zip(row.links, image_ids, strict=True)
                    ]
                continue
            if rec.caption or rec.context:
                updates.append((pk, rec.caption, rec.context, rec.modality, rec.body_part))
            links.extend((pk, i, img) for i, img in enumerate(image_ids) if img is not None)
        if new_rows:
            created = writer.create_pairs(list(new_rows.values()))
            summary.source_pairs_created += len(created)
            pair_ids.update(created)
        if updates:
            writer.update_pairs(updates)
        if links:
            writer.fill_links(links)

        rows: list[ItemRow] = []
        hashes = []
        seen, fromhex = self.seen_items, bytes.fromhex
        duplicates = 0
        for rec, _, method_id, prepared in chunk:
            content_hash = rec.content_hash  # computed once per record, cached
            digest = fromhex(content_hash[:32])
            if digest in seen:
                duplicates += 1
                continue
            seen.add(digest)
            hashes.append(content_hash)
            rows.append(
                ItemRow(
                    pair_ids[rec.pair_key],
                    method_id,
                    rec.kind,
                    rec.external_id,
                    rec.position,
                    rec.question,
                    rec.answer,
                    rec.conversation,
                    rec.conversation_json,
                    rec.modality,
                    rec.body_part,
                    content_hash,
                    prepared[0] if prepared is not None else None,
                )
            )
        summary.items_duplicate += duplicates
        if self.check_existing and hashes:
            already = writer.existing_item_hashes(hashes)
            if already:
                summary.items_duplicate += len(already)
                rows = [r for r in rows if r.content_hash not in already]
        if rows:
            writer.create_items(rows)
            summary.items_created += len(rows)


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
) -> ImportSummary:
    """Import one file into the dataset named ``dataset_name`` (created if new).

    All-or-nothing by default: any bad record fails the import, which then leaves nothing in the
    database or the image store, and ImportFailed lists up to 100 problems. With
    ``skip_invalid`` the valid records are imported and the rejects written to ``rejects_path``.
    """
    started = time.monotonic()
    path = Path(path)
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

    max_bytes = settings.IMPORT_MAX_RECORD_BYTES
    fp, counter, records, fmt = _open_records(path, fmt, max_bytes)
    bytes_total = path.stat().st_size
    spec = FORMATS[fmt]
    options = ImportOptions(
        format=fmt,
        method_key=method_key,
        kind=kind or guess_kind(path.name),
        language=language,
        column_map=column_map or {},
    )
    summary = ImportSummary(dataset=dataset_name, format=fmt)
    if spec.needs_method and not method_key and "method" not in (column_map or {}):
        fp.close()
        raise ImportFailed([RecordProblem(f"format {fmt!r} needs a method (--method KEY)")])
    try:
        sources = ImageSources([Path(p) for p in image_sources])
    except ImageProblem as exc:
        fp.close()
        raise ImportFailed([RecordProblem(str(exc))]) from None

    problems: list[RecordProblem] = [RecordProblem(p, field="images") for p in sources.problems]
    rejects: list[RecordProblem] = []
    store = ImageStoreWriter()
    try:
        if problems and not skip_invalid:
            raise ImportFailed(problems[:MAX_REPORTED_PROBLEMS])
        rejects.extend(problems)
        with transaction.atomic():
            dataset, created = Dataset.objects.get_or_create(
                name=dataset_name.strip(), defaults={"owner": owner}
            )
            writer = writer_for_connection(
                dataset_id=dataset.pk,
                language=language,
                provenance={"file": path.name, "format": fmt, "kind": options.kind},
                now=timezone.now(),
            )
            chunks = _ChunkWriter(
                writer, dataset, summary, check_existing=not created and dataset.items.exists()
            )
            resolver = _ImageResolver(sources, store, summary)
            chunk: list = []
            chunk_size = settings.IMPORT_CHUNK_SIZE
            failed = False
            parse, method_of = spec.parse, chunks.method_id

            # Re-importing into a dataset that has items: most records are likely duplicates,
            # not worth preparing rows for.
            prepare = None if chunks.check_existing else writer.prepare
            image_files = not sources.empty

            def parse_one(item: tuple) -> tuple:
                # In the read-ahead thread: no database here (images are resolved below).
                position, raw = item
                try:
                    if isinstance(raw, RecordError):
                        raise raw
                    record = parse(position, raw, options)
                    method_id = method_of(record)
                except RecordError as exc:
                    return position, exc, None, None
                # The hashes too (cached on the record) and the writer's part of the row. One
                # that fails (a lone surrogate cannot be encoded) fails again later in the
                # writer, where it always did.
                try:
                    record.pair_key  # noqa: B018
                    record.content_hash  # noqa: B018
                    prepared = (
                        prepare(record, method_id, image_files=image_files) if prepare else None
                    )
                except ValueError:
                    prepared = None
                return position, record, method_id, prepared

            parsed = ReadAhead(records, parse_one, snapshot=lambda: counter.bytes_read)
            try:
                for position, record, method_id, prepared in parsed:
                    summary.records = position
                    try:
                        if isinstance(record, RecordError):
                            raise record
                        image_ids = resolver.resolve(record)
                    except RecordError as exc:
                        if skip_invalid:
                            rejects.append(exc.problem)
                            continue
                        failed = True
                        problems.append(exc.problem)
                        if len(problems) >= MAX_REPORTED_PROBLEMS:
                            break
                        continue
                    if failed:
                        continue  # keep checking to report more problems, but write nothing more
                    chunk.append((record, image_ids, method_id, prepared))
                    if len(chunk) >= chunk_size:
                        chunks.write(chunk)
                        chunk = []
                        if progress:
                            progress(position, parsed.snapshot, bytes_total)
            finally:
                parsed.close()
            if failed:
                raise ImportFailed(problems)
            if chunk:
                chunks.write(chunk)
            if not summary.records:
                raise ImportFailed([RecordProblem("the file holds no records")])
            if summary.items_created == 0 and summary.items_duplicate == 0:
                raise ImportFailed(
                    rejects[:MAX_REPORTED_PROBLEMS] or [RecordProblem("no valid records")]
                )
    except FileFormatError as exc:
        store.rollback()
        raise ImportFailed(
            [*problems, exc.problem][:MAX_REPORTED_PROBLEMS], asdict(summary)
        ) from None
    except ImportFailed as exc:
        store.rollback()
        exc.summary = asdict(summary)
        raise
    except OSError as exc:
        store.rollback()
        raise ImportFailed(
            [RecordProblem(f"storage error, nothing was imported: {exc}")], asdict(summary)
        ) from None
    except BaseException:
        store.rollback()
        raise
    finally:
        fp.close()
        sources.close()

    summary.rejects = len(rejects)
    summary.problems = [p.as_dict() for p in rejects[:MAX_REPORTED_PROBLEMS]]
    if rejects:
        target = rejects_path or path.with_name(path.name + ".rejects.jsonl")
        with open(target, "w", encoding="utf-8") as fh:
            for problem in rejects:
                fh.write(json.dumps(problem.as_dict(), ensure_ascii=False) + "\n")
        summary.rejects_path = str(target)
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
    """Save the uploaded files and queue the import on the io queue once the job is committed."""
    folder = settings.UPLOAD_DIR / timezone.now().strftime("%Y%m%d-%H%M%S-%f")
    folder.mkdir(parents=True, exist_ok=True)

    def save(uploaded, index: int) -> Path:
        suffix = "".join(Path(uploaded.name).suffixes[-2:])[:16]
        target = folder / f"{index}{suffix}"
        with open(target, "wb") as fh:
            for part in uploaded.chunks():
                fh.write(part)
        return target

    source = save(upload, 0)
    images = [str(save(u, i)) for i, u in enumerate(image_uploads, start=1)]
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
    transaction.on_commit(lambda: _enqueue_import(job.pk))
    return job


def _enqueue_import(job_id: int) -> None:
    from audit.datasets.tasks import run_import_job

    try:
        run_import_job.delay(job_id)
    except Exception as exc:  # the broker is down: say so on the job instead of hanging
        logger.exception("could not queue import job %s", job_id)
        ImportJob.objects.filter(pk=job_id).update(
            status=ImportJob.Status.FAILED,
            error=f"could not queue the job (is the broker running?): {exc}",
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
