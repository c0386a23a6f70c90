"""An image whose file names its method, dataset and model in EXIF, a JPEG comment and XMP is
imported for real and served (as to every user who may see it, experts included): neither the
image nor its thumbnails carry any of it, and the pixels are the original's."""

import io

import pytest
from django.test import Client
from PIL import Image as PILImage

from audit.datasets.images import store_path
from audit.datasets.models import Image
from audit.datasets.selectors import image_url
from audit.datasets.services import dataset_import
from tests.conftest import pmv_record, write_json, write_zip
from tests.datasets.test_clean_images import SECRET, jpeg_with_metadata
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def tagged(tmp_path):
    owner = UserFactory(username="owner")
    data = jpeg_with_metadata()
    images = write_zip(tmp_path / "i.zip", {"images/x.jpg": data})
    path = write_json(tmp_path / "d.json", [pmv_record("1", ["images/x.jpg"])])
    dataset_import(path=path, dataset_name="D", image_sources=[images], owner=owner)
    client = Client()
    client.force_login(owner)
    return client, Image.objects.get(), data


def served(client, url) -> bytes:
    response = client.get(url)
    assert response.status_code == 200, url
    return b"".join(response.streaming_content)


def test_no_metadata_reaches_the_browser(tagged, settings):
    client, image, original = tagged
    assert store_path(image.sha256, image.format).read_bytes() == original  # the store keeps it
    full = served(client, image_url(image))
    assert SECRET.encode() not in full and b"PubMedVision" not in full
    with PILImage.open(io.BytesIO(full)) as a, PILImage.open(io.BytesIO(original)) as b:
        assert a.tobytes() == b.tobytes()
    for size in settings.IMAGE_THUMBNAIL_SIZES:
        thumb = served(client, image_url(image, size=size))
        assert SECRET.encode() not in thumb and b"PubMedVision" not in thumb


def test_a_huge_image_is_not_decoded_for_a_thumbnail(tagged, settings):
    client, image, _ = tagged
    settings.IMAGE_THUMBNAIL_MAX_PIXELS = 10  # every image counts as huge
    body = served(client, image_url(image, size=128))
    with PILImage.open(io.BytesIO(body)) as im:
        assert im.size == (32, 24)  # the whole (clean) image, no thumbnail decoded
    assert SECRET.encode() not in body
