"""The analysis page after an incremental run, in a real browser at 1280x720: the note saying
where the kept bootstrap intervals come from sits under the snapshot's header, above the
figures (screenshot analysis-kept-intervals)."""

import pytest

from audit.reports.analysis.services import analyse_campaign
from tests.browser.test_owner_pages import site_login
from tests.factories import PASSWORD
from tests.reports.analysis.test_incremental import rate_some

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_owner_reads_where_kept_intervals_come_from(
    page, live_server, launched_campaign, settings, screenshot
):
    settings.ANALYSIS_INTERVAL_REFRESH_SHARE = 0.5
    campaign, owner, _experts = launched_campaign
    rate_some(campaign, 0, 60)
    analyse_campaign(campaign=campaign, trigger="manual", n_resamples=50)
    rate_some(campaign, 60, 63, seed=6)
    analyse_campaign(campaign=campaign, trigger="ratings", n_resamples=50, incremental=True)
    page.set_viewport_size({"width": 1280, "height": 720})
    site_login(page, live_server, owner.username, PASSWORD,
               next_url=f"/reports/campaigns/{campaign.public_id}/analysis/")  # fmt: skip
    note = page.locator("#interval-basis")
    assert note.is_visible()
    text = note.inner_text()
    assert "from the analysis of 60 ratings at" in text and "+5.0 %" in text
    box = note.bounding_box()
    assert box["y"] + box["height"] <= 720  # in the first screen, under the snapshot's header
    screenshot("analysis-kept-intervals")
