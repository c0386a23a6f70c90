"""Images are served only to signed-in users allowed to see them, under opaque expiring URLs."""

import pytest
from django.core import signing

from audit.datasets import selectors
from audit.datasets.models import Image
from audit.datasets.services import dataset_import
from tests.conftest import pmv_record, png_bytes, write_json, write_zip
from tests.factories import StaffFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def owned_image(tmp_path):
    owner = UserFactory(username="owner")
    images = write_zip(tmp_path / "i.zip", {"images/scan_patient_42.png": png_bytes((600, 400))})
    path = write_json(tmp_path / "d.json", [pmv_record("1", ["images/scan_patient_42.png"])])
    dataset_import(path=path, dataset_name="D", image_sources=[images], owner=owner)
    return owner, Image.objects.get()


def test_url_is_opaque(owned_image):
    _, image = owned_image
    url = selectors.image_url(image)
    assert "scan_patient_42" not in url and image.sha256 not in url
    # The only handle is the random public id, signed with a timestamp.
    assert url.startswith(f"/images/{image.public_id.hex}:")


def test_owner_and_staff_get_the_image(client, owned_image):
    owner, image = owned_image
    for user in (owner, StaffFactory()):
        client.force_login(user)
        response = client.get(selectors.image_url(image))
        assert response.status_code == 200
        assert response["Content-Type"] == "image/png"
        assert b"".join(response.streaming_content) == png_bytes((600, 400))
        assert "private" in response["Cache-Control"]


def test_anonymous_is_sent_to_login(client, owned_image):
    response = client.get(selectors.image_url(owned_image[1]))
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_other_users_get_404(client, owned_image):
    client.force_login(UserFactory(username="stranger"))
    assert client.get(selectors.image_url(owned_image[1])).status_code == 404


def test_tampered_and_expired_links_get_404(client, owned_image, settings):
    owner, image = owned_image
    client.force_login(owner)
    url = selectors.image_url(image)
    assert client.get(url.replace("/images/", "/images/x")).status_code == 404
    forged = signing.TimestampSigner(salt="other").sign(image.public_id.hex)
    assert client.get(f"/images/{forged}/").status_code == 404
    settings.IMAGE_URL_MAX_AGE = -1
    assert client.get(url).status_code == 404


def test_thumbnail_made_on_demand_and_cached(client, owned_image, settings):
    from PIL import Image as PILImage

    owner, image = owned_image
    client.force_login(owner)
    response = client.get(selectors.image_url(image, size=256))
    assert response.status_code == 200 and response["Content-Type"] == "image/jpeg"
    import io

    thumb = PILImage.open(io.BytesIO(b"".join(response.streaming_content)))
    assert max(thumb.size) == 256
    cached = list((settings.IMAGE_STORE_DIR / "thumbs").rglob("*.jpg"))
    assert len(cached) == 1
    client.get(selectors.image_url(image, size=256))
    assert list((settings.IMAGE_STORE_DIR / "thumbs").rglob("*.jpg")) == cached
    assert client.get(selectors.image_url(image) + "?size=999").status_code == 404
