"""The import pipeline, one small step per job (doccano's shape), for one file:

read      ``open_records``: the file's raw records by position, and the format to parse them with
parse     ``record_parser``: one raw record -> the parsed record, its method id and the writer's
          part of its row; runs in the read-ahead thread (reading.ReadAhead), so no database
resolve   ``ImageResolver``: the images a record names -> Image ids. Each new path is handed
          (from the read-ahead thread, as its record is parsed) to forked worker processes
          (or threads) that read, probe, hash and store it (copied, hard-linked, or recorded
          in place); the main thread collects a chunk's results and creates its Image rows in
          one batch, so the image work runs while the previous chunk is written to the database
write     ``ChunkWriter``: a chunk of records -> source pairs and items, deduplicated, batched
          (writers.py: PostgreSQL COPY or the ORM)

``import_records`` drives the steps inside the caller's transaction; ``services.dataset_import``
checks the request, owns the transaction and the image store's rollback, and reports. The steps
work on whole chunks where they can and the per-record loop stays in one function with local
names: the pipeline must not cost the import its speed.
"""

import contextlib
import gc
import json
import logging
import multiprocessing
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from audit.datasets.errors import ImportFailed, RecordError, RecordProblem
from audit.datasets.images import (
    ImageProblem,
    ImageSources,
    ImageStoreWriter,
    ProbedImage,
    in_place_location,
    probe_image,
    root_of,
)
from audit.datasets.importers.formats import FORMATS, ImportOptions, ParsedRecord, guess_format
from audit.datasets.importers.reading import READERS, ByteCounter, ReadAhead, detect_container
from audit.datasets.importers.writers import ImageRow, ItemRow, OrmWriter, PairRow
from audit.datasets.models import Method

logger = logging.getLogger(__name__)

MAX_REPORTED_PROBLEMS = 100
# Paths per task when the image work runs in processes (a task's round trip costs the parent
# about as much Python as loading one image).
PROCESS_BATCH = 32
Progress = Callable[[int, int, int], None]  # records read, bytes read, bytes in all
# What the parse step hands on: (position, the record or its error, method id, prepared row).
Parsed = tuple[int, ParsedRecord | RecordError, int | None, tuple | None]
# What the write step takes per record: (record, image ids, method id, prepared row).
ChunkRow = tuple[ParsedRecord, list[int | None], int, tuple | None]


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
    image_mode: str = "copy"
    images_linked: int = 0
    notes: list[str] = field(default_factory=list)
    rejects: int = 0
    rejects_path: str | None = None
    seconds: float = 0.0
    problems: list[dict] = field(default_factory=list)

    def as_dict(self) -> dict:
        return asdict(self)


# --- read ----------------------------------------------------------------------------------


@dataclass
class RecordSource:
    """An open file's records: ``records`` yields (position, raw record); ``counter`` tells the
    bytes read so far (for progress)."""

    fp: BinaryIO
    counter: ByteCounter
    records: Iterator[tuple[int, Any]]
    format: str

    def close(self) -> None:
        self.fp.close()


def open_records(*, path: Path, fmt: str, max_record_bytes: int) -> RecordSource:
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
    return RecordSource(
        fp, counter, READERS[container](counter, max_record_bytes=max_record_bytes), fmt
    )


IMAGE_MODES = ("copy", "link", "in_place")


def open_image_sources(paths: list[Path], mode: str = "copy") -> ImageSources:
    """The folders and zips the records' images are looked up in. In place, only folders
    inside a configured image root (settings.IMAGE_ROOTS)."""
    if mode not in IMAGE_MODES:
        raise ImportFailed([RecordProblem(f"unknown image mode {mode!r}")])
    if mode == "in_place":
        if not paths:
            raise ImportFailed([RecordProblem("--in-place needs --images FOLDER")])
        for path in paths:
            if not Path(path).is_dir():
                raise ImportFailed(
                    [RecordProblem(f"{path}: --in-place takes folders of image files, not zips")]
                )
            if root_of(path) is None:
                raise ImportFailed(
                    [
                        RecordProblem(
                            f"{path}: not inside an image root; --in-place reads images only "
                            "under the read-only roots named in AUDIT_IMAGE_ROOTS"
                        )
                    ]
                )
    try:
        return ImageSources(paths)
    except ImageProblem as exc:
        raise ImportFailed([RecordProblem(str(exc))]) from None


# --- parse ---------------------------------------------------------------------------------


def record_parser(
    *,
    options: ImportOptions,
    method_of: Callable[[ParsedRecord], int],
    prepare: Callable[..., tuple | None] | None,
    image_files: bool,
) -> Callable[[tuple[int, Any]], Parsed]:
    """The parse step for the read-ahead thread: no database here (images are resolved later).
    A bad record comes back as its RecordError, to be rejected or reported in order."""
    parse = FORMATS[options.format].parse

    def parse_one(item: tuple[int, Any]) -> Parsed:
        position, raw = item
        try:
            if isinstance(raw, RecordError):
                raise raw
            record = parse(position, raw, options)
            method_id = method_of(record)
        except RecordError as exc:
            return position, exc, None, None
        # The hashes too (cached on the record) and the writer's part of the row. One that
        # fails (a lone surrogate cannot be encoded) fails again later in the writer, where it
        # always did.
        try:
            record.pair_key  # noqa: B018
            record.content_hash  # noqa: B018
            prepared = prepare(record, method_id, image_files=image_files) if prepare else None
        except ValueError:
            prepared = None
        return position, record, method_id, prepared

    return parse_one


# --- resolve images ------------------------------------------------------------------------


# What an image worker hands back for a path: the probed image and its in-place location
# ("" when stored), or why it cannot be used.
Loaded = tuple[ProbedImage, str] | ImageProblem


class ImageResolver:
    """Finds, checks and stores the images records name, in worker threads; turns them into
    Image ids a chunk at a time; remembers paths already done.

    ``submit`` (the read-ahead thread, once a record is parsed) starts the work for paths not
    seen before; ``resolve_chunk`` (the main thread) waits for a chunk's results and creates its
    Image rows in one batch. ``mode``: "copy" into the store, "link" (hard links from folders,
    copies when the filesystem refuses, zip members copied) or "in_place" (nothing written:
    the Image records where the file is under its image root). Call ``close`` at the end, also
    on error: it stops the workers (before the store is rolled back).
    """

    def __init__(
        self,
        sources: ImageSources,
        store: ImageStoreWriter,
        summary: ImportSummary,
        *,
        writer: OrmWriter,
        mode: str = "copy",
        threads: int = 1,
        processes: int = 0,
    ):
        self.sources = sources
        self.store = store
        self.writer = writer
        self.summary = summary
        self.mode = summary.image_mode = mode
        self.roots = {d: root_of(d) for d in sources.dirs} if mode == "in_place" else {}
        self.by_path: dict[str, int | ImageProblem] = {}
        # path -> (the future of its batch, its index there), a batch of one with threads;
        # None while it waits in ``batch`` for a worker process.
        self.pending: dict[str, tuple[Future, int] | None] = {}
        self.batch: list[str] = []  # paths not yet handed to a worker process
        self.lock = threading.Lock()
        self.processes = 0
        self.pool = None
        if not sources.empty:
            self.pool = self._process_pool(processes) if processes > 0 else None
            if self.pool is None:
                self.pool = ThreadPoolExecutor(max(1, threads), thread_name_prefix="import-images")

    def _process_pool(self, processes: int) -> ProcessPoolExecutor | None:
        """Worker processes forked now (before the read-ahead thread starts), each with a copy
        of this resolver: image work then runs beside the parsing and the row writing without
        sharing their interpreter lock. None where fork is not available or fails: threads."""
        global _FORKED
        if "fork" not in multiprocessing.get_all_start_methods():
            return None
        _FORKED = self
        try:
            pool = ProcessPoolExecutor(processes, mp_context=multiprocessing.get_context("fork"))
            with _children_allowed():
                pool.submit(_load_batch, []).result()  # all workers fork on the first task
        except Exception:  # a daemonic parent, no resources: the threads will do
            logger.warning("image worker processes unavailable; using threads", exc_info=True)
            return None
        finally:
            _FORKED = None
        self.processes = processes
        return pool

    def submit(self, paths: list[str]) -> None:
        """Start loading the paths not seen before (any thread)."""
        if self.pool is None:
            return
        with self.lock:
            for path in paths:
                if path not in self.by_path and path not in self.pending:
                    if not self.processes:
                        self.pending[path] = (self.pool.submit(self._load, path), 0)
                        continue
                    self.pending[path] = None
                    self.batch.append(path)
                    if len(self.batch) >= PROCESS_BATCH:
                        self._send_batch()

    def _send_batch(self) -> None:
        """Hand the waiting paths to a worker process (under ``self.lock``)."""
        batch, self.batch = self.batch, []
        if batch:
            future = self.pool.submit(_load_batch, batch)
            for n, path in enumerate(batch):
                self.pending[path] = (future, n)

    def _result(self, future: Future, index: int) -> Loaded:
        if not self.processes:
            return future.result()
        if not hasattr(future, "loaded"):  # first look at this batch: take in what it did
            loaded, created, linked, fallback, error = future.result()
            with self.lock:
                if not hasattr(future, "loaded"):
                    future.loaded, future.error = loaded, error
                    self.store.created.extend(created)
                    self.store.linked += linked
                    self.store.link_fallback = self.store.link_fallback or fallback
        if future.error is not None:
            raise future.error
        return future.loaded[index]

    def resolve_chunk(self, records: list[ParsedRecord]) -> list[list[int | None] | RecordError]:
        """Each record's image ids, or the RecordError of its first unusable image."""
        if self.pool is None:
            self.summary.images_without_file += sum(len(r.image_paths) for r in records)
            return [[None] * len(r.image_paths) for r in records]
        by_path, lock = self.by_path, self.lock
        if self.processes:
            with lock:
                self._send_batch()  # this chunk's last paths, not a full batch yet
        loaded: dict[str, Loaded] = {}
        for record in records:
            for path in record.image_paths:
                if path in by_path or path in loaded:
                    continue
                with lock:
                    waiting = self.pending.get(path)
                # Not submitted (a caller that did not) -> load it here.
                loaded[path] = self._result(*waiting) if waiting else self._load(path)
        found = self._rows(loaded)
        with lock:
            by_path.update(found)
            for path in found:
                self.pending.pop(path, None)
        out: list[list[int | None] | RecordError] = []
        for record in records:
            ids: list[int | None] = []
            for i, path in enumerate(record.image_paths):
                image = by_path[path]
                if isinstance(image, ImageProblem):
                    ids = RecordError(
                        RecordProblem(
                            f"{path[:200]!r}: {image}",
                            record.position,
                            record.external_id,
                            f"image[{i}]",
                        )
                    )
                    break
                ids.append(image)
            out.append(ids)
        return out

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)
            if self.processes:  # what finished batches stored, for the rollback
                for future in {waiting[0] for waiting in self.pending.values() if waiting}:
                    if future.done() and not future.cancelled() and not future.exception():
                        with contextlib.suppress(Exception):  # its error is raised already
                            self._result(future, 0)
        if self.store.link_fallback and self.mode == "link":
            note = f"--link: {self.store.link_fallback}"
            if note not in self.summary.notes:
                self.summary.notes.append(note)
        self.summary.images_linked = self.store.linked

    def _load(self, path: str) -> Loaded:
        """Read, probe, hash and store (or link, or locate) one image: in a worker thread."""
        try:
            data, file = self.sources.locate(path)
            if data is None:
                return ImageProblem("not found in the given image folders or zips")
            probed = probe_image(data)
            if self.mode == "in_place":
                root = self.roots.get(next(d for d in self.sources.dirs if file.is_relative_to(d)))
                return probed, in_place_location(file, root)
        except ImageProblem as exc:
            return exc
        if self.mode == "link" and file is not None:
            self.store.link(probed, file, data)
        else:
            self.store.put(probed, data)
        return probed, ""

    def _rows(self, loaded: dict[str, Loaded]) -> dict[str, int | ImageProblem]:
        """The Image ids of the loaded paths: existing rows found, new ones created, in
        batches; problems passed through."""
        found: dict[str, int | ImageProblem] = {}
        wanted: dict[str, tuple[ProbedImage, str]] = {}
        for path, result in loaded.items():
            if isinstance(result, ImageProblem):
                found[path] = result
            else:
                wanted.setdefault(result[0].sha256, result)
        ids = self.writer.lookup_images(list(wanted)) if wanted else {}
        new = [
            ImageRow(p.sha256, p.format, p.width, p.height, p.size_bytes, location)
            for sha, (p, location) in wanted.items()
            if sha not in ids
        ]
        if new:
            ids.update(self.writer.create_images(new))
        # As before, counted per path: the first path of new content is stored, any other
        # path (the same bytes again, or content already in the database) reused.
        stored = {row.sha256 for row in new}
        for path, result in loaded.items():
            if isinstance(result, ImageProblem):
                continue
            sha = result[0].sha256
            found[path] = ids[sha]
            if sha in stored:
                stored.discard(sha)
                self.summary.images_stored += 1
            else:
                self.summary.images_reused += 1
        return found


@contextlib.contextmanager
def frozen_heap():
    """The objects alive now (Django's, the caller's) left out of the cyclic garbage collector
    while an import runs: its collections then walk only the import's own objects (they took
    ~12 % of the parsing thread's time walking all of them), and forked image workers do not
    write into every inherited object's header (which copied the parent's pages into each).
    Where something froze the heap already, leaves it as it is."""
    if gc.get_freeze_count():
        yield
        return
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


@contextlib.contextmanager
def _children_allowed():
    """A Celery prefork worker's process is marked daemonic, and multiprocessing then refuses
    to start children (lest they outlive it). The import always shuts its image workers down
    (``ImageResolver.close``, also on error), so the mark is lifted while they fork."""
    config = multiprocessing.current_process()._config
    daemon = config.get("daemon")
    config["daemon"] = False
    try:
        yield
    finally:
        if daemon is None:
            config.pop("daemon", None)
        else:
            config["daemon"] = daemon


# The resolver a forked image worker process works for (its copy, made at the fork).
_FORKED: ImageResolver | None = None


def _load_batch(paths: list[str]) -> tuple:
    """In a worker process: load ``paths``; with what its store wrote (for the parent's
    rollback, also when a path failed: the error comes last), linked, and why it fell back
    from linking."""
    resolver, loaded, error = _FORKED, [], None
    if resolver is None:
        return [], [], 0, None, None
    try:
        resolver.sources.prefetch(paths)
        loaded = [resolver._load(path) for path in paths]
    except Exception as exc:  # raised in the parent, once the files written are known
        error = exc
    store = resolver.store
    created, store.created = store.created, []
    linked, store.linked = store.linked, 0
    return loaded, created, linked, store.link_fallback, error


# --- write ---------------------------------------------------------------------------------


class ChunkWriter:
    """Turns a chunk of parsed records into source pairs and items, deduplicated."""

    def __init__(self, writer: OrmWriter, summary: ImportSummary, check_existing: bool):
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

    def write(self, chunk: list[ChunkRow]) -> None:
        self._write_pairs(chunk)
        self._write_items(chunk)

    def _write_pairs(self, chunk: list[ChunkRow]) -> None:
        """Source pairs first: new ones created (records naming the same images merged), known
        ones given any caption or context they lacked and their missing image links."""
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

    def _write_items(self, chunk: list[ChunkRow]) -> None:
        """Then the items, each content once (in this file, and in the dataset on a re-import)."""
        writer, summary, pair_ids = self.writer, self.summary, self.pair_ids
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


# --- the drive -----------------------------------------------------------------------------


def import_records(
    *,
    source: RecordSource,
    parse_one: Callable[[tuple[int, Any]], Parsed],
    resolver: ImageResolver,
    chunks: ChunkWriter,
    summary: ImportSummary,
    problems: list[RecordProblem],
    rejects: list[RecordProblem],
    skip_invalid: bool,
    chunk_size: int,
    bytes_total: int,
    progress: Progress | None = None,
) -> None:
    """Read and parse ahead in a thread (which hands each record's new images to the image
    workers), resolve images and write in chunks, here. A bad record is added to ``rejects``
    with ``skip_invalid``, else to ``problems`` (checking goes on, up to MAX_REPORTED_PROBLEMS,
    but nothing more is written) and ImportFailed is raised at the end; so it is when the file
    holds no record, or no valid one."""
    submit = resolver.submit

    def parse_and_submit(item: tuple[int, Any]) -> Parsed:
        parsed = parse_one(item)
        if not isinstance(parsed[1], RecordError):
            submit(parsed[1].image_paths)
        return parsed

    state = {"failed": False, "full": False}

    def flush(pending: list[Parsed]) -> None:
        """Resolve a chunk's images, sort out its bad records in order, write the rest."""
        results = iter(resolver.resolve_chunk([p[1] for p in pending if not _bad(p)]))
        chunk: list[ChunkRow] = []
        for _, record, method_id, prepared in pending:
            image_ids = record if isinstance(record, RecordError) else next(results)
            if isinstance(image_ids, RecordError):
                if skip_invalid:
                    rejects.append(image_ids.problem)
                    continue
                state["failed"] = True
                problems.append(image_ids.problem)
                if len(problems) >= MAX_REPORTED_PROBLEMS:
                    state["full"] = True
                    return
                continue
            if not state["failed"]:
                chunk.append((record, image_ids, method_id, prepared))
        if chunk and not state["failed"]:
            chunks.write(chunk)

    pending: list[Parsed] = []
    parsed = ReadAhead(
        source.records,
        parse_and_submit,
        snapshot=lambda: source.counter.bytes_read,
        yield_gil=resolver.pool is None,
    )
    try:
        for item in parsed:
            summary.records = item[0]
            pending.append(item)
            if len(pending) >= chunk_size:
                flush(pending)
                pending = []
                if state["full"]:
                    break
                if progress:
                    progress(summary.records, parsed.snapshot, bytes_total)
        if pending and not state["full"]:
            flush(pending)
    finally:
        parsed.close()
        resolver.close()
    if state["failed"]:
        raise ImportFailed(problems)
    if not summary.records:
        raise ImportFailed([RecordProblem("the file holds no records")])
    if summary.items_created == 0 and summary.items_duplicate == 0:
        raise ImportFailed(rejects[:MAX_REPORTED_PROBLEMS] or [RecordProblem("no valid records")])


def _bad(parsed: Parsed) -> bool:
    return isinstance(parsed[1], RecordError)


def write_rejects(rejects: list[RecordProblem], target: Path) -> str:
    """The rejected records' problems, one JSON object a line; returns the file's path."""
    with open(target, "w", encoding="utf-8") as fh:
        for problem in rejects:
            fh.write(json.dumps(problem.as_dict(), ensure_ascii=False) + "\n")
    return str(target)
