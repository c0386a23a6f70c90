# ruff: noqa: RUF001  (Chinese punctuation in Chinese texts)
"""The campaign's own texts in a Chinese browser (locale zh-CN, 1280x720): the owner gave the
title, guidelines and the accuracy criterion in Chinese, relevance's name and one anchor only;
the rating page shows the Chinese anchor next to the focused score, English where none was
given, and the guidelines dialog the Chinese guidelines."""

import functools

import pytest

from audit.campaigns.criteria import DEFAULT_CRITERIA
from audit.campaigns.services import campaign_create, campaign_launch
from tests.browser.conftest import _wait_for_expression
from tests.browser.test_rating_page import queue, rate_path, site_login, wait_ready
from tests.factories import UserFactory

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
]

ACCURACY_ZH = {
    "name": "准确性",
    "question": "文本是否准确反映图像中的医学特征？",
    "anchors": {
        "5": "完全准确：每一处陈述都与图像相符。",
        "4": "大体准确：细微不精确，不影响含义。",
        "3": "部分准确。",
        "2": "大多不准确。",
        "1": "完全不准确。",
    },
}
RELEVANCE_ZH = {"name": "相关性", "anchors": {"5": "完全围绕图像的关键医学特征。"}}


@pytest.fixture
def page(transactional_db, live_server, chromium):
    context = chromium.new_context(locale="zh-CN", viewport={"width": 1280, "height": 720})
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.wait_for_function = functools.partial(_wait_for_expression, page)
    yield page
    context.close()


@pytest.fixture
def bilingual(rated_dataset):
    expert = UserFactory(username="rater")
    criteria = [dict(c) for c in DEFAULT_CRITERIA]
    criteria[0]["translations"] = {"zh-hans": ACCURACY_ZH}
    criteria[1]["translations"] = {"zh-hans": RELEVANCE_ZH}
    campaign = campaign_create(
        name="Secret: native vs unblinded",
        created_by=rated_dataset.owner,
        datasets=[rated_dataset],
        methods=["native_caption", "mllm_reformatted"],
        n=2,
        raters_per_item=1,
        seed=7,
        experts=[expert],
        expert_title="Chest imaging audit",
        guidelines="Judge the text **against the image**.",
        translations={
            "zh-hans": {"expert_title": "胸部影像评审", "guidelines": "请**对照图像**评判文本。"}
        },
        criteria=criteria,
    )
    return campaign_launch(campaign=campaign), expert


def test_the_rating_page_shows_the_chinese_anchor_of_the_focused_score(
    page, live_server, bilingual, screenshot
):
    campaign, expert = bilingual
    site_login(page, live_server, expert.username)
    assert page.locator(".queue-card h2").inner_text() == "胸部影像评审"
    first = queue(campaign, expert)[0]
    page.goto(f"{live_server.url}{rate_path(campaign, first)}")
    wait_ready(page)
    assert page.locator(".rate-title").inner_text().startswith("胸部影像评审")
    assert page.locator("#criterion-accuracy legend").inner_text() == "准确性"
    assert page.locator("#criterion-relevance legend").inner_text() == "相关性"
    assert page.locator("#criterion-completeness legend").inner_text() == "Completeness"
    # Before a score: the criterion's question, in Chinese.
    assert page.locator("#anchor-accuracy").inner_text() == ACCURACY_ZH["question"]

    # A score by keyboard: its Chinese anchor next to the buttons and on the definition line.
    page.focus("#criterion-accuracy")
    page.keyboard.press("4")
    assert page.locator("#anchor-accuracy").inner_text() == "4 — " + ACCURACY_ZH["anchors"]["4"]
    page.focus("#criterion-accuracy input[value='4']")
    page.keyboard.press("ArrowRight")
    page.wait_for_function(
        "document.querySelector('#criterion-accuracy input[value=\"5\"]').checked"
    )
    assert ACCURACY_ZH["anchors"]["5"] in page.locator("#definition").inner_text()
    assert page.locator("#definition").inner_text().startswith("准确性 5")
    screenshot("rate-page-zh-anchor")

    # Relevance has a Chinese anchor for 5 only: 4 reads in English.
    page.hover("#criterion-relevance label.opt:has(input[value='5'])")
    assert "完全围绕图像的关键医学特征。" in page.locator("#anchor-relevance").inner_text()
    page.hover("#criterion-relevance label.opt:has(input[value='4'])")
    english = DEFAULT_CRITERIA[1]["anchors"]["4"]
    assert page.locator("#anchor-relevance").inner_text() == "4 — " + english

    # The guidelines dialog: the Chinese guidelines and score definitions.
    page.mouse.move(0, 0)
    page.focus("#criterion-accuracy input[value='5']")
    page.keyboard.press("g")
    page.wait_for_selector("#guidelines-dialog[open]")
    dialog = page.locator("#guidelines-dialog")
    assert "请对照图像评判文本。" in dialog.locator(".guidelines").inner_text()
    assert "准确性 — " + ACCURACY_ZH["question"] in dialog.inner_text()
    assert ACCURACY_ZH["anchors"]["1"] in dialog.inner_text()
    screenshot("rate-guidelines-zh")


def test_the_owner_gives_the_chinese_texts_on_the_template_form(
    page, live_server, rated_dataset, screenshot
):
    from django.contrib.auth.models import Permission

    from tests.browser.test_owner_pages import site_login as owner_login
    from tests.factories import PASSWORD

    owner = rated_dataset.owner
    owner.user_permissions.add(Permission.objects.get(codename="add_campaign"))
    owner_login(
        page, live_server, owner.username, PASSWORD, "/campaigns/new/?template=pubmedvision"
    )
    assert page.locator("#id_expert_title_zh").input_value() == "医学图文质量评审"
    assert "对照图像" in page.locator("#id_guidelines_zh").input_value()
    assert '"准确性"' in page.locator("#id_criteria").input_value()
    page.locator("#id_guidelines_zh").scroll_into_view_if_needed()
    screenshot("owner-form-zh-texts")
