"""Batch writers for the import pipeline: the ORM on any database, COPY on PostgreSQL.

Both write the same rows; the PostgreSQL writer streams them with ``COPY ... FROM STDIN`` through
psycopg 3, which is what makes >= 20,000 records/s possible.
"""

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from django.db import connection

from audit.datasets.models import Item, SourcePair, SourcePairImage

SQLITE_BATCH = 900  # stays under SQLite's host-parameter limit


@dataclass
class PairRow:
    key: str
    caption: str
    context: str
    modality: str
    body_part: str
    links: list[tuple[int, str, int | None]] = field(default_factory=list)  # position, path, image


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


def _batches(values: list, size: int) -> Iterable[list]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


class OrmWriter:
    def __init__(self, *, dataset_id: int, language: str, provenance: dict, now: datetime):
        self.dataset_id = dataset_id
        self.language = language
        self.provenance = provenance
        self.provenance_json = json.dumps(provenance)
        self.now = now

    def lookup_pairs(self, keys: list[str]) -> dict[str, int]:
        found: dict[str, int] = {}
        for batch in _batches(keys, SQLITE_BATCH):
            found.update(SourcePair.objects.filter(key__in=batch).values_list("key", "id"))
        return found

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
                    key=r.key,
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
        ids = {p.key: p.pk for p in pairs}
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
    def lookup_pairs(self, keys: list[str]) -> dict[str, int]:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT key, id FROM datasets_sourcepair WHERE key = ANY(%s)", [list(keys)]
            )
            return dict(cursor.fetchall())

    def existing_item_hashes(self, hashes: list[str]) -> set[str]:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT content_hash FROM datasets_item"
                " WHERE dataset_id = %s AND content_hash = ANY(%s)",
                [self.dataset_id, list(hashes)],
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
            raw = cursor.cursor
            with raw.copy(
                "COPY datasets_sourcepair (id, key, caption, context, source_ref, modality,"
                " body_part, image_count, created_at) FROM STDIN"
            ) as copy:
                for r in rows:
                    copy.write_row(
                        (
                            ids[r.key],
                            r.key,
                            r.caption,
                            r.context,
                            "",
                            r.modality,
                            r.body_part,
                            len(r.links),
                            self.now,
                        )
                    )
            with raw.copy(
                "COPY datasets_sourcepairimage (source_pair_id, position, path, image_id)"
                " FROM STDIN"
            ) as copy:
                for r in rows:
                    pk = ids[r.key]
                    for pos, path, img in r.links:
                        copy.write_row((pk, pos, path, img))
        return ids

    def create_items(self, rows: list[ItemRow]) -> None:
        dataset_id, language, provenance, now = (
            self.dataset_id,
            self.language,
            self.provenance_json,
            self.now,
        )
        with (
            connection.cursor() as cursor,
            cursor.cursor.copy(
                "COPY datasets_item (dataset_id, source_pair_id, method_id, kind, external_id,"
                " record_index, question, answer, conversation, modality, body_part, language,"
                " provenance, content_hash, created_at) FROM STDIN"
            ) as copy,
        ):
            write = copy.write_row
            for r in rows:
                write(
                    (
                        dataset_id,
                        r.source_pair_id,
                        r.method_id,
                        r.kind,
                        r.external_id,
                        r.record_index,
                        r.question,
                        r.answer,
                        r.conversation_json,
                        r.modality,
                        r.body_part,
                        language,
                        provenance,
                        r.content_hash,
                        now,
                    )
                )


def writer_for_connection(**kwargs) -> OrmWriter:
    if connection.vendor == "postgresql":
        return PostgresCopyWriter(**kwargs)
    return OrmWriter(**kwargs)
