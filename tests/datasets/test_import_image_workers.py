"""The import's image work in forked worker processes (the default) and in threads gives the
same dataset and store; a failure inside a worker process still leaves nothing behind; and a
daemonic parent (a Celery prefork worker) may still fork them."""

import multiprocessing

import pytest
from django.db import transaction

from audit.datasets.errors import ImportFailed
from audit.datasets.images import ImageSources, ImageStoreWriter
from audit.datasets.importers.pipeline import ImageResolver, ImportSummary
from audit.datasets.models import Image, SourcePairImage
from audit.datasets.services import dataset_import
from tests.conftest import jpeg_bytes, pmv_record, png_bytes, store_files, table_counts, write_json

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _processes_for_any_size(settings):
    settings.IMPORT_IMAGE_PROCESSES_FROM_BYTES = 0  # these imports are small


def _images(tmp_path, count: int):
    folder = tmp_path / "src"
    (folder / "images").mkdir(parents=True)
    for n in range(count):
        data = png_bytes(colour=(n, 255 - n, 7)) if n % 2 else jpeg_bytes(colour=(n, 3, 200))
        (folder / "images" / f"{n}.img").write_bytes(data)
    # Records naming 1-3 images each, some shared, one name twice within a record.
    records = [
        pmv_record(str(r), [f"images/{(r * 7 + k) % count}.img" for k in range(1 + r % 3)])
        for r in range(count)
    ]
    return folder, write_json(tmp_path / "d.json", records)


def _imported(settings) -> tuple:
    images = sorted(Image.objects.values_list("sha256", "format", "width", "height", "size_bytes"))
    links = sorted(
        SourcePairImage.objects.values_list("source_pair__source_ref", "position", "image__sha256")
    )
    return images, links, store_files(settings)


def test_processes_and_threads_give_the_same_import(tmp_path, settings):
    folder, records = _images(tmp_path, 150)
    results = []
    for processes in (3, 0):
        settings.IMPORT_IMAGE_PROCESSES = processes
        settings.IMAGE_STORE_DIR = tmp_path / f"store{processes}"  # each run from empty
        with transaction.atomic():
            summary = dataset_import(path=records, dataset_name="D", image_sources=[folder])
            assert summary.items_created == 150
            results.append((summary.images_stored, summary.images_reused, *_imported(settings)))
            transaction.set_rollback(True)
    assert results[0] == results[1]
    # Every distinct content stored once (a few JPEGs of near colours come out identical).
    assert results[0][0] == len(results[0][2]) > 140


@pytest.mark.parametrize("processes", [3, 0])
def test_a_worker_failure_takes_back_every_file_stored(tmp_path, settings, monkeypatch, processes):
    from audit.datasets import images

    settings.IMPORT_IMAGE_PROCESSES = processes
    real_put, calls = images.ImageStoreWriter.put, {"n": 0}

    def put_then_disk_full(self, probed, data):  # each worker process counts its own
        calls["n"] += 1
        if calls["n"] > 20:
            raise OSError(28, "No space left on device")
        return real_put(self, probed, data)

    monkeypatch.setattr(images.ImageStoreWriter, "put", put_then_disk_full)
    folder, records = _images(tmp_path, 200)
    before = table_counts(), store_files(settings)
    with pytest.raises(ImportFailed, match="No space left on device"):
        dataset_import(path=records, dataset_name="D", image_sources=[folder])
    assert (table_counts(), store_files(settings)) == before


def test_a_daemonic_parent_still_forks_image_workers(tmp_path, monkeypatch):
    (tmp_path / "a.png").write_bytes(png_bytes())
    config = multiprocessing.current_process()._config
    monkeypatch.setitem(config, "daemon", True)  # as in a Celery prefork worker
    resolver = ImageResolver(
        ImageSources([tmp_path]), ImageStoreWriter(), ImportSummary(dataset="D", format="f"),
        writer=None, processes=2,
    )  # fmt: skip
    try:
        assert resolver.processes == 2
    finally:
        resolver.close()
    assert config["daemon"] is True


def test_prefetch_is_only_a_hint(tmp_path):
    """Asking the kernel to read ahead never fails, never blocks and changes nothing: missing
    paths, a FIFO (opening one for reading would wait for a writer), escapes, zip members."""
    import os
    import zipfile

    folder = tmp_path / "src"
    (folder / "images").mkdir(parents=True)
    (folder / "images" / "a.png").write_bytes(png_bytes())
    os.mkfifo(folder / "images" / "pipe.png")
    archive = tmp_path / "z.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("images/b.jpg", jpeg_bytes())
    sources = ImageSources([folder, archive])
    sources.prefetch(["images/a.png", "images/pipe.png", "images/missing.png", "../etc/passwd",
                      "images/b.jpg", "b.jpg", "a.png"])  # fmt: skip
    assert sources.locate("images/a.png")[0] == png_bytes()
    assert sources.locate("images/b.jpg")[0] == jpeg_bytes()


def test_the_heap_is_frozen_during_an_import_only(tmp_path, settings, monkeypatch):
    """Existing objects are left out of the garbage collector while an import runs (and its
    workers fork), and put back afterwards, also when it fails; an outer freeze is kept."""
    import gc

    from audit.datasets.importers import pipeline

    folder, records = _images(tmp_path, 20)
    seen = []
    resolve = pipeline.ImageResolver.resolve_chunk

    def resolve_and_look(self, chunk):
        seen.append(gc.get_freeze_count())
        return resolve(self, chunk)

    monkeypatch.setattr(pipeline.ImageResolver, "resolve_chunk", resolve_and_look)
    assert gc.get_freeze_count() == 0
    dataset_import(path=records, dataset_name="D", image_sources=[folder])
    assert seen and min(seen) > 0
    assert gc.get_freeze_count() == 0
    gc.freeze()
    try:
        dataset_import(path=records, dataset_name="F", image_sources=[folder])
        assert gc.get_freeze_count() > 0  # still frozen (less what was freed meanwhile)
    finally:
        gc.unfreeze()
    # A failure inside the import (a record's image missing from the folder).
    (folder / "images" / "0.img").unlink()
    seen.clear()
    with pytest.raises(ImportFailed):
        dataset_import(path=records, dataset_name="E", image_sources=[folder])
    assert seen and min(seen) > 0
    assert gc.get_freeze_count() == 0
