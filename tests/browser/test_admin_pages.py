"""The Django admin, in a real browser: a staff user browses datasets, items with their
images, source pairs and methods, filters, and queues an import."""

import json

import pytest

from audit.datasets.models import Item
from audit.datasets.services import dataset_import
from audit.site.demo import ensure_accounts
from tests.browser.conftest import login

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
]


@pytest.fixture
def demo_data(pmv_files):
    ensure_accounts()
    for key in ("caption", "alignment", "instruction"):
        dataset_import(path=pmv_files[key], dataset_name="PMV", image_sources=[pmv_files["images"]])
    return pmv_files


def test_staff_browses_items_with_images_and_filters(page, live_server, demo_data, screenshot):
    login(page, live_server, "admin", "admin-demo-pass")
    page.wait_for_selector("text=Site administration")
    for model in ("dataset", "item", "sourcepair", "method", "image", "importjob"):
        response = page.goto(f"{live_server.url}/admin/datasets/{model}/")
        assert response.status == 200, model
        assert page.locator("#changelist, #content-main").count() > 0

    page.goto(f"{live_server.url}/admin/datasets/item/")
    modality = json.loads(demo_data["alignment"].read_text())[0]["modality"]
    with page.expect_navigation():
        page.click(f"#changelist-filter a:has-text('{modality}')")
    rows = page.locator("#result_list tbody tr")
    expected = Item.objects.filter(modality=modality).count()
    assert rows.count() == expected > 0
    screenshot("admin-items")

    item = Item.objects.filter(kind="alignment").first()
    page.goto(f"{live_server.url}/admin/datasets/item/{item.pk}/change/")
    images = page.locator(".field-images_preview img")
    assert images.count() == item.source_pair.image_count
    images.first.wait_for()
    page.wait_for_function(
        "Array.from(document.querySelectorAll('.field-images_preview img'))"
        ".every(img => img.complete && img.naturalWidth > 0)"
    )
    assert item.answer[:40] in page.content()
    screenshot("admin-item")


def test_owner_queues_an_import_from_the_admin(page, live_server, demo_data, screenshot):
    ensure_accounts()
    login(page, live_server, "owner", "owner-demo-pass")
    page.goto(f"{live_server.url}/admin/datasets/importjob/add/")
    page.set_input_files("#id_file", str(demo_data["alignment"]))
    page.set_input_files("#id_images", str(demo_data["images"]))
    page.fill("#id_dataset", "Uploaded PMV")
    screenshot("admin-import-form")
    with page.expect_navigation():
        page.click("input[name=_import]")
    page.wait_for_selector("text=queued")
    assert "Import job" in page.content()
    screenshot("admin-import-job")


def test_expert_cannot_use_the_admin(page, live_server, db):
    ensure_accounts()
    login(page, live_server, "expert1", "expert1-demo-pass")
    assert "admin/login" in page.url
    assert page.locator(".errornote").count() == 1
