# ruff: noqa: RUF001  (Chinese punctuation in Chinese texts)
"""A campaign's texts in the expert's language (issue 15): an expert whose page is in Chinese
reads the title, guidelines, criterion names, questions and anchors the owner gave in Chinese,
and the English for any text not given; the expert API and the owner's preview follow the
request's language; the stored ratings and the criteria's primary texts stay English."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from annotations.models import Score
from audit.campaigns.criteria import DEFAULT_CRITERIA
from tests.annotations.conftest import api_url, queue_of, rate_url, submit
from tests.conftest import launch_small_campaign
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

ZH = {"HTTP_ACCEPT_LANGUAGE": "zh-Hans"}
EN = {"HTTP_ACCEPT_LANGUAGE": "en"}

ACCURACY_ZH = {
    "name": "准确性",
    "question": "文本是否准确反映图像中的医学特征？",
    "anchors": {
        "5": "完全准确：每一处陈述都与图像相符。",
        "4": "大体准确。",
        "3": "部分准确。",
        "2": "大多不准确。",
        "1": "完全不准确。",
    },
}
# Partial: the name and one anchor only; the question and the other anchors read in English.
RELEVANCE_ZH = {"name": "相关性", "anchors": {"5": "完全围绕图像的关键医学特征。"}}


def criteria_zh() -> list[dict]:
    criteria = [dict(c) for c in DEFAULT_CRITERIA]
    criteria[0]["translations"] = {"zh-hans": ACCURACY_ZH}
    criteria[1]["translations"] = {"zh-hans": RELEVANCE_ZH}
    return criteria


@pytest.fixture
def bilingual(rated_dataset, client):
    """(client of the expert, campaign with Chinese texts, campaign with a Chinese title only,
    the expert)."""
    expert = UserFactory(username="zh_rater")
    full = launch_small_campaign(
        rated_dataset, experts=[expert], raters_per_item=1, seed=3, name="Full",
        expert_title="Image-text audit", guidelines="Judge **against the image**.",
        translations={"zh-hans": {"expert_title": "图文质量评审",
                                  "guidelines": "请**对照图像**评判。"}},
        criteria=criteria_zh(),
    )  # fmt: skip
    partial = launch_small_campaign(
        rated_dataset, experts=[expert], raters_per_item=1, seed=4, name="Partial",
        expert_title="Second audit", guidelines="English guidelines only.",
        translations={"zh-hans": {"expert_title": "第二次评审"}},
    )  # fmt: skip
    client.force_login(expert)
    return client, full, partial, expert


def test_an_expert_reading_chinese_sees_the_chinese_texts(bilingual):
    client, full, _partial, expert = bilingual
    first = queue_of(full, expert)[0]
    html = client.get(rate_url(first), **ZH).content.decode()
    assert '<h1 class="rate-title">图文质量评审 ' in html
    assert "<title>图文质量评审 · " in html
    # Criterion names, questions and the anchors shown next to the focused score.
    assert '<legend class="name" title="文本是否准确反映图像中的医学特征？">准确性</legend>' in html
    assert 'data-anchor="完全准确：每一处陈述都与图像相符。"' in html
    assert 'title="1: 完全不准确。"' in html
    # The guidelines dialog: the Chinese guidelines and every score definition.
    assert "<p>请<strong>对照图像</strong>评判。</p>" in html
    assert "<caption>准确性 — 文本是否准确反映图像中的医学特征？</caption>" in html
    assert "Judge" not in html and "Complete accuracy" not in html
    # The script's own copy of the names (its "give a score for ..." message).
    assert '"name": "\\u51c6\\u786e\\u6027"' in html  # 准确性, as json_script writes it


def test_a_partial_translation_reads_in_english_text_by_text(bilingual):
    client, full, partial, expert = bilingual
    html = client.get(rate_url(queue_of(full, expert)[0]), **ZH).content.decode()
    relevance = next(c for c in DEFAULT_CRITERIA if c["key"] == "relevance")
    # Relevance: the Chinese name and anchor 5, the English question and anchors 1-4.
    assert f'<legend class="name" title="{relevance["question"]}"'.replace("'", "&#x27;") in html
    assert ">相关性</legend>" in html
    assert 'data-anchor="完全围绕图像的关键医学特征。"' in html
    assert f'data-anchor="{relevance["anchors"]["4"]}"' in html
    # Completeness and usefulness: nothing given, all English.
    assert ">Completeness</legend>" in html and ">Usefulness</legend>" in html
    # A campaign with a Chinese title only: English guidelines under the Chinese title.
    html = client.get(rate_url(queue_of(partial, expert)[0]), **ZH).content.decode()
    assert '<h1 class="rate-title">第二次评审 ' in html
    assert "<p>English guidelines only.</p>" in html
    assert ">Accuracy</legend>" in html


def test_an_expert_reading_english_sees_the_english_texts(bilingual):
    client, full, _partial, expert = bilingual
    html = client.get(rate_url(queue_of(full, expert)[0]), **EN).content.decode()
    assert '<h1 class="rate-title">Image-text audit ' in html
    assert ">Accuracy</legend>" in html and ">Relevance</legend>" in html
    assert "<p>Judge <strong>against the image</strong>.</p>" in html
    for text in ("图文", "准确性", "相关性", "完全准确", "对照图像"):
        assert text not in html


def test_the_cached_criteria_serve_both_languages(bilingual):
    """A launched campaign's criteria are read once per process: whichever language came first,
    the other is right too, and a page costs the same queries in either language."""
    client, full, _partial, expert = bilingual
    url = rate_url(queue_of(full, expert)[0])
    counts = {}
    for language, headers, name in [("zh", ZH, "准确性"), ("en", EN, "Accuracy"),
                                    ("zh again", ZH, "准确性")]:  # fmt: skip
        with CaptureQueriesContext(connection) as queries:
            html = client.get(url, **headers).content.decode()
        assert f">{name}</legend>" in html, language
        counts[language] = len(queries)
    assert counts["en"] == counts["zh again"]


def test_the_queue_history_and_done_pages_show_the_chinese_title(bilingual):
    client, full, _partial, expert = bilingual
    queue = client.get(reverse("annotations:queue"), **ZH).content.decode()
    assert "<h2>图文质量评审</h2>" in queue and "<h2>第二次评审</h2>" in queue
    assert "Image-text audit" not in queue
    for assignment in queue_of(full, expert):
        assert submit(client, assignment).status_code == 201
    history = client.get(reverse("annotations:history", args=[full.public_id]), **ZH)
    history = history.content.decode()
    assert "图文质量评审" in history and '<th scope="col">准确性</th>' in history
    assert '<th scope="col">Completeness</th>' in history
    done = client.get(reverse("annotations:campaign", args=[full.public_id]), **ZH)
    assert "<h1>图文质量评审</h1>" in done.content.decode()


def test_the_expert_api_follows_the_request_language(bilingual):
    client, full, _partial, expert = bilingual
    first = queue_of(full, expert)[0]
    for url in (reverse("expert-api:next", args=[full.public_id]), api_url("assignment", first)):
        body = client.get(url, **ZH).json()
        assert body["title"] == "图文质量评审"
        accuracy, relevance, completeness = body["criteria"][:3]
        assert accuracy["name"] == "准确性" and accuracy["anchors"] == ACCURACY_ZH["anchors"]
        assert relevance["name"] == "相关性"
        assert relevance["question"] == DEFAULT_CRITERIA[1]["question"]
        assert relevance["anchors"]["5"] == RELEVANCE_ZH["anchors"]["5"]
        assert relevance["anchors"]["1"] == DEFAULT_CRITERIA[1]["anchors"]["1"]
        assert completeness["name"] == "Completeness"
        english = client.get(url, **EN).json()
        assert english["title"] == "Image-text audit"
        assert [c["name"] for c in english["criteria"]] == [c["name"] for c in DEFAULT_CRITERIA]
    campaigns = client.get(reverse("expert-api:campaigns"), **ZH).json()
    assert {c["title"] for c in campaigns} == {"图文质量评审", "第二次评审"}


def test_the_owners_preview_shows_the_active_language(bilingual):
    client, full, _partial, _expert = bilingual
    client.force_login(full.created_by)
    url = reverse("site:campaign-preview", args=[full.public_id])
    html = client.get(url, **ZH).content.decode()
    assert ">准确性</legend>" in html and 'data-anchor="完全不准确。"' in html
    assert "<p>请<strong>对照图像</strong>评判。</p>" in html
    html = client.get(url, **EN).content.decode()
    assert ">Accuracy</legend>" in html and "准确性" not in html


def test_ratings_given_in_chinese_are_stored_as_in_english(bilingual):
    client, full, _partial, expert = bilingual
    first = queue_of(full, expert)[0]
    response = client.post(
        api_url("submit", first),
        {"client_id": "0b7d6c1e-9f5a-4c1b-8a41-3f4f1d1c2e11",
         "scores": {"accuracy": 4, "relevance": 5, "completeness": 3, "usefulness": 4}},
        content_type="application/json", **ZH,
    )  # fmt: skip
    assert response.status_code == 201, response.content
    stored = dict(
        Score.objects.filter(rating__assignment=first).values_list("criterion__key", "value")
    )
    assert stored == {"accuracy": 4, "relevance": 5, "completeness": 3, "usefulness": 4}
    # The criteria's primary texts (what exports and analysis read) are the English ones.
    assert list(full.criteria.values_list("name", flat=True)) == [
        c["name"] for c in DEFAULT_CRITERIA
    ]
