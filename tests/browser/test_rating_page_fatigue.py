"""The rating page over a long session, in a real browser at 1280x720 (and 1366x768): a whole
300-word answer is readable without inner scrolling; an expert flags, comments, scores and
submits with keys only; the viewer settings carry over to the next item; History shows what the
expert saw (a thumbnail, the first words); the time left is estimated from the expert's pace;
the dark reading mode is kept on the device."""

import pytest
from django.urls import reverse

from annotations.models import Rating
from audit.campaigns.models import Assignment
from audit.campaigns.services import campaign_create, campaign_launch
from audit.datasets.models import Item
from tests.browser.conftest import SCREENSHOTS, open_page
from tests.factories import PASSWORD, UserFactory

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
]

KEYS = ["accuracy", "relevance", "completeness", "usefulness"]

# A long PubMedVision-style answer (the corpus's answers run 150-300 words): 300 words.
LONG_ANSWER = (
    "The image is an axial contrast-enhanced computed tomography scan of the chest obtained "
    "at the level of the pulmonary hila in a patient presenting with progressive "
    "dyspnoea, dry cough and low-grade fever. In the right lower lobe "
    "there is a well-defined, lobulated soft-tissue mass measuring approximately four by "
    "three centimetres, abutting the posterior pleura without clear invasion of the chest "
    "wall. The mass shows heterogeneous enhancement with a central area of low attenuation "
    "that suggests necrosis, and small punctate calcifications are visible along its medial "
    "margin. Adjacent to the lesion the bronchi appear narrowed, with mild distal "
    "bronchiectasis and patchy ground-glass opacities consistent with post-obstructive "
    "changes.\n\nSeveral enlarged lymph nodes are present in the subcarinal and right "
    "hilar stations, the largest measuring about fifteen millimetres in short axis, which "
    "raises concern for nodal involvement. A small right pleural effusion layers dependently "
    "and shows no enhancement of the pleural surfaces. The left lung is clear apart from "
    "subsegmental atelectatic bands at the base. The heart is normal in size, "
    "there is no pericardial effusion, and the great vessels are of normal calibre without "
    "filling defects in the visualised pulmonary arteries. The visualised upper abdomen, "
    "including the liver and adrenal glands, shows no focal lesion on this slice.\n\n"
    "Taken together, these findings are most suggestive of a primary bronchogenic carcinoma "
    "of the right lower lobe with hilar and mediastinal lymphadenopathy, although an "
    "infectious process such as a lung abscess or an organising pneumonia should remain in "
    "the differential diagnosis given the fever and the central necrosis. Correlation with "
    "bronchoscopy and tissue sampling is recommended, together with staging by positron "
    "emission tomography, and comparison with any prior imaging would help establish the "
    "rate of growth. Follow-up thoracentesis may clarify whether the effusion is malignant, "
    "which would change the stage and "
    "treatment options considerably."
)


def test_the_long_answer_is_300_words():
    assert len(LONG_ANSWER.split()) == 300


@pytest.fixture
def page(transactional_db, live_server, chromium):
    """A fresh context at 1280x720, opened after the live server (closed before it)."""
    context, page = open_page(chromium)
    page.set_viewport_size({"width": 1280, "height": 720})
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.script_errors = errors
    yield page
    context.close()


def shot(page, name: str):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=False)
    return path


@pytest.fixture
def small(rated_dataset):
    """One expert, four items; the first item's answer is the 300-word one: (campaign, expert)."""
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
    campaign = campaign_launch(campaign=campaign)
    first = queue(campaign, expert)[0]
    Item.objects.filter(pk=first.campaign_item.item_id).update(answer=LONG_ANSWER)
    return campaign, expert


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


def text_fits(page) -> dict:
    return page.evaluate(
        """(() => {
            const qa = document.getElementById('qa');
            const answer = document.getElementById('answer').getBoundingClientRect();
            const box = qa.getBoundingClientRect();
            return {scroll: qa.scrollHeight, client: qa.clientHeight,
                    answerBottom: answer.bottom, boxBottom: box.bottom,
                    docScroll: document.documentElement.scrollHeight, inner: window.innerHeight};
        })()"""
    )


@pytest.mark.parametrize("size", [(1280, 720), (1366, 768)])
def test_a_300_word_answer_is_visible_whole_without_scrolling(page, live_server, small, size):
    campaign, expert = small
    page.set_viewport_size({"width": size[0], "height": size[1]})
    site_login(page, live_server, expert.username)
    page.goto(live_server.url + rate_path(campaign, queue(campaign, expert)[0]))
    wait_ready(page)
    assert "treatment options considerably" in page.locator("#answer").inner_text()
    shot(page, f"rate-page-300-words-{size[0]}x{size[1]}")
    fits = text_fits(page)
    assert fits["scroll"] <= fits["client"], fits  # no inner scroll
    assert fits["answerBottom"] <= fits["boxBottom"] and fits["boxBottom"] <= size[1], fits
    assert fits["docScroll"] <= fits["inner"], fits  # nor does the page scroll
    assert page.locator("#more-text").is_hidden()
    # The form and the image keep their room.
    submit = page.locator("#submit-button").bounding_box()
    assert submit["y"] + submit["height"] <= size[1]
    image = page.locator("#main-image").bounding_box()
    assert image["width"] >= 300 and image["height"] >= 300
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    assert page.script_errors == []


def test_an_expert_flags_comments_scores_and_submits_with_keys_only(page, live_server, small):
    campaign, expert = small
    site_login(page, live_server, expert.username)
    page.focus("a.continue")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    first = queue(campaign, expert)[0]
    wait_ready(page)
    # The keys are on the page: the shortcut bar, the flags' numbers, the comment's key.
    bar = page.locator("#shortcuts").inner_text()
    for shown in ("F 1-6", "C", "J / K", "Space / ⇧Space"):
        assert shown in bar
    assert page.locator("#flags .key-n").first.inner_text() == "1"
    assert "C" in page.locator(".comment-label").inner_text()
    # Flag 1 and 2 (F then a digit), untick 2 again, then write a comment (C ... Esc).
    for key in ("f", "1", "f", "2", "f", "2", "f", "3"):
        page.keyboard.press(key)
    assert page.is_checked("input[name=flag][value=factual_error]")
    assert page.is_checked("input[name=flag][value=image_text_mismatch]")
    assert not page.is_checked("input[name=flag][value=hallucination]")
    # The digits after a flag score again; the anchor of the chosen score is shown beside it.
    page.keyboard.press("c")
    assert page.evaluate("document.activeElement.id") == "comment"
    page.keyboard.type("Caption says left, image shows right.")
    page.keyboard.press("Escape")
    for value in (2, 4, 3, 4):
        page.keyboard.press(str(value))
    line = page.locator("#anchor-accuracy").inner_text()
    assert line.startswith("2 — ") and "inaccurate" in line.lower()
    # F then a non-digit: the F is forgotten and the key works as always (no flag ticked).
    page.keyboard.press("f")
    page.keyboard.press("g")
    page.wait_for_selector("#guidelines-dialog[open]")
    page.keyboard.press("Escape")
    page.wait_for_selector("#guidelines-dialog:not([open])", state="attached")
    assert page.locator("input[name=flag]:checked").count() == 2
    with page.expect_navigation():
        page.keyboard.press("Enter")
    rating = Rating.objects.get(assignment=first)
    assert sorted(rating.flags) == ["factual_error", "image_text_mismatch"]
    assert rating.comment == "Caption says left, image shows right."
    assert {s.criterion.key: s.value for s in rating.scores.all()} == dict(
        zip(KEYS, [2, 4, 3, 4], strict=True)
    )
    assert page.script_errors == []


def _filter(page) -> dict:
    return page.evaluate(
        "(() => { const i = document.getElementById('main-image');"
        " return {t: i.style.transform, f: i.style.filter,"
        " w: document.getElementById('window-preset').value,"
        " zoom: document.getElementById('zoom-level').textContent}; })()"
    )


def test_viewer_settings_survive_to_the_next_item_and_r_resets_them(page, live_server, small):
    campaign, expert = small
    site_login(page, live_server, expert.username)
    items = queue(campaign, expert)
    page.goto(live_server.url + rate_path(campaign, items[0]))
    wait_ready(page)
    assert _filter(page)["f"] == "brightness(100%) contrast(100%)"
    page.keyboard.press("z")
    page.keyboard.press("z")
    page.keyboard.press("w")  # soft tissue: [0.2, 0.7] stretched
    assert _filter(page)["f"] == "brightness(110%) contrast(180%)"
    page.keyboard.press("w")  # bone: [0.45, 1]
    bone = _filter(page)
    assert bone["w"] == "bone" and bone["f"] == "brightness(70%) contrast(265%)"
    assert bone["zoom"] == "156%"
    for value in "4534":
        page.keyboard.press(value)
    with page.expect_navigation():
        page.keyboard.press("Enter")
    wait_ready(page)
    assert page.url.endswith(rate_path(campaign, items[1]))
    carried = _filter(page)
    assert carried["f"] == bone["f"] and carried["w"] == "bone" and carried["zoom"] == "156%"
    assert "scale(1.5625)" in carried["t"]
    # A slider moved by hand: kept too, the preset then reads "custom".
    page.locator("#contrast").fill("150")
    page.reload()
    wait_ready(page)
    assert _filter(page)["f"] == "brightness(70%) contrast(150%)"
    # R resets the view and forgets the settings.
    page.keyboard.press("r")
    reset = _filter(page)
    assert reset["f"] == "brightness(100%) contrast(100%)" and reset["zoom"] == "100%"
    page.reload()
    wait_ready(page)
    assert _filter(page)["f"] == "brightness(100%) contrast(100%)"
    # Per campaign: another campaign's page starts from its own (none saved: defaults).
    assert page.evaluate("Object.keys(localStorage).filter(k => k.startsWith('rate-view:'))") == []


def test_long_text_scrolls_by_keys(page, live_server, small):
    campaign, expert = small
    page.set_viewport_size({"width": 1280, "height": 420})  # short enough to need scrolling
    site_login(page, live_server, expert.username)
    page.goto(live_server.url + rate_path(campaign, queue(campaign, expert)[0]))
    wait_ready(page)
    top = "document.getElementById('qa').scrollTop"
    assert page.evaluate(top) == 0
    assert page.locator("#more-text").is_visible()
    page.keyboard.press("Space")
    first_page = page.evaluate(top)
    assert first_page > 150
    page.keyboard.press("Shift+Space")
    assert page.evaluate(top) == 0
    page.keyboard.press("j")
    assert 0 < page.evaluate(top) < first_page
    page.keyboard.press("k")
    assert page.evaluate(top) == 0
    page.keyboard.press("End")
    page.wait_for_function("document.getElementById('more-text').hidden")
    page.keyboard.press("Home")
    assert page.evaluate(top) == 0
    # Q folds the question away (and the choice is kept for the next page).
    assert page.locator("#question").is_visible()
    page.keyboard.press("q")
    assert not page.locator("#question").is_visible()
    page.reload()
    wait_ready(page)
    assert not page.locator("#question").is_visible()
    assert not Rating.objects.exists()  # Space scrolled, it did not choose a score
    assert page.script_errors == []


def test_history_shows_what_the_expert_saw_and_a_revision_returns_there(page, live_server, small):
    campaign, expert = small
    site_login(page, live_server, expert.username)
    items = queue(campaign, expert)
    for n, assignment in enumerate(items[:3]):
        page.goto(live_server.url + rate_path(campaign, assignment))
        wait_ready(page)
        for value in "3434":
            page.keyboard.press(value)
        with page.expect_navigation():
            page.keyboard.press("Enter")
        Assignment.objects.filter(pk=assignment.pk).update(active_seconds=40 + 10 * n)
    page.goto(live_server.url + reverse("annotations:history", args=[campaign.public_id]))
    row = page.locator(f"tr[data-assignment='{items[0].public_id}']")
    assert "The image is an axial contrast-enhanced computed tomography" in row.inner_text()
    assert "…" in row.inner_text()  # the first words, not the whole answer
    thumb = row.locator("img.thumb-s")
    src = thumb.get_attribute("src")
    assert src.startswith("/media/") or "size=128" in src
    page.wait_for_function(
        "Array.from(document.querySelectorAll('img.thumb-s'))"
        ".every(i => i.complete && i.naturalWidth > 0)"
    )
    # Blinded: the same opaque URL the rating page used, nothing about the file or the item.
    item = items[0].campaign_item.item
    assert str(item.pk) not in src.split("?")[0] and "png" not in src.lower()
    shot(page, "rate-history")
    with page.expect_navigation():
        row.locator("a").click()
    wait_ready(page)
    assert "back to History" in page.locator("#revise-notice").inner_text()
    page.keyboard.press("ArrowUp")
    page.keyboard.press("5")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.url.endswith(
        reverse("annotations:history", args=[campaign.public_id]) + f"#a-{items[0].public_id}"
    )
    assert page.locator(f"#a-{items[0].public_id}").is_visible()


def test_time_left_from_the_experts_median_active_time(page, live_server, small):
    campaign, expert = small
    items = queue(campaign, expert)
    site_login(page, live_server, expert.username)
    assert page.locator(".time-estimate").count() == 0  # nothing timed yet: no guess
    for assignment in items[:3]:
        page.goto(live_server.url + rate_path(campaign, assignment))
        wait_ready(page)
        for value in "3434":
            page.keyboard.press(value)
        with page.expect_navigation():
            page.keyboard.press("Enter")
    # Active times of 100, 110 and 500 s: the median (110 s, read from its class) x 1 item left.
    for seconds, assignment in zip((100, 110, 500), items[:3], strict=True):
        Assignment.objects.filter(pk=assignment.pk).update(active_seconds=seconds)
    page.goto(live_server.url + rate_path(campaign, items[3]))
    wait_ready(page)
    label = page.locator("#time-left").inner_text()
    assert label == "about 2 min left", label
    assert "median" in page.locator("#time-left").get_attribute("title")
    page.goto(live_server.url + reverse("annotations:queue"))
    assert page.locator(".queue-card .time-left").inner_text() == "about 2 min left"


def test_dark_reading_mode_is_kept_on_the_device(page, live_server, small):
    campaign, expert = small
    site_login(page, live_server, expert.username)
    items = queue(campaign, expert)
    page.goto(live_server.url + rate_path(campaign, items[0]))
    wait_ready(page)
    background = "getComputedStyle(document.querySelector('.reading')).backgroundColor"
    light = page.evaluate(background)
    page.keyboard.press("d")
    assert page.evaluate("document.body.classList.contains('theme-dark')")
    assert page.get_attribute("#theme-toggle", "aria-pressed") == "true"
    dark = page.evaluate(background)
    assert dark != light
    page.keyboard.press("3")
    shot(page, "rate-page-dark")
    page.goto(live_server.url + rate_path(campaign, items[1]))
    wait_ready(page)
    # Rendered dark by the server (no white flash), on the other expert pages too.
    assert "theme-dark" in page.evaluate("document.body.className")
    page.goto(live_server.url + reverse("annotations:queue"))
    assert "theme-dark" in page.evaluate("document.body.className")
    page.goto(live_server.url + rate_path(campaign, items[1]))
    wait_ready(page)
    page.click("#theme-toggle")
    assert not page.evaluate("document.body.classList.contains('theme-dark')")
    assert page.script_errors == []
