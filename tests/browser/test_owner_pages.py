"""The campaign owner's pages in a real browser: create a campaign from the PubMedVision
template, dry run, launch, watch progress."""

import threading
import time
import uuid
from unittest import mock

import pytest
from django.contrib.auth.models import Permission
from django.db import connection

from annotations.services import rating_submit
from audit.campaigns import jobs
from audit.campaigns.models import Assignment, Campaign
from audit.campaigns.services import campaign_create
from tests.campaigns.conftest import run_campaign_jobs
from tests.conftest import METHODS
from tests.factories import PASSWORD, UserFactory

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
]


def site_login(page, live_server, username: str, password: str, next_url: str = "/") -> None:
    page.goto(f"{live_server.url}/accounts/login/?next={next_url}")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    with page.expect_navigation():
        page.click("main button[type=submit]")  # not the header's language or sign-out form


def run_jobs_in_background(campaign, *, stage_seconds: float = 0.0) -> threading.Thread:
    """Run the campaign's queued jobs in a thread, as a worker would while the page polls; with
    ``stage_seconds``, each stage of the job lasts at least that long (a big launch)."""
    real = jobs._Reporter.__call__

    def slow(self, stage, done, total):
        if stage != self.stage:
            real(self, stage, done, total)
            time.sleep(stage_seconds)
        return real(self, stage, done, total)

    def work():
        try:
            with mock.patch.object(jobs._Reporter, "__call__", slow if stage_seconds else real):
                run_campaign_jobs(campaign)
        finally:
            connection.close()

    thread = threading.Thread(target=work, daemon=True)
    thread.start()
    return thread


def test_owner_creates_dry_runs_launches_and_watches_progress(
    page, live_server, rated_dataset, screenshot
):
    owner = rated_dataset.owner
    owner.user_permissions.add(Permission.objects.get(codename="add_campaign"))
    experts = [UserFactory(username=name) for name in ("dr_ames", "dr_baker", "dr_chen")]
    page.on("dialog", lambda dialog: dialog.accept())  # the confirm before launching

    site_login(page, live_server, owner.username, PASSWORD, next_url="/campaigns/")
    assert page.url.endswith("/campaigns/")
    page.click("text=PubMedVision check template")
    page.wait_for_selector("text=from the PubMedVision check template")
    assert page.input_value("#id_n") == "90"
    assert page.input_value("#id_raters_per_item") == "3"
    for key in ("native_caption", "llm_reformatted", "mllm_distill", "mllm_reformatted"):
        assert page.is_checked(f"input[name=methods][value={key}]")
    page.check(f"input[name=datasets][value='{rated_dataset.pk}']")
    page.fill("#id_n", "6")  # the demo set has 8 source pairs, not 90
    page.select_option("#id_experts", [str(e.pk) for e in experts])
    page.fill("#id_specialties", "dr_ames: Radiology\ndr_chen: Pathology")
    with page.expect_navigation():
        page.click("#save-draft")
    page.wait_for_selector("text=Draft saved")
    campaign = Campaign.objects.get(name="PubMedVision check")
    assert campaign.status == "draft" and campaign.design["n"] == 6

    with page.expect_navigation():
        page.click("#dry-run")
    assert page.inner_text("#sample-size") == "24"
    makeup = page.inner_text("#makeup")
    for key in ("native_caption", "llm_reformatted", "mllm_distill", "mllm_reformatted"):
        assert key in makeup
    screenshot("owner-dry-run")
    assert not campaign.items.exists()

    with page.expect_navigation():
        page.click("#launch")
    page.wait_for_selector("#job-progress")  # launching: the job is queued
    worker = run_jobs_in_background(campaign)  # what the io worker does
    page.wait_for_selector("text=Launched: 24 items, 72 assignments to 3 experts.", timeout=30_000)
    worker.join(timeout=30)
    campaign.refresh_from_db()
    assert campaign.status == "active"

    # Two experts rate a little; the owner sees it.
    for expert, seconds in ((experts[0], 35), (experts[0], 55), (experts[1], 20)):
        assignment = (
            Assignment.objects.filter(campaign=campaign, expert=expert, status="pending")
            .order_by("position")
            .first()
        )
        rating_submit(
            assignment=assignment,
            expert=expert,
            client_id=uuid.uuid4(),
            scores={c.key: 4 for c in campaign.criteria.all()},
            active_seconds=seconds,
        )
    page.click("nav.campaign-nav >> text=Progress")
    page.wait_for_selector("table[data-table=expert]")
    row = page.locator("table[data-table=expert] tr", has_text="dr_ames")
    assert row.locator("td").nth(1).inner_text() == "2"
    assert row.locator("td").nth(5).inner_text() == "45.0"
    assert "3 / 72" in page.inner_text(".overall")
    screenshot("owner-progress")

    page.goto(f"{live_server.url}/campaigns/")
    row = page.locator("#campaigns tr", has_text="PubMedVision check")
    assert "Active" in row.inner_text() and "3 / 72" in row.inner_text()
    screenshot("owner-campaigns")


def test_launch_that_takes_a_while_shows_progress_and_the_page_updates_when_done(
    page, live_server, rated_dataset, screenshot
):
    owner = rated_dataset.owner
    experts = [UserFactory(username=f"dr_{name}") for name in ("ames", "baker", "chen")]
    campaign = campaign_create(
        name="Slow launch",
        created_by=owner,
        datasets=[rated_dataset],
        methods=METHODS,
        n=6,
        raters_per_item=3,
        seed=3,
        experts=experts,
    )
    page.on("dialog", lambda dialog: dialog.accept())
    detail = f"/campaigns/{campaign.public_id}/"
    site_login(page, live_server, owner.username, PASSWORD, next_url=detail)
    with page.expect_navigation():
        page.click("#launch")
    page.wait_for_selector("#job-progress")
    assert "Launching…" in page.inner_text("h1")
    assert page.locator("#job-stages li").count() == 7
    assert page.get_attribute("li[data-stage=queued]", "class") == "stage-current"
    assert not page.locator("#launch").count() and not page.locator("#close").count()
    campaign.refresh_from_db()
    assert campaign.status == "launching"

    worker = run_jobs_in_background(campaign, stage_seconds=1.2)
    # The page follows the job through its stages (polling; no reload while it runs).
    page.wait_for_selector("li.stage-done[data-stage=sample]", timeout=20_000)
    page.wait_for_selector("li.stage-current[data-stage=assignments]", timeout=20_000)
    assert page.locator("#job-progress").count() == 1
    assert page.get_attribute("#job-progress", "data-job-status") == "running"
    assert page.inner_text("#job-counts")
    screenshot("owner-launch-progress")
    assert not Assignment.objects.filter(campaign=campaign).exists()  # not committed yet

    # When the job commits, the page reloads itself into the launched campaign.
    page.wait_for_selector("text=Launched: 24 items, 72 assignments to 3 experts.", timeout=30_000)
    worker.join(timeout=30)
    assert not page.locator("#job-progress").count()
    assert "Active" in page.inner_text("h1") and page.locator("#pause").count() == 1
    assert page.url.endswith(detail)
    screenshot("owner-launched")
