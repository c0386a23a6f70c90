"""Blinding: crawl everything an expert can reach during a campaign (pages, JSON, error
answers, image responses) and look for anything that would tell them how an item was made or
how others rated it: method keys and names, dataset and campaign names, item ids, external
ids, source references, file names and paths, image hashes, other experts' comments."""

import json
import re
import uuid
from html.parser import HTMLParser

import pytest
from django.test import Client
from django.urls import reverse

from audit.campaigns.models import Assignment
from audit.datasets.models import Item, Method, SourcePairImage
from tests.annotations.conftest import SCORES, api_url, queue_of, rate_url

pytestmark = pytest.mark.django_db

OTHER_COMMENT = "OTHER-EXPERT-SECRET-COMMENT"
# Keys that would reveal how an item was made or which item it is, in any JSON an expert gets.
FORBIDDEN_KEYS = {
    "method", "method_key", "dataset", "item", "item_id", "campaign_item", "source_pair",
    "source_ref", "external_id", "path", "sha256", "provenance", "is_repeat", "is_gold",
    "gold_scores", "stratum", "expert",
}  # fmt: skip


class Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.hrefs, self.srcs = [], []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "a" and attrs.get("href", "").startswith("/"):
            self.hrefs.append(attrs["href"])
        if tag == "img" and attrs.get("src"):
            self.srcs.append(attrs["src"])


class Crawl:
    def __init__(self, client):
        self.client = client
        self.texts: list[tuple[str, str]] = []
        self.images: set[str] = set()
        self.json: list[tuple[str, object]] = []

    def record(self, url, response):
        text = response.content.decode() if not getattr(response, "streaming", False) else ""
        headers = " ".join(f"{k}: {v}" for k, v in response.headers.items())
        self.texts.append((url, text + "\n" + headers))
        if response.get("Content-Type", "").startswith("application/json") and text:
            self.json.append((url, json.loads(text)))
        if "text/html" in response.get("Content-Type", ""):
            parser = Links()
            parser.feed(text)
            self.images.update(parser.srcs)
            for config in re.findall(r'type="application/json">(.*?)</script>', text, re.S):
                data = json.loads(config)
                self.json.append((url, data))
                self.images.update(i["url"] for i in data.get("images", []))
        return response

    def get(self, url):
        return self.record(url, self.client.get(url))

    def post(self, url, body):
        return self.record(url, self.client.post(url, body, content_type="application/json"))


def _walk(data, path=""):
    if isinstance(data, dict):
        for key, value in data.items():
            yield path, key, value
            yield from _walk(value, f"{path}.{key}")
    elif isinstance(data, list):
        for value in data:
            yield from _walk(value, path + "[]")


def test_nothing_an_expert_can_reach_reveals_how_items_were_made(launched_campaign):
    campaign, owner, experts = launched_campaign
    expert, other_expert = experts[0], experts[1]
    other = Client()
    other.force_login(other_expert)
    for assignment in queue_of(campaign, other_expert)[:4]:
        other.post(
            api_url("submit", assignment),
            {"client_id": str(uuid.uuid4()), "scores": SCORES, "comment": OTHER_COMMENT},
            content_type="application/json",
        )

    client = Client()
    client.force_login(expert)
    crawl = Crawl(client)
    mine = queue_of(campaign, expert)
    crawl.get(reverse("annotations:queue"))
    crawl.get(reverse("annotations:campaign", args=[campaign.public_id]))
    crawl.get(reverse("expert-api:campaigns"))
    crawl.get(reverse("expert-api:next", args=[campaign.public_id]))
    # Rate half, with a draft, a validation error, a retry and a revision on the way.
    for n, assignment in enumerate(mine):
        crawl.get(rate_url(assignment))
        crawl.get(api_url("assignment", assignment))
        if n % 2:
            continue
        crawl.post(api_url("draft", assignment), {"scores": {"accuracy": 2}, "comment": "draft"})
        crawl.post(api_url("submit", assignment), {"client_id": str(uuid.uuid4()), "scores": {}})
        client_id = str(uuid.uuid4())
        body = {"client_id": client_id, "scores": SCORES, "flags": ["hallucination"]}
        crawl.post(api_url("submit", assignment), body)
        crawl.post(api_url("submit", assignment), body)
        crawl.get(rate_url(assignment))
    crawl.post(
        api_url("submit", mine[0]), {"client_id": str(uuid.uuid4()), "scores": SCORES}
    )  # a revision
    crawl.get(reverse("annotations:history", args=[campaign.public_id]))
    crawl.get(reverse("expert-api:history", args=[campaign.public_id]))
    # Error answers: another expert's item, an outsider's view of the campaign, bad ids.
    theirs = queue_of(campaign, other_expert)[0]
    crawl.get(rate_url(theirs))
    crawl.post(api_url("submit", theirs), {"client_id": str(uuid.uuid4()), "scores": SCORES})
    crawl.get(reverse("expert-api:next", args=[uuid.uuid4()]))
    # Finish the queue: the done page and the empty "next".
    for assignment in queue_of(campaign, expert):
        if assignment.status == Assignment.Status.PENDING:
            client.post(
                api_url("submit", assignment),
                {"client_id": str(uuid.uuid4()), "scores": SCORES},
                content_type="application/json",
            )
    crawl.get(reverse("annotations:campaign", args=[campaign.public_id]))
    crawl.get(reverse("expert-api:next", args=[campaign.public_id]))
    crawl.get(reverse("annotations:queue"))
    # Every image the pages pointed to, full size and thumbnail.
    assert crawl.images
    for src in sorted(crawl.images):
        response = crawl.get(src)
        assert response.status_code == 200, src
        assert response["Content-Disposition"] == "inline"
        b"".join(response.streaming_content)

    # --- what must never appear ---------------------------------------------------------
    items = Item.objects.filter(pk__in=campaign.items.values("item_id")).select_related(
        "source_pair", "dataset"
    )
    forbidden = {campaign.name, "images/pmc_", "pmc_", ".png", ".jpg"}
    for method in Method.objects.all():
        forbidden |= {method.key, method.name}
    for item in items:
        forbidden |= {item.dataset.name, item.external_id, item.content_hash}
        if item.source_pair.source_ref:
            forbidden.add(item.source_pair.source_ref)
        forbidden.add(item.source_pair.key)
    for link in SourcePairImage.objects.filter(source_pair__in=[i.source_pair for i in items]):
        forbidden.add(link.path)
        if link.image:
            forbidden.add(link.image.sha256)
    forbidden |= {OTHER_COMMENT, other_expert.username, owner.username}
    forbidden.discard("")

    item_ids = {str(pk) for pk in items.values_list("pk", flat=True)} | {
        str(pk) for pk in campaign.items.values_list("pk", flat=True)
    }
    id_like = re.compile(
        r"\b(?:item|items|item_id|itemId|item-id|campaign_item|campaign-item|pk|data-id)"
        r"[\"'\s:=/#_-]{1,3}(\d+)\b(?!\s+of\b)",
        re.I,
    )
    assert len(crawl.texts) > 60
    for url, text in crawl.texts:
        for needle in forbidden:
            assert needle not in text, f"{needle!r} leaked in {url}"
        for match in id_like.finditer(text):
            assert match.group(1) not in item_ids, f"item id {match.group(0)!r} in {url}"
        assert not re.search(r"data-(?:method|dataset|item|source)", text), url

    for url, data in crawl.json:
        for path, key, value in _walk(data):
            assert key not in FORBIDDEN_KEYS, f"{path}.{key} in {url}"
            if key in ("id", "pk") or key.endswith("_id"):
                assert not isinstance(value, int), f"integer id {path}.{key} in {url}"

    # Titles carry the campaign's expert title and the position only.
    for url, text in crawl.texts:
        title = re.search(r"<title>(.*?)</title>", text, re.S)
        if title and "/rate/" in url and url.count("/") == 5:
            assert re.fullmatch(
                rf"{re.escape(campaign.expert_title)} · item \d+ of \d+", title.group(1).strip()
            ), title.group(1)
