"""The expert pages in Simplified Chinese: the browser's language is the default, the expert's
choice (set_language, a cookie) wins over it, and no message of the project's own catalogue is
left in English on the queue, the rating page, History or the done page."""

import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import translation

from tests.annotations.conftest import queue_of, rate_url, submit
from tests.conftest import launch_small_campaign
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

CATALOGUE = Path(settings.BASE_DIR) / "locale" / "zh_Hans" / "LC_MESSAGES"
ZH = {"HTTP_ACCEPT_LANGUAGE": "zh-Hans"}
PLACEHOLDER = re.compile(r"%\((\w+)\)s")
# What a placeholder may stand for when looking for a message left in English: a count, a
# status, else any text (a title).
NUMBERS = {"n", "total", "done", "left", "low", "high", "failure_limit", "status"}
TAG = re.compile(r"<[^>]+>")
CODE = re.compile(r"<code>.*?</code>")
# Text the page puts around a message (arrows, separators) is not part of it.
EDGES = " \t\n←→·"
# Labels defined in Python (flags, shortcuts, the time left, the guess options) are marked too:
# nothing is exempt.
PENDING: set[str] = set()


def _unquote(line: str) -> str:
    return json.loads(line)  # a PO string line is a JSON-compatible double-quoted string


def catalogue_entries(domain: str) -> list[dict[str, str]]:
    """The entries of locale/zh_Hans/LC_MESSAGES/<domain>.po (header and obsolete entries left
    out): msgctxt, msgid, msgid_plural and msgstr (a plural entry's msgstr[0]: Chinese has one
    form). A small reader: polib is not a dependency."""
    empty = {"msgctxt": [], "msgid": [], "msgid_plural": [], "msgstr": []}
    entries, key, current = [], None, {k: [] for k in empty}
    lines = (CATALOGUE / f"{domain}.po").read_text(encoding="utf-8").splitlines()
    for line in [*lines, ""]:  # a blank line ends the last entry too
        if line.startswith(("msgctxt ", "msgid ", "msgid_plural ", "msgstr ", "msgstr[0] ")):
            key, _, rest = line.partition(" ")
            key = "msgstr" if key == "msgstr[0]" else key
            current[key] = [_unquote(rest)]
        elif line.startswith('"') and key:
            current[key].append(_unquote(line))
        elif line.startswith("msgstr["):
            key = None  # further plural forms: none in Chinese
        elif not line.strip():
            entry = {k: "".join(v) for k, v in current.items()}
            if entry["msgid"]:
                entries.append(entry)
            key, current = None, {k: [] for k in empty}
    return entries


def catalogue(domain: str) -> dict[str, str]:
    """msgid -> msgstr of locale/zh_Hans/LC_MESSAGES/<domain>.po. Messages with a context are
    left out: a context marks a word that is also data (a criterion named "Accuracy") or a
    piece of CSS (the PDF's page footer), not something to look for on a page."""
    return {e["msgid"]: e["msgstr"] for e in catalogue_entries(domain) if not e["msgctxt"]}


class _Text(HTMLParser):
    """Each text node and each human-read attribute of a page, whitespace-normalised."""

    ATTRIBUTES = {"title", "aria-label", "placeholder", "alt"}

    def __init__(self):
        super().__init__()
        self.pieces: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style"):
            self._skip += 1
        for name, value in attrs:
            if name in self.ATTRIBUTES and value:
                self.pieces.append(value)

    def handle_endtag(self, tag):
        if tag in ("script", "style"):
            self._skip -= 1

    def handle_data(self, data):
        if not self._skip:
            self.pieces.append(data)


def texts(html: str) -> set[str]:
    parser = _Text()
    parser.feed(html)
    return {" ".join(p.split()).strip(EDGES) for p in parser.pieces} - {""}


def untranslated(html: str, entries: dict[str, str]) -> list[str]:
    """The catalogue's translated messages found in English on the page. A message with markup
    is split at its tags; a part counts when a whole text node reads it (placeholders match any
    value), so a word inside the data set's own text is not mistaken for a message."""
    nodes = texts(html)
    found = []
    for msgid, msgstr in entries.items():
        if not msgstr:
            continue
        # What a message shows as code (a queue's or a setting's name) stays as it is.
        for part in TAG.split(CODE.sub("", msgid)):
            part = " ".join(part.split()).strip(EDGES)
            if not re.search(r"[A-Za-z]{2}", PLACEHOLDER.sub("", part)):
                continue  # only a placeholder or a key name such as "F"
            pieces = PLACEHOLDER.split(part)  # text, name, text, name, ..., text
            pattern = "".join(
                re.escape(p) if i % 2 == 0 else (r"\w+" if p in NUMBERS else ".+")
                for i, p in enumerate(pieces)
            )
            if any(re.fullmatch(pattern, node) for node in nodes - PENDING):
                found.append(part)
    return found


@pytest.fixture
def expert_pages(rated_dataset, client):
    """An expert of a small campaign (4 items) with one item rated and one skipped, and the
    URLs of their queue, a rating page (of a rated item: the revision notice shows), History,
    and the done page of a second campaign they finished."""
    experts = [UserFactory(username=f"zh_{c}") for c in "ab"]
    campaign = launch_small_campaign(rated_dataset, experts=experts, raters_per_item=2, seed=3,
                                     name="Open", expert_title="Open audit")  # fmt: skip
    finished = launch_small_campaign(rated_dataset, experts=experts, raters_per_item=2, seed=4,
                                     name="Finished", expert_title="Finished audit")  # fmt: skip
    expert = experts[0]
    client.force_login(expert)
    mine = queue_of(campaign, expert)
    assert submit(client, mine[0], comment="note").status_code == 201
    assert submit(client, mine[1], skipped=True, skip_reason="x", scores={}).status_code == 201
    for assignment in queue_of(finished, expert):
        assert submit(client, assignment).status_code == 201
    return client, {
        "queue": reverse("annotations:queue"),
        "rate": rate_url(mine[0]),
        "rate_pending": rate_url(mine[2]),
        "history": reverse("annotations:history", args=[campaign.public_id]),
        "done": reverse("annotations:campaign", args=[finished.public_id]),
    }


def test_the_compiled_catalogue_holds_every_translation():
    """The committed .mo matches the .po: every translated message comes back in Chinese."""
    entries = catalogue("django")
    assert len(entries) > 50 and all(entries.values()), "an empty msgstr in django.po"

    def compiled(e):
        if e["msgid_plural"]:
            return (
                translation.npgettext(e["msgctxt"], e["msgid"], e["msgid_plural"], 1)
                if (e["msgctxt"])
                else translation.ngettext(e["msgid"], e["msgid_plural"], 1)
            )
        if e["msgctxt"]:
            return translation.pgettext(e["msgctxt"], e["msgid"])
        return translation.gettext(e["msgid"])

    with translation.override("zh-hans"):
        stale = [e["msgid"] for e in catalogue_entries("django") if compiled(e) != e["msgstr"]]
    assert not stale, f"django.mo is older than django.po for: {stale[:5]}"


@pytest.mark.parametrize("page", ["queue", "rate", "rate_pending", "history", "done"])
def test_browser_language_gives_the_page_in_chinese(expert_pages, page):
    client, urls = expert_pages
    response = client.get(urls[page], **ZH)
    assert response.status_code == 200
    assert response["Content-Language"] == "zh-hans"
    html = response.content.decode()
    assert '<html lang="zh-hans">' in html and "退出登录" in html  # the header's "Sign out"
    expected = {
        "queue": ["我的评审", "继续", "我的评分"],
        "rate": ["评审指南", "提交", "跳过", "标记", "备注", "您已为此条目评分"],
        "rate_pending": ["评审指南", "提交", "跳过此条目", "图像无法判读"],
        "history": ["我的评分", "已跳过", "已评分", "修改"],
        "done": ["全部完成", "返回我的评审"],
    }[page]
    missing = [text for text in expected if text not in html]
    assert not missing, f"{page}: no {missing}"
    left = untranslated(html, catalogue("django"))
    assert not left, f"{page}: English messages left untranslated: {left}"


@pytest.mark.parametrize("page", ["queue", "rate", "history", "done"])
def test_english_is_the_default(expert_pages, page):
    client, urls = expert_pages
    html = client.get(urls[page]).content.decode()
    assert '<html lang="en">' in html and "Sign out" in html and "退出登录" not in html
    assert not re.search(r"[\u4e00-\u9fff]", html.replace("简体中文", ""))  # the switcher's name
    # The same check that passes the Chinese pages finds the English ones.
    assert "Your audits" in untranslated(html, catalogue("django"))


def test_the_experts_choice_wins_over_the_browser(expert_pages):
    client, urls = expert_pages
    response = client.post(
        reverse("set_language"), {"language": "zh-hans", "next": urls["queue"]}, **ZH
    )
    assert response.status_code == 302 and response["Location"] == urls["queue"]
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "zh-hans"
    html = client.get(urls["rate"], HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "评审指南" in html and not untranslated(html, catalogue("django"))

    client.post(reverse("set_language"), {"language": "en", "next": urls["queue"]})
    html = client.get(urls["rate"], **ZH).content.decode()
    assert "Guidelines" in html and "评审指南" not in html


def test_the_switcher_offers_both_languages_and_marks_the_current_one(expert_pages):
    client, urls = expert_pages
    html = client.get(urls["queue"], **ZH).content.decode()
    assert f'action="{reverse("set_language")}"' in html
    assert '<option value="zh-hans" lang="zh-hans" selected>简体中文</option>' in html
    assert '<option value="en" lang="en">English</option>' in html


def test_the_rating_page_loads_the_script_catalogue_before_its_modules(expert_pages):
    client, urls = expert_pages
    html = client.get(urls["rate"], **ZH).content.decode()
    catalogue_at = html.index(f'<script src="{reverse("javascript-catalog")}"></script>')
    assert catalogue_at < html.index('<script type="module"')


def test_the_script_catalogue_serves_every_translated_message(client):
    entries = catalogue("djangojs")
    assert entries and all(entries.values()), "an empty msgstr in djangojs.po"
    body = client.get(reverse("javascript-catalog"), **ZH).content.decode()
    missing = [m for m, s in entries.items() if json.dumps(s) not in body]
    assert not missing, f"not in the served catalogue (djangojs.mo stale?): {missing[:5]}"
    english = client.get(reverse("javascript-catalog")).content.decode()
    assert json.dumps(entries["Give a score."]) not in english


def test_quick_skip_reasons_are_stored_in_english_whatever_the_language(expert_pages):
    """The buttons read in Chinese; the reason they write stays English, so an owner counts one
    reason whatever language its experts used."""
    client, urls = expert_pages
    html = client.get(urls["rate_pending"], **ZH).content.decode()
    assert 'data-reason="Outside my expertise">超出我的专业范围</button>' in html
