"""The dataset browser in a real browser: the owner opens it from the navigation, picks a
dataset, filters by method and modality, and the thumbnails load through the permission-checked
image view."""

import pytest

from tests.factories import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LOADED_IMAGES = "[...document.querySelectorAll('#items img')].filter(i => i.naturalWidth > 0)"


def test_owner_browses_and_filters_a_dataset(page, live_server, rated_dataset, screenshot):
    page.set_viewport_size({"width": 1280, "height": 720})
    # An owner with a dataset and no campaign yet: the regeneration page is theirs to start on.
    page.goto(f"{live_server.url}/accounts/login/?next=/regeneration/")
    page.fill("#id_username", rated_dataset.owner.username)
    page.fill("#id_password", PASSWORD)
    with page.expect_navigation():
        page.click("main form button[type=submit]")
    with page.expect_navigation():
        page.click("header nav >> text=Datasets")
    assert page.locator("header nav a[aria-current=page]").inner_text() == "Datasets"
    with page.expect_navigation():
        page.click(f"#datasets >> text={rated_dataset.name}")

    shown = page.locator("#items li[data-item]")
    assert shown.count() == rated_dataset.items.count()

    item = rated_dataset.items.exclude(modality="").order_by("pk").first()
    page.select_option("#filters select[name=modality]", item.modality)
    with page.expect_navigation():
        page.click("#filters button[type=submit]")
    assert shown.count() == rated_dataset.items.filter(modality=item.modality).count()
    assert set(shown.locator(".modality").all_inner_texts()) == {item.modality}
    # Every thumbnail is fetched and decoded (a refused or broken image has no natural width).
    images = shown.locator("img")
    assert images.count() == shown.count()
    page.wait_for_function(f"{LOADED_IMAGES}.length === {images.count()}")
    screenshot("dataset-browser")
    # A long answer opens in place.
    long_answer = page.locator("#items details.answer").first
    short_height = long_answer.bounding_box()["height"]
    long_answer.locator("summary").click()
    assert long_answer.get_attribute("open") is not None
    assert long_answer.bounding_box()["height"] > short_height

    # The filters stay set; adding the method narrows further.
    page.select_option("#filters select[name=method]", item.method.key)
    with page.expect_navigation():
        page.click("#filters button[type=submit]")
    expected = rated_dataset.items.filter(method=item.method, modality=item.modality)
    assert shown.count() == expected.count() > 0
    assert set(shown.locator(".method").all_inner_texts()) == {item.method.name}
