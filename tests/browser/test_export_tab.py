"""The campaign's Export tab in a real browser, with a real Celery worker on the io queue: the
owner asks for a ratings export, the history follows the job until its download link appears,
and the downloaded file holds the campaign's ratings; a refused audited-dataset export keeps
the owner's input and says why."""

import io
import uuid

import pandas as pd
import pytest
from django.conf import settings as django_settings

from annotations.models import Rating
from annotations.services import rating_submit
from tests.browser.test_owner_pages import site_login
from tests.factories import PASSWORD
from tests.reports.conftest import assignments_of
from tests.workers import start_worker, stop

pytestmark = [pytest.mark.browser, pytest.mark.worker, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def io_worker(settings, tmp_path):
    settings.EXPORT_DIR = tmp_path / "exports"
    proc = start_worker(
        settings, [django_settings.CELERY_QUEUE_IO], AUDIT_EXPORT_DIR=str(settings.EXPORT_DIR)
    )
    yield proc
    stop(proc)


def rate_some(campaign, n: int) -> None:
    for a in assignments_of(campaign)[:n]:
        scores = {c.key: c.scale_max for c in campaign.criteria.all()}
        rating_submit(assignment=a, expert=a.expert, client_id=uuid.uuid4(), scores=scores)


def test_owner_exports_ratings_from_the_campaign_tab(
    page, live_server, launched_campaign, io_worker, screenshot
):
    campaign, owner, _experts = launched_campaign
    rate_some(campaign, 10)
    page.set_viewport_size({"width": 1280, "height": 720})
    site_login(
        page, live_server, owner.username, PASSWORD, next_url=f"/campaigns/{campaign.public_id}/"
    )
    with page.expect_navigation():
        page.click("nav.campaign-nav >> text=Exports")
    assert page.url.endswith(f"/exports/campaigns/{campaign.public_id}/")
    page.select_option("#ratings-form select[name=format]", "csv")
    page.select_option("#ratings-form select[name=layout]", "wide")
    with page.expect_navigation():
        page.click("#ratings-form button[type=submit]")
    assert "Export queued" in page.inner_text(".messages")
    # The page follows the job until the worker has written the file.
    link = page.locator("#history tr[data-job] .job-file a")
    link.wait_for(timeout=60_000)
    screenshot("export-tab")
    with page.expect_download() as download:
        link.first.click()
    content = download.value.path().read_bytes()
    table = pd.read_csv(io.BytesIO(content))
    rated = Rating.objects.filter(assignment__campaign=campaign)
    assert len(table) == rated.count() == 10  # wide: one row per rating
    keys = [c.key for c in campaign.criteria.all()]
    assert set(keys) <= set(table.columns)
    assert (table[keys] == 5).all().all()
    assert table["expert"].str.startswith("expert-").all()  # pseudonyms: names were not asked
    row = page.locator("#history tr[data-job]").first
    assert "Succeeded" in row.inner_text() and "Ratings, CSV, wide" in row.inner_text()


def test_a_refused_dataset_export_keeps_the_input_and_says_why(
    page, live_server, launched_campaign
):
    campaign, owner, _experts = launched_campaign
    site_login(
        page,
        live_server,
        owner.username,
        PASSWORD,
        next_url=f"/exports/campaigns/{campaign.public_id}/",
    )
    accuracy = page.locator("#dataset-form input[name=mean_accuracy]")
    accuracy.fill("9")  # above the scale's top
    page.check("#dataset-form input[name=exclude_flags][value=hallucination]")
    # The browser refuses it first (the field carries the scale's bounds) ...
    assert accuracy.evaluate("el => !el.checkValidity()")
    # ... and the server too, for a client that does not check.
    page.evaluate("document.getElementById('dataset-form').noValidate = true")
    with page.expect_navigation():
        page.click("#dataset-form button[type=submit]")
    form = page.locator("#dataset-form")
    assert "less than or equal to 5" in form.inner_text()
    assert accuracy.input_value() == "9"
    assert page.is_checked("#dataset-form input[name=exclude_flags][value=hallucination]")
