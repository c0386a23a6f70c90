"""The judge pre-screen in a real browser: the owner opens a finished dataset judge run (scored
by the STUB model server), sees the items per score band, fills in the bands, rates, n and seed,
and lands on the draft campaign, whose page shows the pre-screen design."""

import pytest

from audit.campaigns.models import Campaign
from audit.regeneration.backends import get_backend
from audit.regeneration.judge import judge_run_create, judge_run_execute
from tests.browser.test_owner_pages import site_login
from tests.factories import PASSWORD
from tests.regeneration.test_prescreen import judge_stub  # noqa: F401 (a fixture)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_owner_creates_a_pre_screened_campaign(page, live_server, rated_dataset, judge_stub,  # noqa: F811
                                               screenshot):  # fmt: skip
    owner = rated_dataset.owner
    run = judge_run_create(dataset=rated_dataset, created_by=owner, model="stub-model",
                           base_url=judge_stub.base_url, start=False)  # fmt: skip
    run = judge_run_execute(run_id=run.pk, backend=get_backend(run))
    page.set_viewport_size({"width": 1280, "height": 720})
    site_login(page, live_server, owner.username, PASSWORD, next_url="/regeneration/")
    with page.expect_navigation():
        page.click("#judge-runs-link")
    with page.expect_navigation():
        page.click(f"#judge-runs a[href$='{run.public_id}/']")
    assert page.locator("#bands tr[data-band]").count() >= 2
    screenshot("judge-run-bands")
    page.fill("#prescreen-form input[name=name]", "Low scores first")
    page.fill("#prescreen-form input[name=n]", "4")
    page.fill("#prescreen-form input[name=cut_low]", "2.75")
    page.fill("#prescreen-form input[name=cut_high]", "3.25")
    page.fill("#prescreen-form input[name=rate_low]", "4")
    page.fill("#prescreen-form input[name=seed]", "9")
    page.locator("#prescreen").scroll_into_view_if_needed()
    screenshot("judge-prescreen-form")
    with page.expect_navigation():
        page.click("#prescreen-form button[type=submit]")
    campaign = Campaign.objects.get(name="Low scores first")
    assert page.url.endswith(f"/campaigns/{campaign.public_id}/")
    design = page.inner_text(".prescreen-design")
    assert "low 4.0" in design and "2.75, 3.25" in design
    screenshot("judge-prescreen-campaign")
