"""Every kind of bad input gets a clear error naming the record, its id and the field, and a
failed import leaves the database and the image store exactly as they were."""

import json
import zipfile

import pytest
from django.core.management import CommandError, call_command
from PIL import Image as PILImage

from audit.datasets.errors import ImportFailed
from audit.datasets.models import Item
from audit.datasets.services import dataset_import
from tests.conftest import (
    jpeg_bytes,
    pmv_record,
    png_bytes,
    store_files,
    table_counts,
    write_json,
    write_zip,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def existing(tmp_path, settings):
    """A dataset already imported, with images, that a failed import must not disturb."""
    images = write_zip(tmp_path / "ok.zip", {"images/ok.png": png_bytes()})
    path = write_json(tmp_path / "ok.json", [pmv_record("ok", ["images/ok.png"])])
    dataset_import(path=path, dataset_name="D", image_sources=[images])
    return table_counts(), store_files(settings)


def fails(settings, existing, path, **kwargs) -> ImportFailed:
    kwargs.setdefault("dataset_name", "D")
    with pytest.raises(ImportFailed) as info:
        dataset_import(path=path, **kwargs)
    assert table_counts() == existing[0], "the failed import left rows behind"
    assert store_files(settings) == existing[1], "the failed import left files behind"
    return info.value


def good_zip(tmp_path, **extra):
    members = {"images/a.png": png_bytes(colour=(9, 9, 9)), **extra}
    return write_zip(tmp_path / "imgs.zip", members)


def test_malformed_json_names_the_record(tmp_path, settings, existing):
    path = tmp_path / "bad.json"
    good = json.dumps(pmv_record("1", ["images/a.png"]))
    path.write_text(f"[{good}, {good[:-1]} {{]")
    err = fails(settings, existing, path, fmt="pubmedvision")
    assert err.problems[0].record == 2
    assert "invalid JSON" in str(err)


def test_truncated_json_file(tmp_path, settings, existing):
    path = tmp_path / "cut.json"
    path.write_text(json.dumps([pmv_record("1", ["images/a.png"])] * 3)[:-40])
    err = fails(settings, existing, path, fmt="pubmedvision")
    assert "invalid JSON" in str(err) and err.problems[0].record == 3


def test_top_level_must_be_an_array(tmp_path, settings, existing):
    path = write_json(tmp_path / "obj.json", {"data": []})
    err = fails(settings, existing, path, fmt="pubmedvision")
    assert "expected a JSON array of records" in str(err)


def test_not_utf8(tmp_path, settings, existing):
    path = tmp_path / "latin1.json"
    record = pmv_record("1", ["images/a.png"], answer="Läsion")
    path.write_bytes(json.dumps([record], ensure_ascii=False).encode("latin-1"))
    err = fails(settings, existing, path, fmt="pubmedvision")
    assert "UTF-8" in str(err)


@pytest.mark.parametrize(
    ("mutate", "field", "message"),
    [
        (lambda r: r.pop("conversations"), "conversations", "is missing"),
        (lambda r: r.update(conversations=[]), "conversations", "is empty"),
        (lambda r: r.update(conversations="hi"), "conversations", "expected a list"),
        (lambda r: r["conversations"][1].update(value=42), "value", "expected a string"),
        (lambda r: r["conversations"].pop(1), "conversations", "no 'gpt' turn"),
        (lambda r: r.update(image=[]), "image", "at least one image"),
        (lambda r: r.update(image=[3]), "image[0]", "path string"),
        (lambda r: r.update(modality=["CT"]), "modality", "expected a string"),
        (lambda r: r.update(image=["../../etc/passwd"]), "image[0]", "escapes the image root"),
        (lambda r: r.update(image=["/etc/passwd"]), "image[0]", "absolute path"),
        (lambda r: r["conversations"][1].update(value="x" * 300_000), "value", "more than"),
    ],
)
def test_bad_record_is_named_by_position_id_and_field(
    tmp_path, settings, existing, mutate, field, message
):
    bad = pmv_record("bad-7", ["images/a.png"])
    mutate(bad)
    path = write_json(tmp_path / "d.json", [pmv_record("1", ["images/a.png"]), bad])
    err = fails(settings, existing, path, fmt="pubmedvision", image_sources=[good_zip(tmp_path)])
    problem = err.problems[0]
    assert (problem.record, problem.record_id) == (2, "bad-7")
    assert problem.field == field
    assert message in problem.message
    assert "record #2 (id 'bad-7')" in str(err)


def test_record_that_is_not_an_object(tmp_path, settings, existing):
    path = write_json(tmp_path / "d.json", [pmv_record("1", ["images/a.png"]), [1, 2]])
    err = fails(settings, existing, path, fmt="pubmedvision")
    assert err.problems[0].record == 2 and "expected a JSON object" in str(err)


def test_missing_image(tmp_path, settings, existing):
    path = write_json(tmp_path / "d.json", [pmv_record("m1", ["images/a.png", "images/nope.png"])])
    err = fails(settings, existing, path, image_sources=[good_zip(tmp_path)])
    assert err.problems[0].field == "image[1]"
    assert "'images/nope.png'" in str(err) and "not found" in str(err)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"this is not an image at all", "not an image"),
        (png_bytes()[:-30], "corrupt or truncated"),
        (jpeg_bytes((300, 300))[:-200], "truncated JPEG"),
        (b"%PDF-1.4 fake", "not an image"),
    ],
)
def test_corrupt_truncated_and_unsupported_images(tmp_path, settings, existing, data, message):
    zip_path = good_zip(tmp_path, **{"images/bad.png": data})
    path = write_json(tmp_path / "d.json", [pmv_record("c1", ["images/a.png", "images/bad.png"])])
    err = fails(settings, existing, path, image_sources=[zip_path])
    assert err.problems[0].field == "image[1]"
    assert message in str(err)


def test_unsupported_image_format(tmp_path, settings, existing):
    import io

    out = io.BytesIO()
    PILImage.new("RGB", (16, 16)).save(out, "ICO")
    zip_path = good_zip(tmp_path, **{"images/x.ico": out.getvalue()})
    path = write_json(tmp_path / "d.json", [pmv_record("i1", ["images/x.ico"])])
    err = fails(settings, existing, path, image_sources=[zip_path])
    assert "unsupported image format ICO" in str(err)


def test_decompression_bomb(tmp_path, settings, existing):
    settings.IMAGE_MAX_PIXELS = 10_000
    zip_path = good_zip(tmp_path, **{"images/big.png": png_bytes((400, 400))})
    path = write_json(tmp_path / "d.json", [pmv_record("b1", ["images/big.png"])])
    err = fails(settings, existing, path, image_sources=[zip_path])
    assert "decompression bomb" in str(err)


def test_image_over_the_byte_limit(tmp_path, settings, existing):
    settings.IMAGE_MAX_BYTES = 100
    path = write_json(tmp_path / "d.json", [pmv_record("b1", ["images/a.png"])])
    err = fails(settings, existing, path, image_sources=[good_zip(tmp_path)])
    assert "allowed" in str(err)


def test_hostile_zip_member_names(tmp_path, settings, existing):
    zip_path = tmp_path / "hostile.zip"
    with zipfile.ZipFile(zip_path, "w") as zf:
        zf.writestr("images/a.png", png_bytes())
        zf.writestr("../../evil.png", png_bytes())
        zf.writestr("/abs/evil.png", png_bytes())
        link = zipfile.ZipInfo("images/link.png")
        link.external_attr = 0o120777 << 16
        zf.writestr(link, "/etc/passwd")
    path = write_json(tmp_path / "d.json", [pmv_record("z1", ["images/a.png"])])
    err = fails(settings, existing, path, image_sources=[zip_path])
    text = "\n".join(str(p) for p in err.problems)
    assert "'../../evil.png'" in text and "escapes the image root" in text
    assert "'/abs/evil.png'" in text and "absolute path" in text
    assert "'images/link.png' is a symbolic link" in text
    assert not (tmp_path.parent / "evil.png").exists()


def test_symlink_in_image_folder_cannot_escape(tmp_path, settings, existing):
    folder = tmp_path / "imgs" / "images"
    folder.mkdir(parents=True)
    secret = tmp_path / "secret.png"
    secret.write_bytes(png_bytes())
    (folder / "a.png").symlink_to(secret)
    path = write_json(tmp_path / "d.json", [pmv_record("s1", ["images/a.png"])])
    err = fails(settings, existing, path, image_sources=[tmp_path / "imgs"])
    assert "outside the image folder" in str(err)


def test_unsupported_format_and_unknown_method(tmp_path, settings, existing):
    path = write_json(tmp_path / "d.json", [pmv_record("1", ["images/a.png"])])
    assert "unsupported format 'xml'" in str(fails(settings, existing, path, fmt="xml"))
    err = fails(settings, existing, path, fmt="llava", method_key="gpt9_magic")
    assert "unknown method 'gpt9_magic'" in str(err)
    assert "needs a method" in str(fails(settings, existing, path, fmt="llava"))


def test_failure_after_images_were_stored_removes_them(tmp_path, settings, existing):
    zip_path = good_zip(tmp_path, **{"images/b.png": png_bytes(colour=(1, 1, 1))})
    records = [
        pmv_record("1", ["images/a.png"]),
        pmv_record("2", ["images/b.png"]),
        pmv_record("3", ["images/missing.png"]),
    ]
    err = fails(
        settings, existing, write_json(tmp_path / "d.json", records), image_sources=[zip_path]
    )
    assert err.problems[0].record == 3


def test_storage_error_fails_cleanly(tmp_path, settings, existing, monkeypatch):
    from audit.datasets import images

    calls = {"n": 0}
    real_put = images.ImageStoreWriter.put

    def put_then_disk_full(self, probed, data):
        calls["n"] += 1
        if calls["n"] > 1:
            raise OSError(28, "No space left on device")
        return real_put(self, probed, data)

    monkeypatch.setattr(images.ImageStoreWriter, "put", put_then_disk_full)
    zip_path = good_zip(tmp_path, **{"images/b.png": png_bytes(colour=(1, 1, 1))})
    records = [pmv_record("1", ["images/a.png"]), pmv_record("2", ["images/b.png"])]
    err = fails(
        settings, existing, write_json(tmp_path / "d.json", records), image_sources=[zip_path]
    )
    assert "No space left on device" in str(err)


def test_many_problems_are_all_reported(tmp_path, settings, existing):
    records = [pmv_record(str(i), ["images/a.png"]) for i in range(10)]
    for i in (2, 5, 8):
        records[i]["conversations"] = []
    err = fails(settings, existing, write_json(tmp_path / "d.json", records))
    assert [p.record for p in err.problems] == [3, 6, 9]


def test_skip_invalid_imports_the_rest_and_writes_rejects(tmp_path, settings, existing):
    records = [pmv_record(str(i), ["images/a.png"]) for i in range(5)]
    records[1]["conversations"] = []
    records[3]["image"] = ["../x.png"]
    rejects = tmp_path / "rejects.jsonl"
    summary = dataset_import(
        path=write_json(tmp_path / "d.json", records),
        dataset_name="D",
        skip_invalid=True,
        rejects_path=rejects,
    )
    assert summary.items_created == 3 and summary.rejects == 2
    lines = [json.loads(line) for line in rejects.read_text().splitlines()]
    assert [(r["record"], r["id"], r["field"]) for r in lines] == [
        (2, "1", "conversations"),
        (4, "3", "image[0]"),
    ]
    assert Item.objects.filter(dataset__name="D").count() == 1 + 3


def test_jsonl_bad_line_can_be_skipped(tmp_path):
    path = tmp_path / "d.jsonl"
    good = json.dumps(pmv_record("1", ["images/a.png"]))
    path.write_text(f"{good}\n{{not json\n{good.replace('A lesion', 'B')}\n")
    summary = dataset_import(
        path=path,
        dataset_name="J",
        fmt="pubmedvision",
        skip_invalid=True,
        rejects_path=tmp_path / "r.jsonl",
    )
    assert (summary.items_created, summary.rejects) == (2, 1)
    assert "invalid JSON" in summary.problems[0]["error"] and summary.problems[0]["record"] == 2


def test_empty_file(tmp_path, settings, existing):
    path = tmp_path / "empty.json"
    path.write_text("[]")
    assert "no records" in str(fails(settings, existing, path))


def test_command_exit_code_and_message(tmp_path, capsys):
    path = write_json(tmp_path / "d.json", [pmv_record("q", ["images/a.png"])])
    (tmp_path / "d.json").write_text(path.read_text().replace('"gpt"', '"nobody"'))
    with pytest.raises(CommandError):
        call_command("import_dataset", str(path), "--dataset", "X", "--no-progress")
    err = capsys.readouterr().err
    assert "Import failed; nothing was imported." in err
    assert "record #1 (id 'q'): conversations: has no 'gpt' turn" in err
