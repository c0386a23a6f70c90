"""Ratings exports: a campaign's ratings, long (one row per score) or wide (one row per rating,
a column per criterion), to CSV, JSONL or Parquet (typed: integer scores, UTC timestamps,
dictionary-encoded method, dataset and criterion), as a pipeline: read chunks (selectors) ->
shape columns -> write a sink (:mod:`.sinks`). Experts appear as stable pseudonyms (``expert-`` +
an HMAC of the campaign and user ids under SECRET_KEY) unless names are asked for. On PostgreSQL
the long layout takes a fast path: the server formats the rows (COPY TO STDOUT).
"""

import hashlib
import hmac
import io
import json
from collections.abc import Callable, Iterator
from contextlib import closing
from pathlib import Path

from django.conf import settings
from django.db import connection

from audit.campaigns.models import Campaign
from audit.campaigns.presentation import PresentationRules
from audit.reports.exports import selectors
from audit.reports.exports.sinks import (
    Column,
    Progress,
    arrow_type,
    as_json,
    atomic_write,
    check_choice,
    write_chunks,
)

RATING_FORMATS = ("csv", "jsonl", "parquet")
LAYOUTS = ("long", "wide")
# The Parquet key-value metadata entry that records how the items were shown to the experts.
PRESENTATION_KEY = "vqa_audit.presentation"


def applied_presentation(campaign: Campaign) -> dict:
    """The presentation rules the experts' texts were shown under (fixed at launch; the stored
    items are unchanged): ``{"rules": <the design's record>, "applied": [rules in words]}``,
    ``applied`` empty when items were shown as stored."""
    rules = PresentationRules.from_design(campaign.design)
    return {"rules": rules.as_design(), "applied": rules.describe()}


def _file_metadata(campaign: Campaign) -> dict[str, str]:
    return {PRESENTATION_KEY: json.dumps(applied_presentation(campaign))}


def expert_pseudonym(*, campaign_id: int, user_id: int) -> str:
    """Stable per campaign, unlinkable across campaigns without the secret key."""
    message = f"{campaign_id}:{user_id}".encode()
    digest = hmac.new(settings.SECRET_KEY.encode(), message, hashlib.sha256).hexdigest()
    return f"expert-{digest[:10]}"


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
    # The item's probability of being drawn (n_h / N_h of its stratum; 1 for gold items): weight
    # by 1 / inclusion_probability for design-unbiased estimates when it differs between items.
    Column("inclusion_probability", "float"),
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
            self.stratum.column([row[f["stratum"]]])[0], row[f["inclusion_probability"]],
            expert, bool(row[f["is_repeat"]]),
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
            self.stratum.column(c[f["stratum"]]), c[f["inclusion_probability"]], expert,
            [bool(v) for v in c[f["is_repeat"]]],
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
    check_choice(fmt, RATING_FORMATS, "format")
    check_choice(layout, LAYOUTS, "layout")
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
    metadata = _file_metadata(campaign)
    return atomic_write(path, lambda part: write_chunks(part, fmt, columns, chunks(), metadata))


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
    copy = selectors.rating_long_copy(
        campaign, expert_labels=labels, campaign_label=label, neutralise_formulas=fmt == "csv"
    )
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
                part,
                selectors.CopyStream(chunks),
                total,
                progress,
                block,
                str(campaign.public_id),
                _file_metadata(campaign),
            )
        return max(cursor.rowcount, 0)


def _csv_stream_to_parquet(
    part: Path,
    stream,
    total: int,
    progress: Progress | None,
    block_size: int,
    campaign: str,
    metadata: dict[str, str],
) -> None:
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    schema = pa.schema(
        [pa.field(c.name, arrow_type(c.kind)) for c in LONG_COLUMNS], metadata=metadata
    )
    read_types = {c.name: (pa.string() if c.kind == "list" else arrow_type(c.kind))
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
