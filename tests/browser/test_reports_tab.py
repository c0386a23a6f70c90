"""The campaign's Reports tab in a real browser: the owner adds a weekly schedule and edits it,
sees when the next report goes out in the schedule's time zone; "Make a report now" with a real
worker on the analysis queue: the page shows the report when it is ready, without a reload by
hand."""

import pytest
from django.conf import settings as django_settings

from audit.reports.models import QualityReport, ReportSchedule
from audit.reports.quality.schedules import next_run
from tests.browser.test_owner_pages import site_login
from tests.factories import PASSWORD
from tests.reports.conftest import rate_all
from tests.workers import start_worker, stop

pytestmark = [pytest.mark.browser, pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def test_owner_schedules_reports_and_makes_one_now(
    page, live_server, launched_campaign, settings, tmp_path, monkeypatch, screenshot
):
    campaign, owner, _experts = launched_campaign
    rate_all(campaign, seed=4, limit=30)
    settings.QUALITY_REPORTS_DIR = tmp_path / "reports"
    monkeypatch.setenv("AUDIT_REPORTS_DIR", str(settings.QUALITY_REPORTS_DIR))
    monkeypatch.setenv("EMAIL_URL", f"filemail:///{tmp_path / 'mail'}")
    page.set_viewport_size({"width": 1280, "height": 720})
    site_login(page, live_server, owner.username, PASSWORD,
               next_url=f"/campaigns/{campaign.public_id}/")  # fmt: skip
    with page.expect_navigation():
        page.click("nav.campaign-nav >> text=Reports")
    # Add a weekly schedule.
    form = "#schedule-form"
    page.select_option(f"{form} select[name=frequency]", "weekly")
    page.select_option(f"{form} select[name=day_of_week]", "3")
    page.fill(f"{form} input[name=hour]", "8")
    page.fill(f"{form} input[name=minute]", "15")
    page.fill(f"{form} input[name=time_zone]", "Asia/Tokyo")
    page.fill(f"{form} textarea[name=recipients]", "lead@example.org")
    with page.expect_navigation():
        page.click(f"{form} button[type=submit]")
    schedule = ReportSchedule.objects.get(campaign=campaign)
    row = page.locator(f"tr[data-schedule='{schedule.pk}']")
    assert "weekly, Wednesday at 08:15" in row.inner_text()
    when = next_run(schedule)
    assert when.strftime("%Y-%m-%d 08:15") in row.locator(".next-run").inner_text()
    # Edit it: the form comes filled in.
    with page.expect_navigation():
        row.locator("text=Edit").click()
    assert page.input_value(f"{form} input[name=time_zone]") == "Asia/Tokyo"
    page.fill(f"{form} input[name=hour]", "9")
    with page.expect_navigation():
        page.click(f"{form} button[type=submit]")
    assert "Wednesday at 09:15" in page.locator(f"tr[data-schedule='{schedule.pk}']").inner_text()
    # Make a report now: the worker makes it, the page shows it when it is ready.
    worker = start_worker(
        settings, [django_settings.CELERY_QUEUE_ANALYSIS], AUDIT_ANALYSIS_BOOTSTRAP_REPLICATES="50"
    )
    try:
        with page.expect_navigation():
            page.click("#make-report")
        assert page.locator(".waiting").count() == 1
        page.locator("#reports table.reports a:text('PDF')").wait_for(timeout=120_000)
    finally:
        stop(worker)
    report = QualityReport.objects.get(campaign=campaign)
    assert report.status == "succeeded"
    assert page.locator(".waiting").count() == 0  # the page reloaded to show it
    screenshot("reports-tab")
