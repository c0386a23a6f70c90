"""Batch writers for the import pipeline: the ORM on any database, COPY on PostgreSQL.

Both write the same rows; the PostgreSQL writer streams them with ``COPY ... FROM STDIN`` through
psycopg 3, building the COPY text itself (one payload per table and chunk, not a Python call per
value): see benchmarks/README.md for the figures.
"""

import json
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

import psycopg
from django.db import connection

from audit.datasets.models import Image, Item, SourcePair, SourcePairImage

SQLITE_BATCH = 900  # stays under SQLite's host-parameter limit


@dataclass
class PairRow:
    key: str
    caption: str
    context: str
    modality: str
    body_part: str
    links: list[tuple[int, str, int | None]] = field(default_factory=list)  # position, path, image
    prepared: tuple[str, str] | None = None  # from the writer's prepare, if it has one


@dataclass
class ImageRow:
    sha256: str
    format: str
    width: int
    height: int
    size_bytes: int
    location: str = ""


@dataclass
class ItemRow:
    source_pair_id: int
    method_id: int
    kind: str
    external_id: str
    record_index: int
    question: str
    answer: str
    conversation: list[dict[str, str]]
    conversation_json: str
    modality: str
    body_part: str
    content_hash: str
    prepared: str | None = None  # from the writer's prepare, if it has one


def _copy_text(value: str) -> str:
    """A value in COPY's text format: backslash, tab, newline and carriage return escaped (the
    other characters are taken literally; a NUL fails the COPY, as it would through psycopg)."""
    return (
        value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
    )


def _copy_json(value: str) -> str:
    """JSON text from json.dumps in COPY's text format: json.dumps never writes a raw control
    character (it escapes them), so only the backslashes need doubling."""
    return value.replace("\\", "\\\\")


def _copy_payload(rows: list[str]) -> bytes:
    """COPY text rows as bytes; a NUL fails as psycopg's own dumper fails it (a value the
    parsers do not check, a record id say, could hold one)."""
    text = "".join(rows)
    if "\x00" in text:
        raise psycopg.DataError("PostgreSQL text fields cannot contain NUL (0x00) bytes")
    return text.encode()


def _copy_nullable(value: int | None) -> str:
    return "\\N" if value is None else str(value)


def _batches(values: list, size: int) -> Iterable[list]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


class OrmWriter:
    """``pair_scope``: the prefix of the stored source pair keys (SourcePair.scope of the
    dataset's owner). Rows carry the bare key (sha256 of the image paths); the writer alone adds
    the prefix, so lookups and new pairs stay within the owner's scope."""

    def __init__(
        self,
        *,
        dataset_id: int,
        language: str,
        provenance: dict,
        now: datetime,
        pair_scope: str = "",
    ):
        self.dataset_id = dataset_id
        self.pair_scope = pair_scope
        self.language = language
        self.provenance = provenance
        self.provenance_json = json.dumps(provenance)
        self.now = now

    def prepare(self, record, method_id: int, *, image_files: bool) -> tuple | None:
        """What of a record's rows its parsed record alone determines, built ahead of writing (in
        the import's read-ahead thread: no database here): (item, pair, links) parts, the last
        two None when unknown, or None for nothing. ``image_files``: images may have files
        (ids), so the links are not known yet."""
        return None

    def lookup_pairs(self, keys: list[str]) -> dict[str, int]:
        scope = self.pair_scope
        cut = len(scope)
        found: dict[str, int] = {}
        for batch in _batches(keys, SQLITE_BATCH):
            rows = SourcePair.objects.filter(key__in=[scope + k for k in batch])
            found.update((key[cut:], pk) for key, pk in rows.values_list("key", "id"))
        return found

    def lookup_images(self, hashes: list[str]) -> dict[str, int]:
        """Image ids by sha256, of the images already recorded."""
        found: dict[str, int] = {}
        for batch in _batches(hashes, SQLITE_BATCH):
            found.update(Image.objects.filter(sha256__in=batch).values_list("sha256", "id"))
        return found

    def create_images(self, rows: list[ImageRow]) -> dict[str, int]:
        images = Image.objects.bulk_create(
            [
                Image(
                    sha256=r.sha256,
                    format=r.format,
                    width=r.width,
                    height=r.height,
                    size_bytes=r.size_bytes,
                    location=r.location,
                )
                for r in rows
            ],
            batch_size=SQLITE_BATCH // 8,
        )
        return {image.sha256: image.pk for image in images}

    def existing_item_hashes(self, hashes: list[str]) -> set[str]:
        found: set[str] = set()
        for batch in _batches(hashes, SQLITE_BATCH):
            found.update(
                Item.objects.filter(dataset_id=self.dataset_id, content_hash__in=batch).values_list(
                    "content_hash", flat=True
                )
            )
        return found

    def create_pairs(self, rows: list[PairRow]) -> dict[str, int]:
        pairs = SourcePair.objects.bulk_create(
            [
                SourcePair(
                    key=self.pair_scope + r.key,
                    caption=r.caption,
                    context=r.context,
                    modality=r.modality,
                    body_part=r.body_part,
                    image_count=len(r.links),
                )
                for r in rows
            ],
            batch_size=SQLITE_BATCH // 8,
        )
        ids = {r.key: p.pk for r, p in zip(rows, pairs, strict=True)}
        SourcePairImage.objects.bulk_create(
            [
                SourcePairImage(source_pair_id=ids[r.key], position=pos, path=path, image_id=img)
                for r in rows
                for pos, path, img in r.links
            ],
            batch_size=SQLITE_BATCH // 4,
        )
        return ids

    def update_pairs(self, updates: list[tuple[int, str, str, str, str]]) -> None:
        """Caption and context from a later record win; modality and body part fill blanks."""
        with connection.cursor() as cursor:
            cursor.executemany(
                "UPDATE datasets_sourcepair SET"
                " caption = CASE WHEN %s <> '' THEN %s ELSE caption END,"
                " context = CASE WHEN %s <> '' THEN %s ELSE context END,"
                " modality = CASE WHEN modality = '' THEN %s ELSE modality END,"
                " body_part = CASE WHEN body_part = '' THEN %s ELSE body_part END"
                " WHERE id = %s",
                [(c, c, x, x, m, b, pk) for pk, c, x, m, b in updates],
            )

    def fill_links(self, links: list[tuple[int, int, int]]) -> None:
        """Attach images to existing source pairs whose files were not imported before."""
        with connection.cursor() as cursor:
            cursor.executemany(
                "UPDATE datasets_sourcepairimage SET image_id = %s"
                " WHERE source_pair_id = %s AND position = %s AND image_id IS NULL",
                [(img, pk, pos) for pk, pos, img in links],
            )

    def create_items(self, rows: list[ItemRow]) -> None:
        Item.objects.bulk_create(
            [
                Item(
                    dataset_id=self.dataset_id,
                    source_pair_id=r.source_pair_id,
                    method_id=r.method_id,
                    kind=r.kind,
                    external_id=r.external_id,
                    record_index=r.record_index,
                    question=r.question,
                    answer=r.answer,
                    conversation=r.conversation,
                    modality=r.modality,
                    body_part=r.body_part,
                    language=self.language,
                    provenance=self.provenance,
                    content_hash=r.content_hash,
                )
                for r in rows
            ],
            batch_size=SQLITE_BATCH // 16,
        )


class PostgresCopyWriter(OrmWriter):
    """COPY in text format, the rows formatted here (the same values psycopg's ``write_row``
    would send: ``\\N`` for NULL, ``str()`` of integers and of the timestamp)."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        now = str(self.now)  # what psycopg's datetime dumper sends
        self._pair_tail = f"\t{now}\n"
        self._item_head = f"{self.dataset_id}\t"
        self._item_tail = f"\t{_copy_text(self.language)}\t{_copy_json(self.provenance_json)}\t"
        self._item_end = f"\t{now}\n"

    # Lookups probe the unique index once per value (a LATERAL ... LIMIT 1 per value): with
    # ``= ANY(array)`` the planner, often without statistics right after a bulk import, chose a
    # sequential scan of the source pairs, or a scan of the dataset's items through another index,
    # per chunk, which made large imports quadratic. Keys and hashes are sha256 hex digests, so
    # they go as one comma-joined parameter instead of an array of strings.

    def lookup_pairs(self, keys: list[str]) -> dict[str, int]:
        scope = self.pair_scope  # digits and a colon: no comma
        if scope:
            keys = [scope + k for k in keys]
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT p.key, p.id FROM unnest(string_to_array(%s, ',')) AS u(key)"
                " CROSS JOIN LATERAL (SELECT s.key, s.id FROM datasets_sourcepair s"
                " WHERE s.key = u.key LIMIT 1) AS p",
                [",".join(keys)],
            )
            if not scope:
                return dict(cursor.fetchall())
            cut = len(scope)
            return {key[cut:]: pk for key, pk in cursor.fetchall()}

    def lookup_images(self, hashes: list[str]) -> dict[str, int]:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT i.sha256, i.id FROM unnest(string_to_array(%s, ',')) AS u(sha)"
                " CROSS JOIN LATERAL (SELECT m.sha256, m.id FROM datasets_image m"
                " WHERE m.sha256 = u.sha LIMIT 1) AS i",
                [",".join(hashes)],
            )
            return dict(cursor.fetchall())

    def create_images(self, rows: list[ImageRow]) -> dict[str, int]:
        """Ids from the sequence, then one COPY (the ORM's bulk insert cost ~100 µs a row)."""
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence('datasets_image', 'id'))"
                " FROM generate_series(1, %s)",
                [len(rows)],
            )
            ids = {r.sha256: pk for r, (pk,) in zip(rows, cursor.fetchall(), strict=True)}
            now = str(self.now)
            lines = [
                f"{ids[r.sha256]}\t{r.sha256}\t{uuid.uuid4()}\t{r.format}\t{r.width}\t"
                f"{r.height}\t{r.size_bytes}\t{_copy_text(r.location)}\t{now}\n"
                for r in rows
            ]
            with cursor.cursor.copy(
                "COPY datasets_image (id, sha256, public_id, format, width, height, size_bytes,"
                " location, created_at) FROM STDIN"
            ) as copy:
                copy.write(_copy_payload(lines))
        return ids

    def existing_item_hashes(self, hashes: list[str]) -> set[str]:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT u.hash FROM unnest(string_to_array(%s, ',')) AS u(hash)"
                " CROSS JOIN LATERAL (SELECT 1 FROM datasets_item i"
                " WHERE i.dataset_id = %s AND i.content_hash = u.hash LIMIT 1) AS found",
                [",".join(hashes), self.dataset_id],
            )
            return {h for (h,) in cursor.fetchall()}

    def create_pairs(self, rows: list[PairRow]) -> dict[str, int]:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence('datasets_sourcepair', 'id'))"
                " FROM generate_series(1, %s)",
                [len(rows)],
            )
            ids = {r.key: pk for r, (pk,) in zip(rows, cursor.fetchall(), strict=True)}
            pairs = []
            links = []
            for r in rows:
                pk = ids[r.key]
                if r.prepared is not None:
                    pair_rest, links_template = r.prepared
                    pairs.append(f"{pk}{pair_rest}")
                    links.append(links_template.replace("\x00", str(pk)))
                    continue
                pairs.append(
                    f"{pk}"
                    + self._pair_rest(
                        r.key, r.caption, r.context, r.modality, r.body_part, len(r.links)
                    )
                )
                for pos, path, img in r.links:
                    links.append(f"{pk}\t{pos}\t{_copy_text(path)}\t{_copy_nullable(img)}\n")
            raw = cursor.cursor
            with raw.copy(
                "COPY datasets_sourcepair (id, key, caption, context, source_ref, modality,"
                " body_part, image_count, created_at) FROM STDIN"
            ) as copy:
                copy.write(_copy_payload(pairs))
            del pairs
            if links:
                with raw.copy(
                    "COPY datasets_sourcepairimage (source_pair_id, position, path, image_id)"
                    " FROM STDIN"
                ) as copy:
                    copy.write(_copy_payload(links))
        return ids

    def _item_rest(
        self,
        method_id: int,
        kind: str,
        external_id: str,
        record_index: int,
        question: str,
        answer: str,
        conversation_json: str,
        modality: str,
        body_part: str,
        content_hash: str,
    ) -> str:
        """An item's COPY line after its source_pair_id."""
        text = _copy_text
        return (
            f"\t{method_id}\t{text(kind)}\t{text(external_id)}\t{record_index}\t"
            f"{text(question)}\t{text(answer)}\t{_copy_json(conversation_json)}\t"
            f"{text(modality)}\t{text(body_part)}{self._item_tail}{content_hash}{self._item_end}"
        )

    def _pair_rest(
        self, key: str, caption: str, context: str, modality: str, body_part: str, links: int
    ) -> str:
        """A source pair's COPY line after its id."""
        text = _copy_text
        return (
            f"\t{self.pair_scope}{key}\t{text(caption)}\t{text(context)}\t\t{text(modality)}"
            f"\t{text(body_part)}\t{links}{self._pair_tail}"
        )

    def prepare(self, record, method_id: int, *, image_files: bool) -> tuple | None:
        item = self._item_rest(
            method_id,
            record.kind,
            record.external_id,
            record.position,
            record.question,
            record.answer,
            record.conversation_json,
            record.modality,
            record.body_part,
            record.content_hash,
        )
        paths = record.image_paths
        if image_files or any("\x00" in p for p in paths):
            return item, None, None
        pair = self._pair_rest(
            record.pair_key,
            record.caption,
            record.context,
            record.modality,
            record.body_part,
            len(paths),
        )
        # The image links without image ids, "\x00" standing for the source pair's id (a NUL
        # cannot be in a path).
        links = "".join([f"\x00\t{i}\t{_copy_text(p)}\t\\N\n" for i, p in enumerate(paths)])
        return item, pair, links

    def create_items(self, rows: list[ItemRow]) -> None:
        head = self._item_head
        payload = _copy_payload(
            [
                f"{head}{r.source_pair_id}"
                + (
                    r.prepared
                    if r.prepared is not None
                    else self._item_rest(
                        r.method_id,
                        r.kind,
                        r.external_id,
                        r.record_index,
                        r.question,
                        r.answer,
                        r.conversation_json,
                        r.modality,
                        r.body_part,
                        r.content_hash,
                    )
                )
                for r in rows
            ]
        )
        with (
            connection.cursor() as cursor,
            cursor.cursor.copy(
                "COPY datasets_item (dataset_id, source_pair_id, method_id, kind, external_id,"
                " record_index, question, answer, conversation, modality, body_part, language,"
                " provenance, content_hash, created_at) FROM STDIN"
            ) as copy,
        ):
            copy.write(payload)


def writer_for_connection(**kwargs) -> OrmWriter:
    if connection.vendor == "postgresql":
        return PostgresCopyWriter(**kwargs)
    return OrmWriter(**kwargs)
