"""Exports as pipelines of small steps: read chunks (selectors) -> shape columns -> write a sink.

Two exports:

- ``ratings_export``: a campaign's ratings, long (one row per score) or wide (one row per rating,
  a column per criterion), to CSV, JSONL or Parquet (typed: integer scores, UTC timestamps,
  dictionary-encoded method, dataset and criterion). Experts appear as stable pseudonyms
  (``expert-`` + an HMAC of the campaign and user ids under SECRET_KEY) unless names are asked for.
- ``dataset_export``: a dataset's items with their audit results (per criterion mean, n, sd,
  spread, share within one point of the median; flag counts), filtered by thresholds, in
  PubMedVision JSON, LLaVA JSON/JSONL or Parquet, with the image paths they were imported with.

Every file is written to a temporary name beside its destination and renamed into place only
when complete, so a crash never leaves a half-written file under the final name. Export jobs
(``export_job_*``) run these on the io queue; the file is recorded on the job only after the
rename, and a retried job starts again from scratch.
"""

import csv
import hashlib
import hmac
import io
import json
import logging
import math
import os
import re
import statistics
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator
from contextlib import closing
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction
from django.utils import timezone

from annotations.models import FLAGS
from audit.campaigns.models import Campaign
from audit.core.services import audit_event_record
from audit.datasets.models import Dataset
from audit.reports.exports import selectors
from audit.reports.exports.models import ExportJob

log = logging.getLogger(__name__)

RATING_FORMATS = ("csv", "jsonl", "parquet")
DATASET_FORMATS = ("pubmedvision", "llava", "llava_jsonl", "parquet")
LAYOUTS = ("long", "wide")
Progress = Callable[[int, int], None]  # (rows done, rows total)


class ExportError(Exception):
    """Bad export options: the message says what to fix."""


# --- Small pure steps -------------------------------------------------------------------------


def expert_pseudonym(*, campaign_id: int, user_id: int) -> str:
    """Stable per campaign, unlinkable across campaigns without the secret key."""
    message = f"{campaign_id}:{user_id}".encode()
    digest = hmac.new(settings.SECRET_KEY.encode(), message, hashlib.sha256).hexdigest()
    return f"expert-{digest[:10]}"


def as_json(value) -> Any:
    """A JSON column from either backend (text, or already decoded)."""
    return json.loads(value) if isinstance(value, (str, bytes)) else value


def _iso(value: str | None) -> str | None:
    """UTC text from the selectors as ISO 8601 with its offset."""
    return None if value is None else value + "+00:00"


class Memo(dict):
    """``function`` of each distinct value, computed once: ``list(map(memo.__getitem__, xs))``
    runs at C speed for the repeats (experts, flags, strata repeat on every row)."""

    def __init__(self, function: Callable):
        super().__init__()
        self.function = function

    def __missing__(self, key):
        value = self[key] = self.function(key)
        return value

    def column(self, values) -> list:
        try:
            return list(map(self.__getitem__, values))
        except TypeError:  # unhashable (JSON already decoded by the driver)
            return [self.function(v) for v in values]


@dataclass(frozen=True)
class Column:
    name: str
    kind: str  # int, small, float, bool, str, category, ts, list


def atomic_write(path: Path, write: Callable[[Path], int]) -> int:
    """Run ``write(temporary_path)`` and rename the result to ``path`` only if it succeeds."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    part = path.with_name(f"{path.name}.part-{uuid.uuid4().hex[:8]}")
    try:
        result = write(part)
        os.replace(part, path)
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    return result


# --- Sinks: one per file format; they take column-wise chunks ---------------------------------


class CsvSink:
    def __init__(self, path: Path, columns: list[Column]):
        self.columns = columns
        self.fh = open(path, "w", newline="", encoding="utf-8")  # noqa: SIM115
        self.writer = csv.writer(self.fh)
        self.writer.writerow([c.name for c in columns])

    def write(self, data: list[list]) -> None:
        out = []
        for column, values in zip(self.columns, data, strict=True):
            if column.kind == "ts":
                values = [_iso(v) for v in values]
            elif column.kind == "list":
                values = [";".join(v) for v in values]
            out.append(values)
        self.writer.writerows(zip(*out, strict=True))

    def close(self) -> None:
        self.fh.close()


class JsonlSink:
    def __init__(self, path: Path, columns: list[Column]):
        self.columns = columns
        self.fh = open(path, "w", encoding="utf-8")  # noqa: SIM115

    def write(self, data: list[list]) -> None:
        names = [c.name for c in self.columns]
        out = []
        for column, values in zip(self.columns, data, strict=True):
            if column.kind == "ts":
                values = [_iso(v) for v in values]
            out.append(values)
        dumps = json.dumps
        self.fh.writelines(
            dumps(dict(zip(names, row, strict=True)), ensure_ascii=False) + "\n"
            for row in zip(*out, strict=True)
        )

    def close(self) -> None:
        self.fh.close()


def _arrow_type(kind: str):
    import pyarrow as pa

    return {
        "int": pa.int64(),
        "small": pa.int16(),
        "float": pa.float64(),
        "bool": pa.bool_(),
        "str": pa.string(),
        "category": pa.dictionary(pa.int32(), pa.string()),
        "ts": pa.timestamp("us", tz="UTC"),
        "list": pa.list_(pa.string()),
    }[kind]


class ParquetSink:
    """One row group per chunk, through pyarrow's ParquetWriter."""

    def __init__(self, path: Path, columns: list[Column]):
        import pyarrow as pa
        import pyarrow.parquet as pq

        self.pa = pa
        self.columns = columns
        self.schema = pa.schema([pa.field(c.name, _arrow_type(c.kind)) for c in columns])
        self.writer = pq.ParquetWriter(str(path), self.schema, compression="snappy")

    def _array(self, column: Column, values: list):
        pa = self.pa
        if column.kind == "category":
            return pa.array(values, pa.string()).dictionary_encode()
        if column.kind == "ts":  # UTC text: parsed by Arrow in bulk
            return pa.array(values, pa.string()).cast(pa.timestamp("us")).cast(_arrow_type("ts"))
        return pa.array(values, _arrow_type(column.kind))

    def write(self, data: list[list]) -> None:
        arrays = [self._array(c, v) for c, v in zip(self.columns, data, strict=True)]
        self.writer.write_table(self.pa.Table.from_arrays(arrays, schema=self.schema))

    def close(self) -> None:
        self.writer.close()


SINKS = {"csv": CsvSink, "jsonl": JsonlSink, "parquet": ParquetSink}


def _write_chunks(path: Path, fmt: str, columns: list[Column], chunks: Iterable[list[list]]) -> int:
    """Write column-wise chunks to ``path`` through the format's sink; returns the row count."""
    sink = SINKS[fmt](path, columns)
    rows = 0
    try:
        for data in chunks:
            if data and data[0]:
                sink.write(data)
                rows += len(data[0])
    finally:
        sink.close()
        if hasattr(chunks, "close"):
            chunks.close()  # a failed write: end the reading now (its cursor, its transaction)
    return rows


# --- Ratings ----------------------------------------------------------------------------------

LONG_COLUMNS = [
    Column("campaign", "str"),
    Column("rating_id", "int"),
    Column("campaign_item_id", "int"),
    Column("item_id", "int"),
    Column("item_external_id", "str"),
    Column("source_pair_id", "int"),
    Column("method", "category"),
    Column("dataset", "category"),
    Column("modality", "category"),
    Column("body_part", "category"),
    Column("stratum", "str"),
    Column("expert", "category"),
    Column("is_repeat", "bool"),
    Column("criterion", "category"),
    Column("score", "small"),
    Column("flags", "list"),
    Column("comment", "str"),
    Column("active_seconds", "float"),
    Column("submitted_at", "ts"),
    Column("revision", "int"),
]
_SHARED = [c for c in LONG_COLUMNS if c.name not in ("criterion", "score")]
# Raw row positions (selectors.RATING_FIELDS) of the shared columns after "campaign".
_F = {name: i for i, name in enumerate(selectors.RATING_FIELDS)}


def rating_columns(*, layout: str, criteria: list[str]) -> list[Column]:
    if layout == "long":
        return list(LONG_COLUMNS)
    taken = {c.name for c in _SHARED} | {"skipped", "skip_reason"}
    return [
        *_SHARED,
        Column("skipped", "bool"),
        Column("skip_reason", "str"),
        *(Column(f"score_{k}" if k in taken else k, "small") for k in criteria),
    ]


class _RatingShaper:
    """Turns raw row chunks into output columns: pseudonyms, decoded JSON, UTC timestamps."""

    def __init__(self, campaign: Campaign, *, names: bool):
        campaign_id = campaign.pk
        self.campaign = str(campaign.public_id)
        self.names = names
        self.pseudonym = Memo(lambda uid: expert_pseudonym(campaign_id=campaign_id, user_id=uid))
        self.flags = Memo(lambda v: [str(f) for f in (as_json(v) or [])])
        self.stratum = Memo(lambda v: " / ".join(str(s) for s in (as_json(v) or [])))

    def shared(self, row) -> list:
        """One row's shared columns (the wide layout builds rows one rating at a time)."""
        f = _F
        expert = (row[f["expert_username"]] if self.names
                  else self.pseudonym[row[f["expert_id"]]])  # fmt: skip
        return [
            self.campaign, row[f["rating_id"]], row[f["campaign_item_id"]], row[f["item_id"]],
            row[f["item_external_id"]], row[f["source_pair_id"]], row[f["method"]],
            row[f["dataset"]], row[f["modality"]], row[f["body_part"]],
            self.stratum.column([row[f["stratum"]]])[0], expert, bool(row[f["is_repeat"]]),
        ]  # fmt: skip

    def tail(self, row) -> list:
        f = _F
        return [
            self.flags.column([row[f["flags"]]])[0], row[f["comment"]],
            float(row[f["active_seconds"]]), row[f["submitted_at"]], row[f["revision"]],
        ]  # fmt: skip

    def long(self, rows: list) -> list:
        """Column-wise: transpose once (C speed), then map the few columns that change."""
        if not rows:
            return []
        c = list(zip(*rows, strict=True))
        f = _F
        expert = (list(c[f["expert_username"]]) if self.names
                  else self.pseudonym.column(c[f["expert_id"]]))  # fmt: skip
        return [
            [self.campaign] * len(rows), c[f["rating_id"]], c[f["campaign_item_id"]],
            c[f["item_id"]], c[f["item_external_id"]], c[f["source_pair_id"]], c[f["method"]],
            c[f["dataset"]], c[f["modality"]], c[f["body_part"]],
            self.stratum.column(c[f["stratum"]]), expert, [bool(v) for v in c[f["is_repeat"]]],
            c[f["criterion"]], c[f["score"]], self.flags.column(c[f["flags"]]), c[f["comment"]],
            [float(v) for v in c[f["active_seconds"]]], c[f["submitted_at"]], c[f["revision"]],
        ]  # fmt: skip

    def wide(self, chunks: Iterator[list], criteria: list[str]) -> Iterator[list[list]]:
        """Group each rating's consecutive score rows into one row (a rating may straddle two
        chunks: it is held back until its last row has been seen)."""
        position = {k: i for i, k in enumerate(criteria)}
        rid, crit, score = _F["rating_id"], _F["criterion"], _F["score"]
        skipped, reason = _F["skipped"], _F["skip_reason"]
        current, current_id = None, None
        for rows in chunks:
            out = []
            for r in rows:
                if r[rid] != current_id:
                    if current is not None:
                        out.append(current)
                    current_id = r[rid]
                    current = [*self.shared(r), *self.tail(r), bool(r[skipped]), r[reason]]
                    current.extend([None] * len(criteria))
                if r[crit] is not None:
                    current[-len(criteria) + position[r[crit]]] = r[score]
            if out:
                yield [list(col) for col in zip(*out, strict=True)]
        if current is not None:
            yield [list(col) for col in zip(*[current], strict=True)]


def _check_choice(value: str, allowed: Iterable[str], what: str) -> None:
    if value not in allowed:
        raise ExportError(f"unknown {what} {value!r}: choose one of {', '.join(allowed)}")


def ratings_export(
    *,
    campaign: Campaign,
    path: Path,
    fmt: str,
    layout: str = "long",
    names: bool = False,
    chunk_size: int | None = None,
    progress: Progress | None = None,
) -> int:
    """Write ``campaign``'s ratings to ``path``; returns the number of rows written."""
    _check_choice(fmt, RATING_FORMATS, "format")
    _check_choice(layout, LAYOUTS, "layout")
    chunk_size = chunk_size or settings.EXPORT_CHUNK_SIZE
    criteria = selectors.criterion_keys([campaign.pk])
    columns = rating_columns(layout=layout, criteria=criteria)
    total = selectors.rating_count(campaign, layout=layout)
    shaper = _RatingShaper(campaign, names=names)

    def chunks() -> Iterator[list[list]]:
        raw = selectors.rating_rows(campaign, with_unscored=layout == "wide", chunk_size=chunk_size)
        with closing(raw):
            shaped = (shaper.long(rows) for rows in raw)
            if layout == "wide":
                shaped = shaper.wide(raw, criteria)
            done = 0
            for data in shaped:
                yield data
                done += len(data[0]) if data else 0
                if progress:
                    progress(done, total)

    if layout == "long" and fmt in ("csv", "parquet") and connection.vendor == "postgresql":
        labels = {
            uid: username if names else expert_pseudonym(campaign_id=campaign.pk, user_id=uid)
            for uid, username in selectors.rating_experts(campaign)
        }
        return atomic_write(
            path,
            lambda part: _copy_long(part, fmt, campaign, labels, total, progress, chunk_size),
        )
    return atomic_write(path, lambda part: _write_chunks(part, fmt, columns, chunks()))


def _copy_long(
    part: Path,
    fmt: str,
    campaign: Campaign,
    labels: dict,
    total: int,
    progress: Progress | None,
    chunk_size: int,
) -> int:
    """The PostgreSQL fast path of the long layout: the server formats the rows (COPY TO
    STDOUT, CSV); CSV goes to the file as it comes, Parquet through pyarrow's streaming CSV
    reader (typed, vectorised) into row groups. Same columns and values as the Python path."""
    # Parquet: the constant campaign column is added here, not sent 1M times by the server.
    label = str(campaign.public_id) if fmt == "csv" else ""
    copy = selectors.rating_long_copy(campaign, expert_labels=labels, campaign_label=label)
    with copy as (chunks, cursor):
        if fmt == "csv":
            done = 0
            with open(part, "wb") as fh:
                for block in selectors.copy_blocks(chunks):
                    fh.write(block)
                    if progress:  # about once per MiB
                        done += block.count(b"\n")
                        progress(min(done, total), total)
        else:
            # Row groups of about chunk_size rows (~200 bytes of CSV each) up to 4 MiB of CSV
            # (memory); a block must hold the longest row (a 5,000-character comment), hence
            # the 64 KiB floor.
            block = min(max(chunk_size * 200, 1 << 16), 4 << 20)
            _csv_stream_to_parquet(
                part, selectors.CopyStream(chunks), total, progress, block, str(campaign.public_id)
            )
        return max(cursor.rowcount, 0)


def _csv_stream_to_parquet(
    part: Path, stream, total: int, progress: Progress | None, block_size: int, campaign: str
) -> None:
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    schema = pa.schema([pa.field(c.name, _arrow_type(c.kind)) for c in LONG_COLUMNS])
    read_types = {c.name: (pa.string() if c.kind == "list" else _arrow_type(c.kind))
                  for c in LONG_COLUMNS}  # fmt: skip
    reader = pacsv.open_csv(
        io.BufferedReader(stream, buffer_size=1 << 20),
        # One thread: the other core is PostgreSQL's, producing the rows meanwhile.
        read_options=pacsv.ReadOptions(block_size=block_size, use_threads=False),
        parse_options=pacsv.ParseOptions(newlines_in_values=True),
        convert_options=pacsv.ConvertOptions(
            column_types=read_types,
            strings_can_be_null=True,
            quoted_strings_can_be_null=False,
            true_values=["True"],
            false_values=["False"],
        ),
    )
    no_flags = pa.scalar([], pa.list_(pa.string()))
    done = 0
    with pq.ParquetWriter(str(part), schema, compression="snappy") as writer:
        for batch in reader:
            columns = []
            for column in LONG_COLUMNS:
                values = batch.column(column.name)
                if column.name == "campaign":
                    values = pa.repeat(pa.scalar(campaign, pa.string()), batch.num_rows)
                elif column.kind == "list":  # "a;b" (NULL: none) -> ["a", "b"]
                    values = pc.if_else(pc.is_null(values), no_flags,
                                        pc.split_pattern(values, ";"))  # fmt: skip
                columns.append(values)
            writer.write_table(pa.Table.from_arrays(columns, schema=schema))
            done += batch.num_rows
            if progress:
                progress(done, total)


# --- The audited dataset ----------------------------------------------------------------------

STATS = ("mean", "n", "sd", "spread", "within_one")
OPS = {
    "gte": lambda a, b: a >= b,
    "gt": lambda a, b: a > b,
    "lte": lambda a, b: a <= b,
    "lt": lambda a, b: a < b,
}
_FILTER = re.compile(
    r"^(?P<criterion>.+?)_(?P<stat>mean|n|sd|spread|within_one)_(?P<op>gte|gt|lte|lt)$"
)


@dataclass(frozen=True)
class Filters:
    """Thresholds an item must meet to be exported (all of them)."""

    thresholds: tuple[tuple[str, str, str, float], ...] = ()
    exclude_flags: tuple[str, ...] = ()
    min_ratings: int = 0

    def accepts(self, audit: dict) -> bool:
        if audit["n_ratings"] < self.min_ratings:
            return False
        if any(audit["flags"].get(flag) for flag in self.exclude_flags):
            return False
        for criterion, stat, op, bound in self.thresholds:
            value = audit["criteria"].get(criterion, {}).get(stat)
            if value is None or not OPS[op](value, bound):
                return False
        return True


def parse_filters(raw: dict | None, *, criteria: list[str]) -> Filters:
    """``{"accuracy_mean_gte": 4, "exclude_flags": ["hallucination"], "min_ratings": 2}``:
    ``<criterion>_<mean|n|sd|spread|within_one>_<gte|gt|lte|lt>``, ``exclude_flags`` and
    ``min_ratings``. Anything else is an error that names the key."""
    if not raw:
        return Filters()
    if not isinstance(raw, dict):
        raise ExportError('filters must be an object such as {"accuracy_mean_gte": 4}')
    thresholds, exclude, min_ratings = [], (), 0
    for key, value in raw.items():
        if key == "exclude_flags":
            if isinstance(value, str):
                value = [value]
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise ExportError("exclude_flags must be a list of flag names")
            unknown = sorted(set(value) - set(FLAGS))
            if unknown:
                raise ExportError(
                    f"exclude_flags: unknown flag(s) {', '.join(unknown)}; known: "
                    + ", ".join(FLAGS)
                )
            exclude = tuple(value)
            continue
        if key == "min_ratings":
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise ExportError("min_ratings must be a whole number >= 0")
            min_ratings = value
            continue
        match = _FILTER.match(key)
        if match is None:
            raise ExportError(
                f"unknown filter {key!r}: use <criterion>_<{'|'.join(STATS)}>_<gte|gt|lte|lt>,"
                " exclude_flags or min_ratings"
            )
        if match["criterion"] not in criteria:
            raise ExportError(
                f"filter {key!r}: no criterion {match['criterion']!r} in the audited campaigns"
                f" (criteria: {', '.join(criteria) or 'none'})"
            )
        if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value):
            raise ExportError(f"filter {key!r}: expected a number, got {value!r}")
        thresholds.append((match["criterion"], match["stat"], match["op"], float(value)))
    return Filters(tuple(thresholds), exclude, min_ratings)


def criterion_summary(values: list[int]) -> dict:
    """Mean, n, sample sd, spread (max - min) and the share of scores within one point of the
    median: the per-item agreement indicators."""
    n = len(values)
    median = statistics.median(values)
    return {
        "mean": round(sum(values) / n, 4),
        "n": n,
        "sd": round(statistics.stdev(values), 4) if n > 1 else None,
        "spread": max(values) - min(values),
        "within_one": round(sum(abs(v - median) <= 1 for v in values) / n, 4),
    }


def _audits(item_ids: list[int], campaign_ids: list[int]) -> dict[int, dict]:
    scores: dict[int, dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
    for item_id, key, value in selectors.item_scores(item_ids, campaign_ids):
        scores[item_id][key].append(value)
    ratings: dict[int, int] = Counter()
    flags: dict[int, Counter] = defaultdict(Counter)
    for item_id, raw_flags in selectors.item_ratings(item_ids, campaign_ids):
        ratings[item_id] += 1
        flags[item_id].update(str(f) for f in (as_json(raw_flags) or []))
    return {
        item_id: {
            "n_ratings": ratings.get(item_id, 0),
            "criteria": {
                key: criterion_summary(values) for key, values in scores.get(item_id, {}).items()
            },
            "flags": dict(sorted(flags[item_id].items())) if item_id in flags else {},
        }
        for item_id in item_ids
    }


def _record_id(row: dict) -> str:
    return row["external_id"] or f"item-{row['id']}"


def _pubmedvision(row: dict, images: list[str], audit: dict) -> dict:
    record: dict[str, Any] = {"id": _record_id(row), "image": images}
    if row["kind"] == "caption":
        record["Original_Caption"] = row["answer"]
        if row["source_pair__context"]:
            record["context"] = row["source_pair__context"]
    else:
        record["conversations"] = row["conversation"]
    record["modality"] = row["modality"]
    record["body_part"] = row["body_part"]
    record["audit"] = audit
    return record


def _llava(row: dict, images: list[str], audit: dict) -> dict:
    record: dict[str, Any] = {"id": _record_id(row)}
    record["image"] = images[0] if len(images) == 1 else images
    record["conversations"] = row["conversation"]
    for key in ("modality", "body_part"):
        if row[key]:
            record[key] = row[key]
    record["audit"] = audit
    return record


def dataset_columns(criteria: list[str]) -> list[Column]:
    columns = [
        Column("id", "str"),
        Column("item_id", "int"),
        Column("method", "category"),
        Column("kind", "category"),
        Column("image", "list"),
        Column("question", "str"),
        Column("answer", "str"),
        Column("conversations", "str"),
        Column("modality", "category"),
        Column("body_part", "category"),
        Column("n_ratings", "int"),
    ]
    kinds = {"mean": "float", "n": "int", "sd": "float", "spread": "int", "within_one": "float"}
    for key in criteria:
        columns += [Column(f"{key}_{stat}", kinds[stat]) for stat in STATS]
    columns += [Column(f"flag_{flag}", "int") for flag in FLAGS]
    return columns


def _parquet_row(row: dict, images: list[str], audit: dict, criteria: list[str]) -> list:
    values = [
        _record_id(row), row["id"], row["method__key"], row["kind"], images, row["question"],
        row["answer"], json.dumps(row["conversation"], ensure_ascii=False), row["modality"],
        row["body_part"], audit["n_ratings"],
    ]  # fmt: skip
    for key in criteria:
        summary = audit["criteria"].get(key, {})
        values += [summary.get(stat) for stat in STATS]
    values += [audit["flags"].get(flag, 0) for flag in FLAGS]
    return values


def default_dataset_format(dataset: Dataset) -> str:
    """The format the dataset came in: PubMedVision JSON, LLaVA JSON, or LLaVA JSONL."""
    source = selectors.dataset_source_format(dataset)
    return {"pubmedvision": "pubmedvision", "llava": "llava", "gmai": "llava"}.get(
        source, "llava_jsonl"
    )


@dataclass
class DatasetExportResult:
    items_seen: int
    items_written: int


def dataset_export(
    *,
    dataset: Dataset,
    campaigns: list[Campaign],
    path: Path,
    fmt: str = "auto",
    filters: dict | None = None,
    chunk_size: int = 2000,
    progress: Progress | None = None,
) -> DatasetExportResult:
    """Write ``dataset``'s items with the audit results of ``campaigns`` (ratings from other
    campaigns are not counted) to ``path``, keeping only the items ``filters`` accept."""
    if fmt == "auto":
        fmt = default_dataset_format(dataset)
    _check_choice(fmt, DATASET_FORMATS, "format")
    campaign_ids = [c.pk for c in campaigns]
    criteria = selectors.criterion_keys(campaign_ids)
    accepted = parse_filters(filters, criteria=criteria)
    total = dataset.items.count()
    result = DatasetExportResult(0, 0)
    names = selectors.ITEM_FIELDS

    def records() -> Iterator[tuple[dict, list[str], dict]]:
        for rows in selectors.dataset_item_chunks(dataset, chunk_size=chunk_size):
            ids = [r[0] for r in rows]
            audits = _audits(ids, campaign_ids)
            paths = selectors.image_paths({r[4] for r in rows})
            for raw in rows:
                row = dict(zip(names, raw, strict=True))
                row["conversation"] = as_json(row["conversation"])
                audit = audits[row["id"]]
                result.items_seen += 1
                if accepted.accepts(audit):
                    result.items_written += 1
                    yield row, paths.get(row["source_pair_id"], []), audit
            if progress:
                progress(result.items_seen, total)

    def write(part: Path) -> None:
        if fmt == "parquet":
            columns = dataset_columns(criteria)

            def chunks():
                batch = []
                for row, images, audit in records():
                    batch.append(_parquet_row(row, images, audit, criteria))
                    if len(batch) >= chunk_size:
                        yield [list(c) for c in zip(*batch, strict=True)]
                        batch = []
                if batch:
                    yield [list(c) for c in zip(*batch, strict=True)]

            _write_chunks(part, "parquet", columns, chunks())
            return
        shape = _pubmedvision if fmt == "pubmedvision" else _llava
        with open(part, "w", encoding="utf-8") as fh:
            if fmt == "llava_jsonl":
                for row, images, audit in records():
                    fh.write(json.dumps(shape(row, images, audit), ensure_ascii=False) + "\n")
                return
            fh.write("[")  # one JSON array, streamed record by record
            first = True
            for row, images, audit in records():
                fh.write(("\n" if first else ",\n") + json.dumps(shape(row, images, audit),
                                                                 ensure_ascii=False))  # fmt: skip
                first = False
            fh.write("\n]\n")

    atomic_write(path, write)
    return result


# --- Export jobs ------------------------------------------------------------------------------


def _export_dir() -> Path:
    return Path(settings.EXPORT_DIR)


def _progress_key(job_id: int) -> str:
    return f"exports:job:{job_id}:progress"


def export_job_create(
    *,
    owner,
    kind: str,
    fmt: str,
    campaign: Campaign | None = None,
    dataset: Dataset | None = None,
    layout: str = "",
    options: dict | None = None,
) -> ExportJob:
    """Check the options and queue the job on the io queue (after the transaction commits).
    Permission checks stay with the caller (see selectors.campaigns_exportable_by)."""
    options = dict(options or {})
    if kind == ExportJob.Kind.RATINGS:
        if campaign is None:
            raise ExportError("a ratings export needs a campaign")
        _check_choice(fmt, RATING_FORMATS, "format")
        layout = layout or "long"
        _check_choice(layout, LAYOUTS, "layout")
        options = {"names": bool(options.get("names", False))}
    elif kind == ExportJob.Kind.DATASET:
        if dataset is None:
            raise ExportError("a dataset export needs a dataset")
        if fmt == "auto":
            fmt = default_dataset_format(dataset)
        _check_choice(fmt, DATASET_FORMATS, "format")
        layout = ""
        campaign_ids = [int(c) for c in options.get("campaign_ids", [])]
        parse_filters(options.get("filters"), criteria=selectors.criterion_keys(campaign_ids))
        options = {"campaign_ids": campaign_ids, "filters": options.get("filters") or {}}
    else:
        raise ExportError(f"unknown export kind {kind!r}")
    with transaction.atomic():
        job = ExportJob.objects.create(
            owner=owner,
            kind=kind,
            campaign=campaign,
            dataset=dataset,
            format=fmt,
            layout=layout,
            options=options,
        )
        # Who exported what and when: on the campaign's Activity page (dataset exports: admin).
        audit_event_record(
            actor=owner,
            verb="export.created",
            target=job,
            campaign=campaign,
            data={"kind": kind, "format": fmt, "layout": layout,
                  "names": bool(options.get("names")), "dataset": dataset.pk if dataset else None},
        )  # fmt: skip
    from audit.reports.exports.tasks import run_export_job

    transaction.on_commit(lambda: run_export_job.delay(job.pk))
    return job


def dataset_campaigns_for(user, dataset: Dataset, campaign_ids: list | None = None) -> list:
    """The campaigns over ``dataset`` whose ratings ``user`` may export (owned; staff: all),
    optionally only ``campaign_ids``; asking for one outside them is an error."""
    allowed = selectors.campaigns_exportable_by(user).filter(datasets=dataset).distinct()
    if not campaign_ids:
        return list(allowed.order_by("pk"))
    chosen = list(allowed.filter(pk__in=campaign_ids).order_by("pk"))
    if len(chosen) != len(set(campaign_ids)):
        raise ExportError(
            "some of the chosen campaigns are not campaigns of yours over this dataset"
        )
    return chosen


def _job_path(job: ExportJob) -> Path:
    ext = Path(job.file_name).suffix
    return _export_dir() / f"{job.public_id}{ext}"


def export_job_run(*, job_id: int) -> ExportJob:
    """Run a job from scratch (also when a killed worker's job is delivered again): the file is
    written under a temporary name, renamed when complete, and only then recorded on the job."""
    with transaction.atomic():
        job = ExportJob.objects.select_for_update().get(pk=job_id)
        if job.status in (ExportJob.Status.SUCCEEDED, ExportJob.Status.EXPIRED):
            return job  # a duplicate delivery of a finished job
        job.status = ExportJob.Status.RUNNING
        job.attempts += 1
        job.started_at = timezone.now()
        job.progress = 0.0
        job.error = ""
        job.file_path = ""
        job.save()
    path = _job_path(job)
    for stale in path.parent.glob(f"{path.name}.part-*"):  # left by a killed attempt
        stale.unlink(missing_ok=True)

    def progress(done: int, total: int) -> None:
        cache.set(_progress_key(job.pk), {"rows": done, "total": total}, 3600)

    try:
        if job.kind == ExportJob.Kind.RATINGS:
            rows = ratings_export(
                campaign=job.campaign,
                path=path,
                fmt=job.format,
                layout=job.layout,
                names=job.options.get("names", False),
                progress=progress,
            )
        else:
            campaigns = dataset_campaigns_for(
                job.owner, job.dataset, job.options.get("campaign_ids")
            )
            rows = dataset_export(
                dataset=job.dataset,
                campaigns=campaigns,
                path=path,
                fmt=job.format,
                filters=job.options.get("filters"),
                progress=progress,
            ).items_written
    except Exception as exc:
        log.exception("export job %s failed", job.pk)
        job.status = ExportJob.Status.FAILED
        job.error = str(exc) if isinstance(exc, ExportError) else f"{type(exc).__name__}: {exc}"
        job.finished_at = timezone.now()
        job.save(update_fields=["status", "error", "finished_at"])
        cache.delete(_progress_key(job.pk))
        if isinstance(exc, ExportError):
            return job  # bad options: retrying would not help
        raise
    now = timezone.now()
    job.status = ExportJob.Status.SUCCEEDED
    job.file_path = path.name
    job.size_bytes = path.stat().st_size
    job.row_count = rows
    job.progress = 1.0
    job.finished_at = now
    job.expires_at = now + timedelta(hours=settings.EXPORT_TTL_HOURS)
    job.save()
    cache.delete(_progress_key(job.pk))
    return job


def export_job_progress(job: ExportJob) -> float:
    """Live progress of a running job (from the cache), or the stored figure."""
    if job.status == ExportJob.Status.RUNNING:
        live = cache.get(_progress_key(job.pk))
        if live and live["total"]:
            return round(min(live["rows"] / live["total"], 1.0), 4)
    return job.progress


def export_file(job: ExportJob) -> Path | None:
    """The complete file of a succeeded, unexpired job; an expired job's file is deleted."""
    if job.status != ExportJob.Status.SUCCEEDED or not job.file_path:
        return None
    if job.expires_at and job.expires_at <= timezone.now():
        export_job_expire(job=job)
        return None
    path = _export_dir() / job.file_path
    return path if path.is_file() else None


def export_job_expire(*, job: ExportJob) -> None:
    if job.file_path:
        (_export_dir() / job.file_path).unlink(missing_ok=True)
    job.status = ExportJob.Status.EXPIRED
    job.file_path = ""
    job.save(update_fields=["status", "file_path"])


def export_jobs_cleanup(*, now: datetime | None = None) -> int:
    """Delete the files of expired jobs and mark them expired; returns how many. Temporary
    files a killed worker left behind (never redelivered) go too, once a day old."""
    now = now or timezone.now()
    expired = ExportJob.objects.filter(status=ExportJob.Status.SUCCEEDED, expires_at__lte=now)
    count = 0
    for job in expired.iterator():
        export_job_expire(job=job)
        count += 1
    folder = _export_dir()
    if folder.is_dir():
        day_ago = (now - timedelta(days=1)).timestamp()
        for part in folder.glob("*.part-*"):
            if part.stat().st_mtime < day_ago:
                part.unlink(missing_ok=True)
    return count


def export_file_delete(job: ExportJob) -> None:
    """When a job row goes (deleted, or its campaign or dataset deleted), its file goes too."""
    if job.file_path:
        (_export_dir() / job.file_path).unlink(missing_ok=True)
