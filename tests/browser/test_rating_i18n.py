"""The rating page in a Chinese browser (locale zh-CN, 1280x720): the labels and the script's
messages are in Chinese, an item is scored and submitted with the keyboard, and the header's
switcher brings the page back to English."""

import functools

import pytest

from annotations.models import Rating
from tests.browser.conftest import _wait_for_expression
from tests.browser.test_rating_page import KEYS, queue, rate_path, scores_of, site_login, wait_ready
from tests.browser.test_rating_page import small as small  # the fixture, under its own name

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
]


@pytest.fixture
def page(transactional_db, live_server, chromium):
    """A Chinese browser's page, opened after the database and the live server (so closed
    before them, as in test_rating_page)."""
    context = chromium.new_context(locale="zh-CN", viewport={"width": 1280, "height": 720})
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.wait_for_function = functools.partial(_wait_for_expression, page)
    yield page
    context.close()


def test_a_chinese_browser_gets_the_rating_page_in_chinese(page, live_server, small, screenshot):
    campaign, expert = small
    site_login(page, live_server, expert.username)
    assert page.locator("html").get_attribute("lang") == "zh-hans"
    assert page.locator(".queue h1").inner_text() == "我的评审"
    page.focus("a.continue")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    first = queue(campaign, expert)[0]
    wait_ready(page)
    assert page.url.endswith(rate_path(campaign, first))
    total = len(queue(campaign, expert))
    assert page.title() == f"Chest imaging audit · 第 1 条，共 {total} 条"  # noqa: RUF001
    assert "评审指南" in page.locator("#open-guidelines").inner_text()
    assert "提交" in page.locator("#submit-button").inner_text()
    assert "跳过" in page.locator("#skip-button").inner_text()
    assert page.locator("#flags legend").inner_text().startswith("标记")

    # A message written by the page's script comes from the JavaScript catalogue.
    page.keyboard.press("Enter")
    page.wait_for_selector("#form-message:not([hidden])")
    assert page.locator("#form-message").inner_text().startswith("提交前请为以下标准评分")

    values = [4, 5, 3, 4]
    page.focus("#criterion-accuracy")
    for v in values:
        page.keyboard.press(str(v))
    screenshot("rate-page-zh")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    wait_ready(page)
    first.refresh_from_db()
    assert first.status == "submitted"
    assert scores_of(first) == dict(zip(KEYS, values, strict=True))
    assert Rating.objects.filter(assignment__expert=expert).count() == 1

    # The expert's choice in the header wins over the browser's language.
    page.select_option("#language-select", "en")
    with page.expect_navigation():
        page.click("form.language button")
    wait_ready(page)
    assert page.locator("html").get_attribute("lang") == "en"
    assert "Guidelines" in page.locator("#open-guidelines").inner_text()
