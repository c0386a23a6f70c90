"""Adjudication in a real browser: the owner opens the disputed items from the campaign's tab,
reads an item's ratings beside its image, excludes it, and the audited dataset exported from
the Exports tab (a real worker on the io queue) no longer holds it."""

import pandas as pd
import pytest

from audit.reports.adjudication.models import Decision
from tests.browser.test_export_tab import io_worker  # noqa: F401  (the fixture)
from tests.browser.test_owner_pages import site_login
from tests.factories import PASSWORD
from tests.reports.conftest import rate_all

pytestmark = [pytest.mark.browser, pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def test_owner_excludes_a_disputed_item_and_the_export_follows(
    page,
    live_server,
    launched_campaign,
    io_worker,  # noqa: F811
    screenshot,
):
    campaign, owner, _experts = launched_campaign
    rate_all(campaign, seed=11)
    page.set_viewport_size({"width": 1280, "height": 720})
    site_login(page, live_server, owner.username, PASSWORD,
               next_url=f"/campaigns/{campaign.public_id}/")  # fmt: skip
    with page.expect_navigation():
        page.click("nav.campaign-nav >> text=Adjudication")
    first = page.locator("table.adjudication-queue tbody tr").first
    campaign_item_id = int(first.get_attribute("data-campaign-item"))
    with page.expect_navigation():
        first.locator("a").click()
    page.locator("img.adjudication-image").first.wait_for()
    assert page.evaluate("document.querySelector('img.adjudication-image').naturalWidth") > 0
    assert page.locator("table.ratings tbody tr").count() >= 2
    page.check("#decision-form input[name=outcome][value=exclude]")
    page.fill("#decision-form textarea[name=note]", "The answer describes another image.")
    with page.expect_navigation():
        page.click("#decision-form button[type=submit]")
    assert "Decision recorded" in page.inner_text(".messages")
    screenshot("adjudication-item")
    decision = Decision.objects.get(campaign_item_id=campaign_item_id)
    assert decision.outcome == "exclude" and decision.decided_by == owner
    # The audited dataset, exported from the campaign's Exports tab.
    with page.expect_navigation():
        page.click("nav.campaign-nav >> text=Exports")
    page.select_option("#dataset-form select[name=format]", "parquet")
    with page.expect_navigation():
        page.click("#dataset-form button[type=submit]")
    link = page.locator("#history tr[data-job] .job-file a")
    link.wait_for(timeout=60_000)
    with page.expect_download() as download:
        link.first.click()
    table = pd.read_parquet(download.value.path())
    assert decision.item_id not in set(table["item_id"])
    assert len(table) == campaign.datasets.get().items.count() - 1
