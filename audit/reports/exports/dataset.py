"""Audited dataset exports: a dataset's items with their audit results (per criterion mean, n,
sd, spread, share within one point of the median; flag counts), filtered by thresholds, in
PubMedVision JSON, LLaVA JSON/JSONL or Parquet, with the image paths they were imported with.
The audit results come from the shared read side of scores (:mod:`audit.reports.scores`).
Adjudication decisions in force apply: an excluded item is left out, a corrected one goes out
with its corrected text (the original kept in its audit record), every decided item says so.
"""

import json
import math
import re
import statistics
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from annotations.models import FLAGS
from audit.campaigns.models import Campaign
from audit.datasets.models import Dataset
from audit.reports import scores as score_reads
from audit.reports.adjudication.models import Decision
from audit.reports.adjudication.selectors import decisions_for_items
from audit.reports.exports import selectors
from audit.reports.exports.sinks import (
    Column,
    ExportError,
    Progress,
    as_json,
    atomic_write,
    check_choice,
    write_chunks,
)

DATASET_FORMATS = ("pubmedvision", "llava", "llava_jsonl", "parquet")

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
    """Per item: its ratings in ``campaign_ids`` (skips left out), each criterion's summary and
    the flag counts."""
    scores: dict[int, dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
    rows = score_reads.score_rows(campaign_ids=campaign_ids, item_ids=item_ids)
    for item_id, key, value in rows.values_list(
        score_reads.ITEM_ID, score_reads.CRITERION_KEY, score_reads.VALUE
    ):
        scores[item_id][key].append(value)
    ratings: dict[int, int] = Counter()
    flags: dict[int, Counter] = defaultdict(Counter)
    rated = score_reads.rating_rows(campaign_ids=campaign_ids, item_ids=item_ids, scored_only=True)
    for item_id, raw_flags in rated.values_list(score_reads.RATING_ITEM_ID, "flags"):
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
        Column("adjudication", "category"),
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
        row["body_part"], audit["n_ratings"], (audit.get("adjudication") or {}).get("decision"),
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
    items_excluded_by_adjudication: int = 0


def _corrected_conversation(conversation: list, question: str, answer: str) -> list:
    """The conversation with its first human turn and last model turn replaced (the image
    placeholder kept where the question had one)."""
    turns = [dict(t) for t in conversation or []]
    human = next((t for t in turns if t.get("from") == "human"), None)
    model = next((t for t in reversed(turns) if t.get("from") == "gpt"), None)
    if human is not None:
        prefix = "<image>\n" if str(human.get("value", "")).startswith("<image>") else ""
        human["value"] = prefix + question
    if model is not None:
        model["value"] = answer
    if human is None and model is None:
        turns = [{"from": "human", "value": question}, {"from": "gpt", "value": answer}]
    return turns


def _adjudicated(row: dict, audit: dict, decision: Decision) -> None:
    """Apply a decision in force to an exported row (in place) and record it in its audit."""
    audit["adjudication"] = {
        "decision": decision.outcome, "version": decision.version, "note": decision.note,
        "consensus_scores": decision.consensus_scores,
        "decided_at": decision.decided_at.isoformat(),
    }  # fmt: skip
    if decision.outcome == Decision.Outcome.CORRECT:
        audit["adjudication"]["original"] = {"question": row["question"], "answer": row["answer"]}
        row["question"] = decision.corrected_question
        row["answer"] = decision.corrected_answer
        row["conversation"] = _corrected_conversation(
            row["conversation"], decision.corrected_question, decision.corrected_answer
        )


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
    check_choice(fmt, DATASET_FORMATS, "format")
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
            decided = decisions_for_items(campaign_ids=campaign_ids, item_ids=ids)
            paths = selectors.image_paths({r[4] for r in rows})
            for raw in rows:
                row = dict(zip(names, raw, strict=True))
                row["conversation"] = as_json(row["conversation"])
                audit = audits[row["id"]]
                result.items_seen += 1
                decision = decided.get(row["id"])
                if decision is not None:
                    if decision.outcome == Decision.Outcome.EXCLUDE:
                        result.items_excluded_by_adjudication += 1
                        continue
                    _adjudicated(row, audit, decision)
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

            write_chunks(part, "parquet", columns, chunks())
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
