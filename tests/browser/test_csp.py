"""The Content-Security-Policy in a real browser: the expert's rating page (rate/*.js), the
owner's campaign pages, the activity page and the analysis dashboard run with no policy
violation, and the rating page still works (a rating is scored by keyboard and stored)."""

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from annotations.models import Rating
from audit.campaigns.models import Assignment
from audit.campaigns.services import campaign_create, campaign_launch
from tests.browser.conftest import open_page
from tests.factories import PASSWORD, UserFactory

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
]

RECORD_VIOLATIONS = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__csp.push(e.violatedDirective + " " + (e.blockedURI || "inline") + " " + e.sourceFile);
});
"""


@pytest.fixture
def page(transactional_db, live_server, chromium):
    """A page that records every CSP violation (DOM events and console messages)."""
    context, page = open_page(chromium, RECORD_VIOLATIONS)
    page.console_csp = []
    page.on(
        "console",
        lambda msg: "Content Security Policy" in msg.text and page.console_csp.append(msg.text),
    )
    page.on("dialog", lambda dialog: dialog.accept())
    yield page
    context.close()


def site_login(page, live_server, username: str) -> None:
    page.goto(f"{live_server.url}{reverse('login')}")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    with page.expect_navigation():
        page.press("#id_password", "Enter")


def assert_no_violations(page, where: str) -> None:
    page.wait_for_load_state("load")
    violations = page.evaluate("window.__csp || []")
    assert violations == [], f"{where}: {violations}"
    assert page.console_csp == [], f"{where}: {page.console_csp}"


def test_expert_rating_page_runs_under_the_policy(page, live_server, rated_dataset):
    expert = UserFactory(username="rater")
    campaign = campaign_launch(
        campaign=campaign_create(
            name="CSP", created_by=rated_dataset.owner, datasets=[rated_dataset],
            methods=["native_caption", "mllm_reformatted"], n=2, raters_per_item=1, seed=7,
            experts=[expert],
        )
    )  # fmt: skip
    site_login(page, live_server, expert.username)
    assert_no_violations(page, "queue")
    first = Assignment.objects.filter(campaign=campaign, expert=expert).order_by("position")[0]
    page.goto(
        live_server.url + reverse("annotations:rate", args=[campaign.public_id, first.public_id])
    )
    page.wait_for_function("window.rateState !== undefined")  # rate/main.js ran
    for value in (4, 5, 3, 4):
        page.keyboard.press(str(value))
    page.keyboard.press("z")  # zoom: viewer.js sets the image's style, allowed by the policy
    assert_no_violations(page, "rating page")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert_no_violations(page, "next item")
    rating = Rating.objects.get(assignment=first)
    assert sorted(rating.scores.values_list("value", flat=True)) == [3, 4, 4, 5]
    page.goto(live_server.url + reverse("annotations:history", args=[campaign.public_id]))
    assert_no_violations(page, "history")


def test_owner_pages_and_analysis_run_under_the_policy(page, live_server, launched_campaign):
    campaign, owner, experts = launched_campaign
    owner.user_permissions.add(Permission.objects.get(codename="add_campaign"))
    draft = campaign_create(
        name="Draft", created_by=owner, datasets=list(campaign.datasets.all()),
        methods=["native_caption", "mllm_reformatted"], n=2, experts=experts,
    )  # fmt: skip
    site_login(page, live_server, owner.username)
    assert_no_violations(page, "campaign list")
    pages = {
        "create": reverse("campaigns:create"),
        "detail": reverse("campaigns:detail", args=[campaign.public_id]),
        "progress": reverse("campaigns:progress", args=[campaign.public_id]),
        "experts": reverse("campaigns:experts", args=[campaign.public_id]),
        "analysis": reverse("reports:campaign-analysis", args=[campaign.public_id]),
        "activity": reverse("site:campaign-activity", args=[campaign.public_id]),
        "draft edit": reverse("campaigns:edit", args=[draft.public_id]),
        "dry run": reverse("campaigns:dry-run", args=[draft.public_id]),
        "api docs": reverse("api-docs"),
    }
    for name, url in pages.items():
        response = page.goto(live_server.url + url)
        assert response.status == 200, name
        assert_no_violations(page, name)
    page.goto(live_server.url + pages["api docs"])
    page.wait_for_selector(".swagger-ui .info")  # Swagger UI started from its script file
    assert_no_violations(page, "api docs rendered")
    # A campaigns.js confirm dialog, then the transition: still no violation.
    page.goto(live_server.url + pages["detail"])
    with page.expect_navigation():
        page.click("#pause")
    assert_no_violations(page, "after pause")
    # The recorder works: an injected inline script is blocked and reported.
    page.evaluate(
        "() => { const s = document.createElement('script');"
        " s.textContent = 'window.__ran = 1'; document.body.appendChild(s); }"
    )
    page.wait_for_function("window.__csp.length > 0")
    assert page.evaluate("window.__ran") is None
    assert "script-src" in page.evaluate("window.__csp")[0]


def test_regeneration_reports_and_exports_run_under_the_policy(
    page, live_server, launched_campaign, settings
):
    """The newest owner pages: regeneration (list, new job form, a job's page with its
    generations), the quality report history and a stored report's HTML (served with its own
    stricter policy), and an export's download link (a file, never an HTML page)."""
    from audit.regeneration import services as regeneration
    from audit.reports.analysis.services import analyse_campaign
    from audit.reports.exports.jobs import export_job_create, export_job_run
    from audit.reports.quality import services as reports
    from tests.regeneration.stub_server import StubServer
    from tests.regeneration.test_services import run_all
    from tests.reports.conftest import rate_all

    settings.ANALYSIS_BOOTSTRAP_REPLICATES = 50
    campaign, owner, _experts = launched_campaign
    owner.user_permissions.add(Permission.objects.get(codename="add_regenerationjob"))
    rate_all(campaign, seed=2, limit=30)
    analyse_campaign(campaign=campaign, n_resamples=50)
    report = reports.quality_report_make(campaign=campaign, send=False)
    export = export_job_run(
        job_id=export_job_create(owner=owner, kind="ratings", fmt="csv", campaign=campaign).pk
    )
    stub = StubServer().start()
    try:
        settings.REGENERATION_ALLOWED_SERVERS = [stub.allow_entry]
        job = regeneration.job_create(
            created_by=owner, name="CSP job <b>x</b>", datasets=list(campaign.datasets.all()),
            methods=["llm_reformatted"], model="m", base_url=stub.base_url, start=False,
        )  # fmt: skip
        stub.script(("text", "<script>alert(1)</script>"))
        job = run_all(job)
    finally:
        stub.stop()
    site_login(page, live_server, owner.username)
    pages = {
        "regeneration list": reverse("regeneration:list"),
        "regeneration new": reverse("regeneration:create"),
        "regeneration job": reverse("regeneration:detail", args=[job.public_id]),
        "report history": reverse("reports:campaign-reports", args=[campaign.public_id]),
        "export tab": reverse("exports:campaign", args=[campaign.public_id]),
        "adjudication": reverse("reports:adjudication", args=[campaign.public_id]),
        "adjudicate": reverse(
            "reports:adjudicate", args=[campaign.public_id, campaign.items.first().pk]
        ),
        "report html": reverse(
            "reports:quality-report-file", args=[campaign.public_id, report.pk, "html"]
        ),
    }
    for name, url in pages.items():
        response = page.goto(live_server.url + url)
        assert response.status == 200, name
        assert_no_violations(page, name)
    # The stored report is a page of its own, with charts, under a policy with no script.
    policy = page.goto(live_server.url + pages["report html"]).headers["content-security-policy"]
    assert "default-src 'none'" in policy
    assert page.locator("svg").count() > 0
    assert_no_violations(page, "report html charts")
    # The export's download link gives the file to save, not a page to render.
    download = page.request.get(
        live_server.url + reverse("exports:download", args=[export.public_id])
    )
    assert download.status == 200
    assert "text/html" not in download.headers["content-type"]
    assert "attachment" in download.headers.get("content-disposition", "")
