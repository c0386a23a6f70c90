"""The campaign owner's pages in a real browser: create a campaign from the PubMedVision
template, dry run, launch, watch progress."""

import uuid

import pytest
from django.contrib.auth.models import Permission

from annotations.services import rating_submit
from audit.campaigns.models import Assignment, Campaign
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
        page.click("button[type=submit]")


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
    page.wait_for_selector("text=Launched: 24 items, 72 assignments to 3 experts.")
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
