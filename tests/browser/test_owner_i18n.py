"""The owner pages in a Chinese browser (locale zh-CN, 1280x720): the campaign's overview, its
Analysis and Reports tabs and the dataset browser read in Chinese and nothing runs off the
right-hand edge (Chinese labels are shorter, but a long unbroken one could push a table or a
form wider than the window). Screenshots in var/test/screenshots/owner-*-zh.png."""

import functools

import pytest
from django.urls import reverse

from audit.reports.analysis.services import analysis_run
from tests.browser.conftest import _wait_for_expression
from tests.browser.test_owner_pages import site_login
from tests.factories import PASSWORD
from tests.reports.conftest import rate_all

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def page(transactional_db, live_server, chromium):
    context = chromium.new_context(locale="zh-CN", viewport={"width": 1280, "height": 720})
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.wait_for_function = functools.partial(_wait_for_expression, page)
    yield page
    context.close()


def test_the_owner_pages_read_in_chinese_at_1280(page, live_server, launched_campaign, screenshot):
    campaign, owner, _experts = launched_campaign
    rate_all(campaign, seed=4)
    analysis_run(campaign_id=campaign.pk)
    dataset = campaign.datasets.get()
    site_login(page, live_server, owner.username, PASSWORD, next_url="/campaigns/")
    assert page.locator("html").get_attribute("lang") == "zh-hans"
    c = campaign.public_id
    pages = {
        "overview": (reverse("campaigns:detail", args=[c]), "设计"),
        "analysis": (reverse("reports:campaign-analysis", args=[c]), "专家间一致性"),
        "reports": (reverse("reports:campaign-reports", args=[c]), "定时计划"),
        "browse": (reverse("datasets:browse", args=[dataset.pk]), "筛选"),
    }
    for name, (path, text) in pages.items():
        page.goto(f"{live_server.url}{path}")
        assert text in page.locator("main").inner_text(), name
        assert page.locator("header nav").inner_text().split()[0] == "评审活动"
        # Nothing wider than the window (tables scroll inside their own boxes).
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"{name}: {overflow}px wider than the window"
        screenshot(f"owner-{name}-zh")
