"""The owner's preview in a real browser: the Preview tab opens the experts' rating page for the
first item, its image loads, keys score as for an expert, the page says nothing is saved, and
nothing is; the next item follows."""

import pytest

from annotations.models import Rating
from tests.browser.test_owner_pages import site_login
from tests.factories import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_owner_previews_items_as_experts_see_them(page, live_server, launched_campaign,
                                                  screenshot):  # fmt: skip
    campaign, owner, _experts = launched_campaign
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda m: m.type == "error" and errors.append(m.text))
    page.set_viewport_size({"width": 1280, "height": 720})
    site_login(page, live_server, owner.username, PASSWORD,
               next_url=f"/campaigns/{campaign.public_id}/")  # fmt: skip
    with page.expect_navigation():
        page.click("nav.campaign-nav >> text=Preview")
    assert page.locator("#preview-notice").is_visible()
    page.locator(".viewer img").first.wait_for()
    page.wait_for_function("document.querySelector('.viewer img').naturalWidth > 0")
    assert page.evaluate("document.getElementById('rating-fields').disabled")
    page.keyboard.press("4")
    screenshot("preview")
    with page.expect_navigation():
        page.click("#preview-notice >> text=Next")
    assert "item 2 of" in page.inner_text(".position")
    assert not errors, errors
    assert not Rating.objects.exists()
