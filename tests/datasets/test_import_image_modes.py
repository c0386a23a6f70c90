"""Importing images by hard link (--link) and in place (--in-place), and check_images."""

import errno
import os
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from audit.datasets import selectors
from audit.datasets.errors import ImportFailed
from audit.datasets.images import store_path
from audit.datasets.models import Image, Item
from audit.datasets.services import dataset_import
from tests.conftest import jpeg_bytes, pmv_record, png_bytes, store_files, write_json, write_zip
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def image_folder(base: Path, files: dict[str, bytes]) -> Path:
    """``base`` holding ``images/<name>`` for each file; returns ``base``."""
    (base / "images").mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (base / "images" / name).write_bytes(data)
    return base


def records_file(tmp_path: Path, names: list[str]) -> Path:
    return write_json(
        tmp_path / "d.json", [pmv_record(str(i), [f"images/{n}"]) for i, n in enumerate(names)]
    )


# --- --link --------------------------------------------------------------------------------


def test_link_on_the_same_filesystem_makes_hard_links(tmp_path):
    folder = image_folder(tmp_path / "src", {"a.png": png_bytes(), "b.jpg": jpeg_bytes()})
    summary = dataset_import(
        path=records_file(tmp_path, ["a.png", "b.jpg"]),
        dataset_name="D",
        image_sources=[folder],
        image_mode="link",
    )
    assert summary.images_stored == 2 and summary.images_linked == 2 and not summary.notes
    for name in ("a.png", "b.jpg"):
        source = folder / "images" / name
        image = Image.objects.get(size_bytes=source.stat().st_size)
        stored = store_path(image.sha256, image.format)
        assert stored.samefile(source) and os.stat(source).st_nlink == 2
        assert image.location == ""


def _other_filesystem(tmp_path: Path) -> Path | None:
    shm = Path("/dev/shm")
    if shm.is_dir() and os.access(shm, os.W_OK) and shm.stat().st_dev != tmp_path.stat().st_dev:
        return shm
    return None


def test_link_across_filesystems_copies_with_a_note(tmp_path, monkeypatch):
    other = _other_filesystem(tmp_path)
    if other is None:  # no second filesystem here: the kernel's answer, simulated
        real_link = os.link

        def cross_device(src, dst, *args, **kwargs):
            if str(dst).startswith(str(tmp_path / "store")):
                raise OSError(errno.EXDEV, os.strerror(errno.EXDEV))
            return real_link(src, dst, *args, **kwargs)

        monkeypatch.setattr(os, "link", cross_device)
        base = tmp_path / "src"
    else:
        base = other / f"audit-test-{os.getpid()}-{tmp_path.name}"
    try:
        folder = image_folder(base, {"a.png": png_bytes()})
        summary = dataset_import(
            path=records_file(tmp_path, ["a.png"]),
            dataset_name="D",
            image_sources=[folder],
            image_mode="link",
        )
        image = Image.objects.get()
        stored = store_path(image.sha256, image.format)
        assert stored.read_bytes() == png_bytes()
        assert not stored.samefile(folder / "images" / "a.png")
        assert summary.images_linked == 0
        assert summary.notes == [
            "--link: the images are on another filesystem than the image store "
            f"({os.strerror(errno.EXDEV)}): images were copied"
        ]
    finally:
        if other is not None:
            import shutil

            shutil.rmtree(base, ignore_errors=True)


def test_link_command_prints_the_fallback(tmp_path, monkeypatch):
    def refuse(*args, **kwargs):
        raise OSError(errno.EXDEV, os.strerror(errno.EXDEV))

    monkeypatch.setattr(os, "link", refuse)
    folder = image_folder(tmp_path / "src", {"a.png": png_bytes()})
    out = StringIO()
    call_command(
        "import_dataset",
        str(records_file(tmp_path, ["a.png"])),
        "--dataset",
        "D",
        "--images",
        str(folder),
        "--link",
        "--no-progress",
        stdout=out,
    )
    assert "note: --link: the images are on another filesystem" in out.getvalue()


def test_failed_link_import_removes_the_links_only(tmp_path):
    folder = image_folder(tmp_path / "src", {"a.png": png_bytes()})
    with pytest.raises(ImportFailed):
        dataset_import(
            path=records_file(tmp_path, ["a.png", "missing.png"]),
            dataset_name="D",
            image_sources=[folder],
            image_mode="link",
        )
    assert Image.objects.count() == 0 and Item.objects.count() == 0
    assert store_files_images(tmp_path) == []
    assert (folder / "images" / "a.png").read_bytes() == png_bytes()  # the source stays
    assert os.stat(folder / "images" / "a.png").st_nlink == 1


def store_files_images(tmp_path: Path) -> list[Path]:
    store = tmp_path / "store"
    return [p for p in store.rglob("*") if p.is_file()] if store.exists() else []


# --- --in-place ----------------------------------------------------------------------------


@pytest.fixture
def root(tmp_path, settings):
    path = tmp_path / "root"
    path.mkdir()
    settings.IMAGE_ROOTS = {"pmv": path}
    return path


def in_place(tmp_path, folder, names, owner=None):
    return dataset_import(
        path=records_file(tmp_path, names),
        dataset_name="D",
        image_sources=[folder],
        image_mode="in_place",
        owner=owner,
    )


def test_in_place_copies_nothing_and_serves_from_the_root(tmp_path, root, client, settings):
    folder = image_folder(root / "pubmedvision", {"a.png": png_bytes((40, 30))})
    owner = UserFactory(username="owner")
    summary = in_place(tmp_path, folder, ["a.png"], owner=owner)
    assert summary.images_stored == 1 and summary.image_mode == "in_place"
    image = Image.objects.get()
    assert image.location == "pmv/pubmedvision/images/a.png"
    assert store_files(settings) == []  # nothing copied or linked
    client.force_login(owner)
    response = client.get(selectors.image_url(image))
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == png_bytes((40, 30))


def test_in_place_needs_folders_inside_a_root(tmp_path, root):
    outside = image_folder(tmp_path / "elsewhere", {"a.png": png_bytes()})
    with pytest.raises(ImportFailed, match="not inside an image root"):
        in_place(tmp_path, outside, ["a.png"])
    archive = write_zip(root / "i.zip", {"images/a.png": png_bytes()})
    with pytest.raises(ImportFailed, match="not zips"):
        in_place(tmp_path, archive, ["a.png"])
    assert Image.objects.count() == 0


def test_in_place_refuses_symbolic_links_out_of_the_root(tmp_path, root):
    secret = tmp_path / "secret"
    secret.mkdir()
    (secret / "x.png").write_bytes(png_bytes())
    folder = image_folder(root / "data", {"a.png": png_bytes()})
    (folder / "images" / "link.png").symlink_to(secret / "x.png")  # a file link out
    (folder / "images" / "sub").symlink_to(secret)  # a folder link out
    for name in ("link.png", "sub/x.png"):
        with pytest.raises(ImportFailed) as failed:
            in_place(tmp_path, folder, [name])
        assert "resolves outside" in str(failed.value)
    with pytest.raises(ImportFailed, match=r"\.\."):
        in_place(tmp_path, folder, ["../../secret/x.png"])
    assert Image.objects.count() == 0


def test_in_place_link_inside_the_root_is_followed(tmp_path, root):
    folder = image_folder(root / "data", {"a.png": png_bytes()})
    (folder / "images" / "alias.png").symlink_to(folder / "images" / "a.png")
    in_place(tmp_path, folder, ["alias.png"])
    assert Image.objects.get().location == "pmv/data/images/a.png"


def test_missing_in_place_file_is_reported_by_check_images_and_the_view(tmp_path, root, client):
    folder = image_folder(root / "data", {"a.png": png_bytes(), "b.png": png_bytes((9, 9))})
    owner = UserFactory(username="owner")
    in_place(tmp_path, folder, ["a.png", "b.png"], owner=owner)
    (folder / "images" / "a.png").unlink()
    missing = Image.objects.get(location="pmv/data/images/a.png")

    out = StringIO()
    with pytest.raises(CommandError, match="1 image"):
        call_command("check_images", stdout=out)
    assert "pmv/data/images/a.png is missing from its image root" in out.getvalue()
    assert "2 images checked" in out.getvalue()

    client.force_login(owner)
    response = client.get(selectors.image_url(missing))
    assert response.status_code == 410
    assert "pmv/data/images/a.png is missing" in response.content.decode()
    assert client.get(selectors.image_url(missing, size=128)).status_code == 410
    # Someone allowed to see it but not the owner is told less (a path can name a dataset).
    from audit.datasets.selectors import IMAGE_ACCESS_RULES

    viewer = UserFactory(username="viewer")
    IMAGE_ACCESS_RULES.append(lambda user, image: user == viewer)
    try:
        client.force_login(viewer)
        response = client.get(selectors.image_url(missing))
        assert response.status_code == 410
        assert "pmv" not in response.content.decode()
    finally:
        IMAGE_ACCESS_RULES.pop()
    client.force_login(UserFactory(username="stranger"))
    assert client.get(selectors.image_url(missing)).status_code == 404


def test_check_images_finds_changed_files_by_size_and_by_hash(tmp_path, root):
    folder = image_folder(root / "data", {"a.png": png_bytes(), "b.png": png_bytes((9, 9))})
    in_place(tmp_path, folder, ["a.png", "b.png"])
    call_command("check_images", "--hash", stdout=StringIO())  # all fine: no error

    a = folder / "images" / "a.png"
    same_size = bytearray(a.read_bytes())
    same_size[-20] ^= 0xFF
    a.write_bytes(bytes(same_size))
    call_command("check_images", stdout=StringIO())  # the size alone does not see it
    out = StringIO()
    with pytest.raises(CommandError):
        call_command("check_images", "--hash", stdout=out)
    assert "pmv/data/images/a.png changed since the import (different content)" in out.getvalue()

    (folder / "images" / "b.png").write_bytes(png_bytes((9, 9)) + b"more")
    out = StringIO()
    with pytest.raises(CommandError, match="2 image"):
        call_command("check_images", "--hash", stdout=out)
    assert "pmv/data/images/b.png changed since the import" in out.getvalue()


def test_check_images_all_covers_the_store(tmp_path, settings):
    archive = write_zip(tmp_path / "i.zip", {"images/a.png": png_bytes()})
    dataset_import(
        path=records_file(tmp_path, ["a.png"]), dataset_name="D", image_sources=[archive]
    )
    call_command("check_images", stdout=StringIO())  # no in-place image: nothing to check
    image = Image.objects.get()
    store_path(image.sha256, image.format).unlink()
    out = StringIO()
    with pytest.raises(CommandError):
        call_command("check_images", "--all", stdout=out)
    assert "missing from the image store" in out.getvalue()


# --- The JPEG header fast path and the store's folders --------------------------------------


@pytest.mark.parametrize(
    ("mode", "size"), [("RGB", (64, 48)), ("L", (33, 17)), ("CMYK", (20, 10)), ("RGB", (7, 300))]
)
def test_jpeg_fast_probe_agrees_with_pillow(mode, size):
    import io

    from PIL import Image as PILImage

    from audit.datasets.images import _jpeg_size, probe_image

    for options in ({}, {"progressive": True}, {"exif": b"Exif\x00\x00MM\x00*\x00\x00\x00\x08"}):
        out = io.BytesIO()
        PILImage.new(mode, size).save(out, "JPEG", **options)
        data = out.getvalue()
        assert _jpeg_size(data) == size
        probed = probe_image(data)
        assert (probed.format, probed.width, probed.height) == ("JPEG", *size)


def test_jpeg_fast_probe_leaves_the_odd_cases_to_pillow(settings):
    from audit.datasets.images import ImageProblem, _jpeg_size, probe_image

    data = jpeg_bytes((300, 200))
    with pytest.raises(ImageProblem, match="truncated JPEG"):
        probe_image(data[:-200])
    settings.IMAGE_MAX_PIXELS = 10_000
    with pytest.raises(ImageProblem, match="decompression bomb"):
        probe_image(data)
    assert _jpeg_size(data[:40]) is None  # cut inside the headers
    assert _jpeg_size(b"\xff\xd8\xff\xda\x00\x02") is None  # a scan before any frame


def test_store_uses_one_folder_level_and_still_finds_two_level_files(tmp_path, settings):
    import hashlib

    old = png_bytes((5, 5))
    sha = hashlib.sha256(old).hexdigest()
    legacy = settings.IMAGE_STORE_DIR / sha[:2] / sha[2:4] / f"{sha}.png"
    legacy.parent.mkdir(parents=True)
    legacy.write_bytes(old)  # a store made before the change
    folder = image_folder(tmp_path / "src", {"old.png": old, "new.png": png_bytes((6, 6))})
    dataset_import(
        path=records_file(tmp_path, ["old.png", "new.png"]),
        dataset_name="D",
        image_sources=[folder],
    )
    files = store_files(settings)
    assert f"{sha[:2]}/{sha[2:4]}/{sha}.png" in files  # not stored twice
    assert f"{sha[:2]}/{sha}.png" not in files
    new = Image.objects.get(width=6)
    assert f"{new.sha256[:2]}/{new.sha256}.png" in files
    assert store_path(sha, "PNG") == legacy
