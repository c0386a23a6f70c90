"""Ratings exports read back with their ordinary readers (pandas, pyarrow, json) equal what the
database holds: long and wide, CSV, JSONL and Parquet; typed Parquet; pseudonyms; a crash while
writing leaves no file under the export's name."""

import json
from datetime import UTC, datetime

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from django.db import connection

from audit.reports.exports import ratings
from audit.reports.exports.ratings import ratings_export
from audit.reports.exports.sinks import ExportError
from tests.reports.exports.conftest import expected_long

pytestmark = pytest.mark.django_db
CRITERIA = ["accuracy", "relevance", "completeness", "usefulness"]


def read(path, fmt: str) -> list[dict]:
    """Rows as plain Python values, through each format's ordinary reader."""
    if fmt == "parquet":
        return pq.read_table(path).to_pylist()
    if fmt == "jsonl":
        return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    frame = pd.read_csv(path, keep_default_na=False, dtype=str)
    return frame.to_dict("records")


def normal(value, column: str, fmt: str):
    """Read-back values in one shape, whatever the format (CSV is text)."""
    if column == "submitted_at":
        value = datetime.fromisoformat(value) if isinstance(value, str) else value
        return value.astimezone(UTC)
    if column == "flags":
        if fmt == "csv":
            return value.split(";") if value else []
        return list(value)
    if fmt == "csv":
        if column in ("rating_id", "campaign_item_id", "item_id", "source_pair_id", "revision",
                      "score", *CRITERIA):  # fmt: skip
            return int(value) if value != "" else None
        if column in ("active_seconds", "inclusion_probability"):
            return float(value)
        if column in ("is_repeat", "skipped"):
            return value == "True"
    return value


SHARED = [
    "campaign", "rating_id", "campaign_item_id", "item_id", "item_external_id", "source_pair_id",
    "method", "dataset", "modality", "body_part", "stratum", "inclusion_probability", "expert",
    "is_repeat", "flags",
    "comment", "active_seconds", "submitted_at", "revision",
]  # fmt: skip


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "parquet"])
def test_long_export_reads_back_equal_to_the_database(rated_campaign, tmp_path, fmt):
    campaign, _owner, _experts = rated_campaign
    path = tmp_path / f"ratings.{fmt}"
    rows = ratings_export(campaign=campaign, path=path, fmt=fmt, layout="long", chunk_size=17)
    got = read(path, fmt)
    expected = [
        {**{k: r[k] for k in SHARED}, "criterion": key, "score": value}
        for r in expected_long(campaign)
        for key, value in r["scores"].items()
    ]
    assert rows == len(got) == len(expected) > 200
    assert list(got[0]) == [*SHARED[:14], "criterion", "score", *SHARED[14:]]
    normalized = [{k: normal(v, k, fmt) for k, v in row.items()} for row in got]
    assert normalized == expected
    # the revised rating and the awkward comment came through
    assert any(r["comment"] == 'Odd, "quoted"\nsecond line' for r in normalized)
    assert any(r["revision"] == 2 and r["flags"] == ["hallucination"] for r in normalized)


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "parquet"])
def test_wide_export_has_one_row_per_rating_and_a_column_per_criterion(rated_campaign, tmp_path,
                                                                       fmt):  # fmt: skip
    campaign, _owner, _experts = rated_campaign
    path = tmp_path / f"wide.{fmt}"
    rows = ratings_export(campaign=campaign, path=path, fmt=fmt, layout="wide", chunk_size=10)
    got = read(path, fmt)
    expected = [
        {**{k: r[k] for k in SHARED}, "skipped": r["skipped"], "skip_reason": r["skip_reason"],
         **{key: r["scores"].get(key) for key in CRITERIA}}
        for r in expected_long(campaign)
    ]  # fmt: skip
    assert rows == len(got) == len(expected) == campaign.assignments.count()
    assert list(got[0]) == [*SHARED, "skipped", "skip_reason", *CRITERIA]
    assert [{k: normal(v, k, fmt) for k, v in row.items()} for row in got] == expected
    skipped = [r for r in expected if r["skipped"]]
    assert skipped and all(r["accuracy"] is None for r in skipped)


def test_parquet_schema_is_typed(rated_campaign, tmp_path):
    campaign, _owner, _experts = rated_campaign
    ratings_export(campaign=campaign, path=tmp_path / "r.parquet", fmt="parquet", chunk_size=40)
    parquet = pq.ParquetFile(tmp_path / "r.parquet")
    schema = parquet.schema_arrow
    assert pa.types.is_integer(schema.field("score").type)
    assert schema.field("submitted_at").type == pa.timestamp("us", tz="UTC")
    for name in ("method", "criterion", "expert", "dataset"):
        assert pa.types.is_dictionary(schema.field(name).type), name
    assert schema.field("flags").type == pa.list_(pa.string())
    if connection.vendor == "sqlite":  # PostgreSQL's COPY path: row groups of >= 64 KiB
        assert parquet.metadata.num_row_groups > 1  # written chunk by chunk
    frame = pd.read_parquet(tmp_path / "r.parquet")
    assert isinstance(frame["method"].dtype, pd.CategoricalDtype)
    assert str(frame["submitted_at"].dt.tz) == "UTC"
    assert set(frame["criterion"].cat.categories) == set(CRITERIA)


def test_experts_are_pseudonyms_unless_names_are_asked_for(rated_campaign, tmp_path):
    campaign, _owner, experts = rated_campaign
    ratings_export(campaign=campaign, path=tmp_path / "p.csv", fmt="csv")
    ratings_export(campaign=campaign, path=tmp_path / "n.csv", fmt="csv", names=True)
    pseudo = pd.read_csv(tmp_path / "p.csv")["expert"]
    named = pd.read_csv(tmp_path / "n.csv")["expert"]
    usernames = {e.username for e in experts}
    assert set(named) == usernames
    assert not set(pseudo) & usernames
    assert all(p.startswith("expert-") for p in pseudo)
    # stable: the same expert always gets the same pseudonym, each expert their own
    assert pseudo.groupby(named).nunique().eq(1).all() and pseudo.nunique() == len(usernames)
    text = (tmp_path / "p.csv").read_text()
    assert not any(name in text for name in usernames)
    # and per campaign: the same user elsewhere gets another one
    assert ratings.expert_pseudonym(campaign_id=1, user_id=5) != ratings.expert_pseudonym(
        campaign_id=2, user_id=5
    )


def test_a_campaign_without_ratings_exports_a_header_only(launched_campaign, tmp_path):
    campaign, _owner, _experts = launched_campaign
    assert ratings_export(campaign=campaign, path=tmp_path / "e.csv", fmt="csv") == 0
    assert pd.read_csv(tmp_path / "e.csv").empty
    assert ratings_export(campaign=campaign, path=tmp_path / "e.parquet", fmt="parquet") == 0
    assert pq.read_table(tmp_path / "e.parquet").num_rows == 0


def test_bad_options_are_refused_by_name(rated_campaign, tmp_path):
    campaign, _owner, _experts = rated_campaign
    out = tmp_path / "out"
    with pytest.raises(ExportError, match="unknown format 'xlsx'"):
        ratings_export(campaign=campaign, path=out / "x", fmt="xlsx")
    with pytest.raises(ExportError, match="unknown layout 'tall'"):
        ratings_export(campaign=campaign, path=out / "x", fmt="csv", layout="tall")
    assert not out.exists()


@pytest.mark.parametrize("fmt", ["csv", "parquet", "jsonl"])
def test_a_crash_while_writing_leaves_no_file(rated_campaign, tmp_path, fmt):
    """Dies after the first chunk is in the file (the progress callback runs between chunks,
    on the COPY path of PostgreSQL as on the Python path)."""
    campaign, _owner, _experts = rated_campaign

    def dies(done, total):
        assert 0 < done <= total
        raise RuntimeError("worker died")

    with pytest.raises(RuntimeError, match="worker died"):
        ratings_export(campaign=campaign, path=tmp_path / "out" / f"r.{fmt}", fmt=fmt,
                       chunk_size=20, progress=dies)  # fmt: skip
    assert list((tmp_path / "out").iterdir()) == []  # neither the file nor its temporary part
