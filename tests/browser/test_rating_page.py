"""The rating page in a real browser: an expert rates a whole small campaign by keyboard only,
another with the mouse; a reload restores the draft; a retried submit is stored once; the image
controls change the image; the page fits 1024x768."""

import re

import pytest
from django.urls import reverse

from annotations.models import Rating, RatingRevision
from audit.campaigns.models import Assignment
from audit.campaigns.services import campaign_create, campaign_launch
from tests.browser.conftest import open_page
from tests.factories import PASSWORD, UserFactory

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
]

KEYS = ["accuracy", "relevance", "completeness", "usefulness"]


@pytest.fixture
def page(transactional_db, live_server, chromium):
    """The shared ``page``, but opened after the database and the live server, so it is closed
    before them: no autosave from a still-open page can race the flush between tests."""
    context, page = open_page(chromium)
    yield page
    context.close()


@pytest.fixture
def small(rated_dataset):
    """One expert, four items (two source pairs x two methods): (campaign, expert)."""
    expert = UserFactory(username="rater")
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
    )
    return campaign_launch(campaign=campaign), expert


def site_login(page, live_server, username: str) -> None:
    page.goto(f"{live_server.url}{reverse('login')}")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    with page.expect_navigation():
        page.press("#id_password", "Enter")


def queue(campaign, expert):
    return list(Assignment.objects.filter(campaign=campaign, expert=expert).order_by("position"))


def rate_path(campaign, assignment) -> str:
    return reverse("annotations:rate", args=[campaign.public_id, assignment.public_id])


def wait_ready(page):
    page.wait_for_selector("#rating-form")
    page.wait_for_function("window.rateState !== undefined")


def scores_of(assignment) -> dict:
    rating = Rating.objects.get(assignment=assignment)
    return {s.criterion.key: s.value for s in rating.scores.all()}


def test_expert_rates_a_whole_campaign_by_keyboard(page, live_server, small, screenshot):
    campaign, expert = small
    site_login(page, live_server, expert.username)
    assert page.url.endswith(reverse("annotations:queue"))
    assert page.locator(".queue-card h2").inner_text() == "Chest imaging audit"
    screenshot("rate-queue")
    page.focus("a.continue")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    items = queue(campaign, expert)
    typed = [[4, 5, 3, 4], [2, 2, 1, 3], None, [5, 5, 5, 4]]
    for n, (assignment, values) in enumerate(zip(items, typed, strict=True)):
        wait_ready(page)
        assert page.url.endswith(rate_path(campaign, assignment))
        assert page.title() == f"Chest imaging audit · item {n + 1} of {len(items)}"
        if values is None:
            page.keyboard.press("s")
            page.wait_for_selector("#skip-dialog[open]")
            page.keyboard.type("Image too dark to judge")
            with page.expect_navigation():
                page.keyboard.press("Enter")
            continue
        if n == 1:
            # Score, go back up with the arrow key, change the first criterion.
            page.keyboard.press("1")
            page.keyboard.press("ArrowUp")
            page.keyboard.press("ArrowRight")  # 1 -> 2
            page.keyboard.press("ArrowDown")
            for v in values[1:]:
                page.keyboard.press(str(v))
        else:
            for v in values:
                page.keyboard.press(str(v))
        definition = page.locator("#definition").inner_text()
        assert definition.startswith(f"Usefulness {values[-1]} — ")
        if n == 0:
            page.keyboard.press("g")
            page.wait_for_selector("#guidelines-dialog[open]")
            assert "against the image" in page.locator("#guidelines-dialog").inner_text()
            page.keyboard.press("Escape")
            page.wait_for_selector("#guidelines-dialog:not([open])", state="attached")
            screenshot("rate-page")
        with page.expect_navigation():
            page.keyboard.press("Enter")
    page.wait_for_selector("text=All done")
    for assignment, values in zip(items, typed, strict=True):
        assignment.refresh_from_db()
        if values is None:
            assert assignment.status == "skipped"
            assert (
                Rating.objects.get(assignment=assignment).skip_reason == "Image too dark to judge"
            )
        else:
            assert assignment.status == "submitted"
            assert scores_of(assignment) == dict(zip(KEYS, values, strict=True))
            assert assignment.active_seconds > 0


def click_scores(page, values):
    for key, value in zip(KEYS, values, strict=True):
        page.locator(f"#criterion-{key} label.opt").nth(value - 1).click()


def test_expert_rates_a_whole_campaign_with_the_mouse_and_revises(page, live_server, small):
    campaign, expert = small
    site_login(page, live_server, expert.username)
    page.click("a.continue")
    items = queue(campaign, expert)
    # Item 1: hover shows each score's definition; flags and a comment.
    wait_ready(page)
    for key, value in zip(KEYS, [3, 4, 2, 5], strict=True):
        label = page.locator(f"#criterion-{key} label.opt").nth(value - 1)
        label.hover()
        definition = page.locator("#definition").inner_text()
        assert definition.startswith(f"{key.capitalize()} {value} — ")
        label.click()
    page.click("label.flag:has(input[value=hallucination])")
    page.fill("#comment", "The answer invents a **nodule**.")
    with page.expect_navigation():
        page.click("#submit-button")
    # Item 2: scores only. Item 3: skipped with a quick reason. Item 4: scores.
    wait_ready(page)
    click_scores(page, [1, 1, 2, 2])
    with page.expect_navigation():
        page.click("#submit-button")
    wait_ready(page)
    page.click("#skip-button")
    page.click("#skip-dialog .quick-reason[data-reason='Outside my expertise']")
    with page.expect_navigation():
        page.click("#confirm-skip")
    wait_ready(page)
    click_scores(page, [5, 4, 5, 4])
    with page.expect_navigation():
        page.click("#submit-button")
    page.wait_for_selector("text=All done")
    first = items[0]
    rating = Rating.objects.get(assignment=first)
    assert scores_of(first) == dict(zip(KEYS, [3, 4, 2, 5], strict=True))
    assert rating.flags == ["hallucination"]
    assert rating.comment == "The answer invents a **nodule**."
    assert scores_of(items[1]) == dict(zip(KEYS, [1, 1, 2, 2], strict=True))
    assert Rating.objects.get(assignment=items[2]).skip_reason == "Outside my expertise"
    assert scores_of(items[3]) == dict(zip(KEYS, [5, 4, 5, 4], strict=True))
    # Revise the first item from the history list.
    with page.expect_navigation():
        page.click("text=Review or revise your ratings")
    with page.expect_navigation():
        page.click(f"tr[data-assignment='{first.public_id}'] a")
    wait_ready(page)
    assert page.locator("#revise-notice").is_visible()
    assert page.is_checked("#criterion-accuracy input[value='3']")
    assert page.is_checked("input[name=flag][value=hallucination]")
    assert page.input_value("#comment") == "The answer invents a **nodule**."
    page.locator("#criterion-accuracy label.opt").nth(0).click()
    with page.expect_navigation():
        page.click("#submit-button")
    assert scores_of(first)["accuracy"] == 1
    revision = RatingRevision.objects.get(rating__assignment=first)
    assert revision.scores["accuracy"] == 3
    page.goto(live_server.url + reverse("annotations:history", args=[campaign.public_id]))
    assert "(revised)" in page.locator(".history-table").inner_text()
    # The "previous" link walks back through the queue.
    page.goto(live_server.url + rate_path(campaign, items[1]))
    with page.expect_navigation():
        page.click("#previous-link")
    assert page.url.endswith(rate_path(campaign, first))


def test_missing_scores_are_named_and_nothing_is_sent(page, live_server, small):
    campaign, expert = small
    site_login(page, live_server, expert.username)
    page.goto(live_server.url + rate_path(campaign, queue(campaign, expert)[0]))
    wait_ready(page)
    page.keyboard.press("4")
    page.keyboard.press("Enter")
    message = page.locator("#form-message")
    message.wait_for()
    assert "Relevance, Completeness, Usefulness" in message.inner_text()
    assert page.evaluate("document.activeElement.id") == "criterion-relevance"
    assert not Rating.objects.exists()


def test_reload_mid_item_restores_the_draft(page, live_server, small):
    campaign, expert = small
    site_login(page, live_server, expert.username)
    assignment = queue(campaign, expert)[0]
    page.goto(live_server.url + rate_path(campaign, assignment))
    wait_ready(page)
    page.keyboard.press("2")
    page.keyboard.press("4")
    page.check("input[name=flag][value=factual_error]")
    with page.expect_response(lambda r: r.url.endswith("/draft/") and r.status == 200):
        page.fill("#comment", "Left lobe, not right")
    assignment.refresh_from_db()
    assert assignment.draft["scores"] == {"accuracy": 2, "relevance": 4}
    page.reload()
    wait_ready(page)
    assert page.is_checked("#criterion-accuracy input[value='2']")
    assert page.is_checked("#criterion-relevance input[value='4']")
    assert page.is_checked("input[name=flag][value=factual_error]")
    assert page.input_value("#comment") == "Left lobe, not right"
    # Focus is on the first criterion still missing a score.
    assert page.evaluate("document.activeElement.id") == "criterion-completeness"
    # Another browser (no local copy): the server's draft restores it.
    page.evaluate("localStorage.clear()")
    page.reload()
    wait_ready(page)
    assert page.is_checked("#criterion-relevance input[value='4']")
    assert page.input_value("#comment") == "Left lobe, not right"
    # Offline: the local copy is newer than the server's and wins.
    page.route("**/draft/", lambda route: route.abort())
    page.keyboard.press("5")
    page.wait_for_function("document.getElementById('save-state').textContent.includes('device')")
    page.reload()
    wait_ready(page)
    assert page.is_checked("#criterion-completeness input[value='5']")


def test_a_retried_submit_is_stored_once(page, live_server, small):
    campaign, expert = small
    site_login(page, live_server, expert.username)
    first, second = queue(campaign, expert)[:2]
    page.goto(live_server.url + rate_path(campaign, first))
    wait_ready(page)
    with page.expect_response("**/draft/"):  # let the autosave land first
        for v in "4534":
            page.keyboard.press(v)
    # The server stores the first submit but its answer is lost on the way back.
    calls = []

    def lose_answer(route):
        calls.append(route.request.post_data_json["client_id"])
        try:
            route.fetch()
        finally:
            route.abort("connectionreset")

    page.route("**/submit/", lose_answer)
    page.keyboard.press("Enter")
    message = page.locator("#form-message")
    message.wait_for()
    assert "could not be reached" in message.inner_text()
    assert page.is_checked("#criterion-accuracy input[value='4']")  # input kept
    assert Rating.objects.filter(assignment=first).count() == 1
    page.unroute("**/submit/")
    # A server error: said in plain words, input kept.
    page.route("**/submit/", lambda route: route.fulfill(status=500, body="boom"))
    page.click("#submit-button")
    page.wait_for_function("document.getElementById('form-message').textContent.includes('500')")
    page.unroute("**/submit/")
    with page.expect_response("**/submit/") as answer, page.expect_navigation():
        page.keyboard.press("Enter")
    assert answer.value.status == 200  # the retry, recognised
    assert answer.value.request.post_data_json["client_id"] == calls[0]
    assert page.url.endswith(rate_path(campaign, second))
    assert Rating.objects.filter(assignment=first).count() == 1
    assert not RatingRevision.objects.exists()
    # Two identical submits fired at once from the page: one rating.
    wait_ready(page)
    statuses = page.evaluate(
        """async () => {
            const config = JSON.parse(document.getElementById('rate-config').textContent);
            const token = document.cookie.match(/csrftoken=([^;]+)/)[1];
            const body = JSON.stringify({client_id: crypto.randomUUID(),
              scores: {accuracy: 3, relevance: 3, completeness: 3, usefulness: 3}});
            const send = () => fetch(config.submitUrl, {method: 'POST', body,
              headers: {'Content-Type': 'application/json', 'X-CSRFToken': token}});
            const answers = await Promise.all([send(), send()]);
            return answers.map(a => a.status).sort();
        }"""
    )
    assert statuses == [200, 201]
    assert Rating.objects.filter(assignment=second).count() == 1


def _style(page):
    return page.evaluate(
        "(() => { const i = document.getElementById('main-image');"
        " return {t: i.style.transform, f: i.style.filter, src: i.getAttribute('src')}; })()"
    )


def _scale(style) -> float:
    return float(re.search(r"scale\(([\d.]+)\)", style["t"]).group(1))


def test_image_controls_change_the_image(page, live_server, small):
    campaign, expert = small
    site_login(page, live_server, expert.username)
    items = queue(campaign, expert)
    multi = next((a for a in items if a.campaign_item.source_pair.image_count > 1), items[0])
    page.goto(live_server.url + rate_path(campaign, multi))
    wait_ready(page)
    page.wait_for_function(
        "Array.from(document.images).every(i => i.complete && i.naturalWidth > 0)"
    )
    start = _style(page)
    assert _scale(start) == 1
    page.click("#zoom-in")
    assert _scale(_style(page)) > 1
    page.keyboard.press("z")
    zoomed = _scale(_style(page))
    assert zoomed > 1.5 and page.locator("#zoom-level").inner_text() == f"{round(zoomed * 100)}%"
    page.keyboard.press("x")
    assert _scale(_style(page)) < zoomed
    box = page.locator("#stage").bounding_box()
    cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(cx, cy)
    before = _scale(_style(page))
    page.mouse.wheel(0, -200)
    page.wait_for_function(
        f"!document.getElementById('main-image').style.transform.includes('scale({before})')"
    )
    assert _scale(_style(page)) > before
    translate = _style(page)["t"]
    page.mouse.down()
    page.mouse.move(cx + 60, cy + 30, steps=4)
    page.mouse.up()
    assert _style(page)["t"] != translate and "translate(" in _style(page)["t"]
    page.fill("#brightness", "150")
    page.locator("#contrast").fill("70")
    assert _style(page)["f"] == "brightness(150%) contrast(70%)"
    page.keyboard.press("r")
    reset = _style(page)
    assert _scale(reset) == 1 and reset["f"] == "brightness(100%) contrast(100%)"
    assert "translate(0px, 0px)" in reset["t"]
    if multi.campaign_item.source_pair.image_count > 1:
        page.keyboard.press("]")
        assert _style(page)["src"] != start["src"]
        assert page.locator(".thumb.active").get_attribute("data-index") == "1"
        page.wait_for_function(
            "document.getElementById('main-image').complete && "
            "document.getElementById('main-image').naturalWidth > 0"
        )
        page.keyboard.press("[")
        assert page.locator(".thumb.active").get_attribute("data-index") == "0"


@pytest.mark.parametrize("size", [(1024, 768), (1280, 800)])
def test_page_fits_common_screens(page, live_server, small, size, screenshot):
    campaign, expert = small
    page.set_viewport_size({"width": size[0], "height": size[1]})
    site_login(page, live_server, expert.username)
    page.goto(live_server.url + rate_path(campaign, queue(campaign, expert)[0]))
    wait_ready(page)
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    submit = page.locator("#submit-button").bounding_box()
    assert submit["x"] >= 0 and submit["x"] + submit["width"] <= size[0]
    assert submit["y"] >= 0 and submit["y"] + submit["height"] <= size[1]
    image = page.locator("#main-image").bounding_box()
    assert image["width"] >= 300 and image["height"] >= 300  # images large
    screenshot(f"rate-page-{size[0]}x{size[1]}")


RATE_MODULES = [
    "activity.js", "dialogs.js", "drafts.js", "form.js", "keys.js", "main.js", "page.js",
    "submit.js", "viewer.js",
]  # fmt: skip


def test_the_script_loads_as_native_modules_without_error(page, live_server, small):
    """The page's script is one module entry (static/annotations/rate/main.js) with static
    imports of its siblings: each is served as JavaScript, the page runs with no error, and a
    shortcut from each corner works (a score, the guidelines dialog, the viewer)."""
    campaign, expert = small
    site_login(page, live_server, expert.username)
    errors, modules = [], {}
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda msg: msg.type == "error" and errors.append(msg.text))

    def record(response):
        if "/annotations/rate/" in response.url:
            name = response.url.split("?")[0].rsplit("/", 1)[1]
            modules[name] = (response.status, response.headers.get("content-type", ""))

    page.on("response", record)
    page.goto(live_server.url + rate_path(campaign, queue(campaign, expert)[0]))
    wait_ready(page)
    assert page.locator("script[type=module][src*='annotations/rate/main']").count() == 1
    assert sorted(modules) == RATE_MODULES
    assert all(s == 200 and "javascript" in t for s, t in modules.values()), modules
    page.keyboard.press("3")
    assert page.is_checked("#criterion-accuracy input[value='3']")
    page.keyboard.press("g")
    page.wait_for_selector("#guidelines-dialog[open]")
    page.keyboard.press("Escape")
    page.wait_for_selector("#guidelines-dialog:not([open])", state="attached")
    page.keyboard.press("z")
    assert page.locator("#zoom-level").inner_text() == "125%"
    assert errors == []
