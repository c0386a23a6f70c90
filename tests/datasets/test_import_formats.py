"""Each supported format imports correctly, field by field, from files the tests write."""

import json

import pytest
from django.core.management import call_command

from audit.datasets.images import store_path
from audit.datasets.importers.formats import STANDARD_DESCRIBE_QUESTION, source_pair_key
from audit.datasets.models import Dataset, Image, Item, SourcePair
from audit.datasets.services import dataset_import
from tests.conftest import jpeg_bytes, pmv_record, png_bytes, table_counts, write_json, write_zip

pytestmark = pytest.mark.django_db


def test_pubmedvision_three_files_link_every_method_to_one_source_pair(pmv_files):
    for key in ("caption", "alignment", "instruction"):
        dataset_import(path=pmv_files[key], dataset_name="PMV", image_sources=[pmv_files["images"]])

    alignment = json.loads(pmv_files["alignment"].read_text())
    captions = json.loads(pmv_files["caption"].read_text())
    assert Item.objects.count() == 3 * len(alignment)
    assert SourcePair.objects.count() == len(alignment)
    for record, caption in zip(alignment, captions, strict=True):
        pair = SourcePair.objects.get(key=source_pair_key(tuple(record["image"])))
        assert pair.caption == caption["Original_Caption"]
        assert (pair.modality, pair.body_part) == (record["modality"], record["body_part"])
        assert [link.path for link in pair.images.order_by("position")] == record["image"]
        assert all(link.image_id for link in pair.images.all())
        by_kind = {i.kind: i for i in pair.items.select_related("method")}
        assert set(by_kind) == {"caption", "alignment", "instruction"}
        assert by_kind["caption"].method.key == "native_caption"
        assert by_kind["caption"].question == STANDARD_DESCRIBE_QUESTION
        assert by_kind["caption"].answer == caption["Original_Caption"]
        item = by_kind["alignment"]
        assert item.method.key == "mllm_reformatted"
        assert item.external_id == record["id"]
        assert item.question == record["conversations"][0]["value"]
        assert item.answer == record["conversations"][1]["value"]
        assert item.conversation == record["conversations"]
        assert (item.modality, item.body_part) == (record["modality"], record["body_part"])
        assert item.provenance["file"] == pmv_files["alignment"].name


def test_images_are_content_addressed_and_stored_once(tmp_path, settings):
    same = png_bytes((40, 30))
    images = write_zip(
        tmp_path / "images_0.zip",
        {"images/a.png": same, "images/b.png": same, "images/c.jpg": jpeg_bytes((50, 20))},
    )
    records = [pmv_record("1", ["images/a.png"]), pmv_record("2", ["images/b.png", "images/c.jpg"])]
    summary = dataset_import(
        path=write_json(tmp_path / "d.json", records),
        dataset_name="D",
        fmt="pubmedvision",
        image_sources=[images],
    )
    assert Image.objects.count() == 2  # a.png and b.png are the same bytes
    assert summary.images_stored == 2
    png = Image.objects.get(format="PNG")
    assert (png.width, png.height, png.size_bytes) == (40, 30, len(same))
    assert store_path(png.sha256, "PNG").read_bytes() == same
    jpg = Image.objects.get(format="JPEG")
    assert (jpg.width, jpg.height) == (50, 20)


def test_reimport_duplicates_nothing_and_can_attach_images_later(tmp_path):
    records = [pmv_record("1", ["images/a.png"]), pmv_record("2", ["images/b.png"])]
    path = write_json(tmp_path / "d.json", records)
    first = dataset_import(path=path, dataset_name="D", fmt="pubmedvision")
    assert first.images_without_file == 2
    before = table_counts()
    zip_path = write_zip(
        tmp_path / "i.zip",
        {"images/a.png": png_bytes(), "images/b.png": png_bytes(colour=(1, 2, 3))},
    )
    again = dataset_import(
        path=path, dataset_name="D", fmt="pubmedvision", image_sources=[zip_path]
    )
    assert again.items_created == 0 and again.items_duplicate == 2
    after = table_counts()
    assert after["Item"] == before["Item"] == 2
    assert after["SourcePair"] == before["SourcePair"] == 2
    assert after["Image"] == 2
    assert not SourcePair.objects.filter(images__image__isnull=True).exists()


def test_llava_json_and_jsonl_with_image_tokens(tmp_path):
    records = [
        {
            "id": "l1",
            "image": "images/a.png",
            "conversations": [
                {"from": "human", "value": "<image>\nWhat organ is this?"},
                {"from": "gpt", "value": "The liver."},
                {"from": "human", "value": "Any lesion?"},
                {"from": "gpt", "value": "No."},
            ],
        },
        {
            "id": 7,
            "image": ["images/a.png", "images/b.png"],
            "conversations": [
                {"from": "human", "value": "Compare <image> and <image>."},
                {"from": "gpt", "value": "Both normal."},
            ],
        },
    ]
    json_path = write_json(tmp_path / "llava.json", records)
    jsonl_path = tmp_path / "llava.jsonl"
    jsonl_path.write_text("\n".join(json.dumps(r) for r in records) + "\n\n")
    dataset_import(path=json_path, dataset_name="A", fmt="llava", method_key="mllm_distill")
    dataset_import(path=jsonl_path, dataset_name="B", method_key="mllm_distill")  # auto format

    for name in ("A", "B"):
        items = list(Item.objects.filter(dataset__name=name).order_by("record_index"))
        assert [i.external_id for i in items] == ["l1", "7"]
        assert items[0].question == "What organ is this?"
        assert items[0].answer == "The liver."
        assert len(items[0].conversation) == 4
        assert items[1].question == "Compare and ."
        assert items[1].method.key == "mllm_distill"
        assert items[1].source_pair.image_count == 2
    # The same image lists in two datasets are the same source pairs.
    assert SourcePair.objects.count() == 2


def test_gmai_keeps_declared_sizes(tmp_path):
    records = [
        {
            "id": "gmai_ds_0001",
            "image": "images/a.png",
            "width": 512,
            "height": 480,
            "conversations": [
                {"from": "human", "value": "<image>Modality?"},
                {"from": "gpt", "value": "MRI"},
            ],
        }
    ]
    dataset_import(
        path=write_json(tmp_path / "g.json", records),
        dataset_name="G",
        method_key="llm_reformatted",
    )
    item = Item.objects.get()
    assert item.dataset.name == "G"
    assert item.external_id == "gmai_ds_0001"
    assert item.question == "Modality?"
    assert Dataset.objects.get(name="G").items.count() == 1


def test_generic_jsonl_with_column_map(tmp_path):
    path = tmp_path / "g.jsonl"
    path.write_text(
        json.dumps(
            {
                "uid": "x1",
                "img": ["images/a.png"],
                "q": "Q?",
                "a": "A.",
                "mod": "X-Ray",
                "part": "Hand",
                "cap": "Fig 1.",
            }
        )
        + "\n"
    )
    dataset_import(
        path=path,
        dataset_name="J",
        fmt="jsonl",
        method_key="native_caption",
        column_map={
            "id": "uid",
            "image": "img",
            "question": "q",
            "answer": "a",
            "modality": "mod",
            "body_part": "part",
            "caption": "cap",
        },
    )
    item = Item.objects.get()
    assert (item.external_id, item.question, item.answer) == ("x1", "Q?", "A.")
    assert (item.modality, item.body_part) == ("X-Ray", "Hand")
    assert item.source_pair.caption == "Fig 1."


def test_csv_with_multi_image_cells_and_method_column(tmp_path):
    path = tmp_path / "g.csv"
    path.write_text(
        "id,image,question,answer,method\n"
        'r1,images/a.png;images/b.png,"Is it, really?",Yes,mllm_distill\n'
        'r2,"[""images/c.png""]",Where?,Left,llm_reformatted\n',
        encoding="utf-8",
    )
    zip_path = write_zip(
        tmp_path / "i.zip",
        {f"images/{n}.png": png_bytes(colour=(i, 0, 0)) for i, n in enumerate("abc")},
    )
    summary = dataset_import(path=path, dataset_name="C", image_sources=[zip_path])
    assert summary.format == "csv"
    r1, r2 = Item.objects.order_by("record_index")
    assert r1.question == "Is it, really?" and r1.method.key == "mllm_distill"
    assert [link.path for link in r1.source_pair.images.all()] == ["images/a.png", "images/b.png"]
    assert r2.method.key == "llm_reformatted"
    assert Image.objects.count() == 3


def test_images_from_a_folder(tmp_path):
    folder = tmp_path / "unpacked" / "images"
    folder.mkdir(parents=True)
    (folder / "a.png").write_bytes(png_bytes())
    path = write_json(tmp_path / "d.json", [pmv_record("1", ["images/a.png"])])
    dataset_import(path=path, dataset_name="D", image_sources=[tmp_path / "unpacked"])
    dataset_import(path=path, dataset_name="E", image_sources=[folder])  # pointed at images/
    assert Image.objects.count() == 1
    assert Item.objects.count() == 2


def test_command_prints_summary_and_succeeds(pmv_files, capsys):
    call_command(
        "import_dataset",
        str(pmv_files["alignment"]),
        "--dataset",
        "PMV",
        "--images",
        str(pmv_files["images"]),
        "--no-progress",
    )
    out = capsys.readouterr().out
    assert "Imported into dataset 'PMV' (pubmedvision)" in out
    assert "items created" in out and "source pairs new" in out and "rejects" in out
    assert Item.objects.filter(kind="alignment").count() == 6
