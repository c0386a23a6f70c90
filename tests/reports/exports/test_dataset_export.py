"""The audited dataset back out: every item with its audit results (checked against the ratings
in the database), its original image paths and conversation, in the format it came in (or
LLaVA JSON/JSONL, Parquet), filtered by thresholds; bad filters are refused by name."""

import json
import statistics
from collections import Counter, defaultdict

import pandas as pd
import pytest

from annotations.models import Rating, Score
from audit.datasets.models import Item
from audit.reports.exports.dataset import dataset_export
from audit.reports.exports.sinks import ExportError

pytestmark = pytest.mark.django_db
CRITERIA = ["accuracy", "relevance", "completeness", "usefulness"]


def expected_audits(campaign) -> dict[int, dict]:
    """Per item id: n ratings, per criterion mean/n/spread, flag counts — from the ORM."""
    scores = defaultdict(lambda: defaultdict(list))
    for s in Score.objects.filter(rating__assignment__campaign=campaign).select_related(
        "criterion", "rating__assignment__campaign_item"
    ):
        scores[s.rating.assignment.campaign_item.item_id][s.criterion.key].append(s.value)
    n_ratings, flags = Counter(), defaultdict(Counter)
    for r in Rating.objects.filter(assignment__campaign=campaign, skipped=False).select_related(
        "assignment__campaign_item"
    ):
        n_ratings[r.assignment.campaign_item.item_id] += 1
        flags[r.assignment.campaign_item.item_id].update(r.flags)
    out = {}
    for item_id in Item.objects.values_list("id", flat=True):
        out[item_id] = {
            "n_ratings": n_ratings[item_id],
            "criteria": {
                k: {"mean": round(statistics.mean(v), 4), "n": len(v), "spread": max(v) - min(v)}
                for k, v in scores[item_id].items()
            },
            "flags": dict(flags[item_id]),
        }
    return out


def original_images(folder) -> dict[str, list[str]]:
    """Record id -> image list, from the files the dataset was imported from."""
    images = {}
    for path in folder.glob("*.json"):
        for record in json.loads(path.read_text()):
            image = record["image"]
            images[record["id"]] = image if isinstance(image, list) else [image]
    return images


def comparable(audit: dict) -> dict:
    return {
        "n_ratings": audit["n_ratings"],
        "criteria": {
            k: {s: v[s] for s in ("mean", "n", "spread")} for k, v in audit["criteria"].items()
        },
        "flags": audit["flags"],
    }


def test_pubmedvision_export_carries_the_audit_and_the_original_paths(rated_campaign, tmp_path):
    campaign, _owner, _experts = rated_campaign
    dataset = campaign.datasets.get()
    path = tmp_path / "out.json"
    result = dataset_export(dataset=dataset, campaigns=[campaign], path=path, chunk_size=7)
    records = json.loads(path.read_text(encoding="utf-8"))  # one JSON array
    assert result.items_seen == result.items_written == len(records) == dataset.items.count()
    items = {
        (i.external_id, i.kind, i.method.key): i for i in dataset.items.select_related("method")
    }
    by_record = {}
    for record in records:
        kind = "caption" if "Original_Caption" in record else None
        matches = [
            i for (rid, k, _m), i in items.items()
            if rid == record["id"] and (k == "caption") == (kind == "caption")
            and (kind == "caption" or i.conversation == record["conversations"])
        ]  # fmt: skip
        assert len(matches) == 1, record["id"]
        by_record[matches[0].pk] = record
    assert len(by_record) == len(records)
    expected = expected_audits(campaign)
    images = original_images(tmp_path / "demo")
    rated = 0
    for item_id, record in by_record.items():
        assert comparable(record["audit"]) == expected[item_id]
        assert record["image"] == images[record["id"]]
        rated += record["audit"]["n_ratings"] > 0
    assert rated == campaign.items.count()  # every sampled item has ratings; the rest none
    caption = next(r for r in records if "Original_Caption" in r)
    assert set(caption) >= {"id", "image", "Original_Caption", "modality", "body_part", "audit"}


def test_thresholds_keep_exactly_the_items_that_pass(rated_campaign, tmp_path):
    campaign, _owner, _experts = rated_campaign
    dataset = campaign.datasets.get()
    filters = {"accuracy_mean_gte": 3, "exclude_flags": ["hallucination"], "min_ratings": 1}
    path = tmp_path / "kept.jsonl"
    result = dataset_export(dataset=dataset, campaigns=[campaign], path=path, fmt="llava_jsonl",
                            filters=filters)  # fmt: skip
    kept = [json.loads(line) for line in path.read_text().splitlines()]
    expected = {
        item_id
        for item_id, a in expected_audits(campaign).items()
        if a["n_ratings"] >= 1
        and "accuracy" in a["criteria"]
        and a["criteria"]["accuracy"]["mean"] >= 3
        and not a["flags"].get("hallucination")
    }
    assert 0 < len(kept) == len(expected) == result.items_written < result.items_seen
    for record in kept:
        assert record["audit"]["criteria"]["accuracy"]["mean"] >= 3
        assert "hallucination" not in record["audit"]["flags"]
        assert isinstance(record["image"], str | list)


def test_llava_json_and_parquet_read_back(rated_campaign, tmp_path):
    campaign, _owner, _experts = rated_campaign
    dataset = campaign.datasets.get()
    dataset_export(dataset=dataset, campaigns=[campaign], path=tmp_path / "l.json", fmt="llava")
    llava = json.loads((tmp_path / "l.json").read_text())
    assert len(llava) == dataset.items.count()
    assert all(set(r) >= {"id", "image", "conversations", "audit"} for r in llava)
    dataset_export(dataset=dataset, campaigns=[campaign], path=tmp_path / "d.parquet",
                   fmt="parquet", chunk_size=9)  # fmt: skip
    frame = pd.read_parquet(tmp_path / "d.parquet")
    assert len(frame) == dataset.items.count()
    expected = expected_audits(campaign)
    for row in frame.itertuples():
        audit = expected[row.item_id]
        assert row.n_ratings == audit["n_ratings"]
        mean = audit["criteria"].get("accuracy", {}).get("mean")
        assert (pd.isna(row.accuracy_mean) and mean is None) or row.accuracy_mean == mean
        assert row.flag_hallucination == audit["flags"].get("hallucination", 0)
        item = Item.objects.get(pk=row.item_id)
        assert list(row.image) == [link.path for link in item.source_pair.images.all()]
        assert json.loads(row.conversations) == item.conversation
    assert {f"{c}_{s}" for c in CRITERIA for s in ("mean", "n", "sd", "spread", "within_one")} <= (
        set(frame.columns)
    )


@pytest.mark.parametrize(
    ("filters", "message"),
    [
        ({"accuracy_avg_gte": 4}, "unknown filter 'accuracy_avg_gte'"),
        ({"beauty_mean_gte": 4}, "no criterion 'beauty'"),
        ({"accuracy_mean_gte": "high"}, "expected a number"),
        ({"exclude_flags": ["boring"]}, "unknown flag"),
        ({"min_ratings": -1}, "min_ratings"),
    ],
)
def test_bad_filters_are_refused_by_name(rated_campaign, tmp_path, filters, message):
    campaign, _owner, _experts = rated_campaign
    with pytest.raises(ExportError, match=message):
        dataset_export(dataset=campaign.datasets.get(), campaigns=[campaign],
                       path=tmp_path / "out" / "x.json", filters=filters)  # fmt: skip
    assert not (tmp_path / "out").exists()
