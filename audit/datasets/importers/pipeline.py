"""The import pipeline, one small step per job (doccano's shape), for one file:

read      ``open_records``: the file's raw records by position, and the format to parse them with
parse     ``record_parser``: one raw record -> the parsed record, its method id and the writer's
          part of its row; runs in the read-ahead thread (reading.ReadAhead), so no database
resolve   ``ImageResolver``: the images a record names -> Image ids (found, checked, stored)
write     ``ChunkWriter``: a chunk of records -> source pairs and items, deduplicated, batched
          (writers.py: PostgreSQL COPY or the ORM)

``import_records`` drives the steps inside the caller's transaction; ``services.dataset_import``
checks the request, owns the transaction and the image store's rollback, and reports. The steps
work on whole chunks where they can and the per-record loop stays in one function with local
names: the pipeline must not cost the import its speed.
"""

import json
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from audit.datasets.errors import ImportFailed, RecordError, RecordProblem
from audit.datasets.images import ImageProblem, ImageSources, ImageStoreWriter, probe_image
from audit.datasets.importers.formats import FORMATS, ImportOptions, ParsedRecord, guess_format
from audit.datasets.importers.reading import READERS, ByteCounter, ReadAhead, detect_container
from audit.datasets.importers.writers import ItemRow, OrmWriter, PairRow
from audit.datasets.models import Image, Method

MAX_REPORTED_PROBLEMS = 100
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


def open_image_sources(paths: list[Path]) -> ImageSources:
    """The folders and zips the records' images are looked up in."""
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


class ImageResolver:
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
    """Read and parse ahead in a thread, resolve images and write in chunks, here. A bad record
    is added to ``rejects`` with ``skip_invalid``, else to ``problems`` (checking goes on, up to
    MAX_REPORTED_PROBLEMS, but nothing more is written) and ImportFailed is raised at the end;
    so it is when the file holds no record, or no valid one."""
    chunk: list[ChunkRow] = []
    failed = False
    parsed = ReadAhead(source.records, parse_one, snapshot=lambda: source.counter.bytes_read)
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
        raise ImportFailed(rejects[:MAX_REPORTED_PROBLEMS] or [RecordProblem("no valid records")])


def write_rejects(rejects: list[RecordProblem], target: Path) -> str:
    """The rejected records' problems, one JSON object a line; returns the file's path."""
    with open(target, "w", encoding="utf-8") as fh:
        for problem in rejects:
            fh.write(json.dumps(problem.as_dict(), ensure_ascii=False) + "\n")
    return str(target)
