"""The dataset browser: an owner lists their datasets and pages through a dataset's items with
thumbnails, filtered by method, modality, body part and text; each filter shows exactly the
items the ORM selects, item text is escaped, and nobody else learns the dataset exists."""

import re

import pytest
from django.db.models import Q
from django.urls import reverse

from audit.datasets import views
from audit.datasets.models import Dataset, Item
from audit.datasets.selectors import ItemFilters, dataset_items_page
from tests.factories import StaffFactory, UserFactory

pytestmark = pytest.mark.django_db


def shown_items(response) -> list[int]:
    assert response.status_code == 200
    return [int(pk) for pk in re.findall(r'data-item="(\d+)"', response.content.decode())]


def browse(client, dataset, **params):
    return client.get(reverse("datasets:browse", args=[dataset.pk]), params)


@pytest.fixture
def owner_client(client, rated_dataset):
    client.force_login(rated_dataset.owner)
    return client


def test_the_owner_lists_their_datasets_and_not_others(owner_client, rated_dataset):
    other = Dataset.objects.create(name="Someone else's", owner=UserFactory(username="owner9"))
    page = owner_client.get(reverse("datasets:list")).content.decode()
    assert reverse("datasets:browse", args=[rated_dataset.pk]) in page
    assert reverse("datasets:browse", args=[other.pk]) not in page and other.name not in page


def test_staff_list_every_dataset(client, rated_dataset):
    other = Dataset.objects.create(name="Someone else's", owner=UserFactory(username="owner9"))
    client.force_login(StaffFactory(username="staff9"))
    page = client.get(reverse("datasets:list")).content.decode()
    for dataset in (rated_dataset, other):
        assert reverse("datasets:browse", args=[dataset.pk]) in page


def test_the_owner_sees_every_item_with_its_thumbnail(owner_client, rated_dataset):
    response = browse(owner_client, rated_dataset)
    expected = list(rated_dataset.items.order_by("pk").values_list("pk", flat=True))
    assert len(expected) <= views.BROWSE_PAGE_SIZE  # one page
    assert shown_items(response) == expected
    html = response.content.decode()
    assert f"{len(expected)} items." in html
    thumbnails = re.findall(r'<img src="([^"]+)"', html)
    assert len(thumbnails) == len(expected)
    image = owner_client.get(thumbnails[0].replace("&amp;", "&"))
    assert image.status_code == 200 and image["Content-Type"] == "image/jpeg"


@pytest.mark.parametrize("field", ["method", "modality", "body_part"])
def test_each_filter_shows_what_the_orm_selects(owner_client, rated_dataset, field):
    items = rated_dataset.items.all()
    lookup = "method__key" if field == "method" else field
    values = sorted(set(items.exclude(**{lookup: ""}).values_list(lookup, flat=True)))
    assert len(values) > 1  # the filter has something to tell apart
    for value in values:
        expected = list(items.filter(**{lookup: value}).order_by("pk").values_list("pk", flat=True))
        assert 0 < len(expected) < items.count()
        assert shown_items(browse(owner_client, rated_dataset, **{field: value})) == expected


def test_the_filter_choices_are_the_datasets_values(owner_client, rated_dataset):
    html = browse(owner_client, rated_dataset).content.decode()
    select = html.split('name="modality"', 1)[1].split("</select>", 1)[0]
    options = re.findall(r'<option value="([^"]*)"', select)
    modalities = rated_dataset.items.exclude(modality="").values_list("modality", flat=True)
    assert options == ["", *sorted(set(modalities))]


def test_filters_combine_with_text_search(owner_client, rated_dataset):
    item = rated_dataset.items.exclude(question="").order_by("pk").last()

    def matching(word):
        return rated_dataset.items.filter(Q(question__icontains=word) | Q(answer__icontains=word))

    # The answer's rarest word: a search that keeps some items and drops others.
    word = min(set(re.findall(r"[A-Za-z]{5,}", item.answer)), key=lambda w: matching(w).count())
    items = matching(word)
    expected = list(items.order_by("pk").values_list("pk", flat=True))
    assert item.pk in expected and len(expected) < rated_dataset.items.count()
    assert shown_items(browse(owner_client, rated_dataset, q=word.upper())) == expected
    narrower = items.filter(method=item.method).order_by("pk").values_list("pk", flat=True)
    shown = shown_items(browse(owner_client, rated_dataset, q=word, method=item.method.key))
    assert shown == list(narrower)


def test_no_match_and_unknown_choices(owner_client, rated_dataset):
    response = browse(owner_client, rated_dataset, q="no-such-text-anywhere")
    assert shown_items(response) == [] and "No items match" in response.content.decode()
    # An unknown method (an old link) shows the whole dataset rather than an error.
    everything = shown_items(browse(owner_client, rated_dataset, method="no_such_method"))
    assert len(everything) == rated_dataset.items.count()


def test_item_text_is_escaped(owner_client, rated_dataset):
    item = rated_dataset.items.order_by("pk").first()
    Item.objects.filter(pk=item.pk).update(
        question='<script>alert("q")</script>', answer="<img src=x onerror=alert(1)>"
    )
    html = browse(owner_client, rated_dataset).content.decode()
    assert "<script>alert" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(&quot;q&quot;)&lt;/script&gt;" in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    found = shown_items(browse(owner_client, rated_dataset, q="<script>"))
    assert found == [item.pk]


def test_a_long_answer_opens_in_place_and_stays_escaped(owner_client, rated_dataset):
    item = rated_dataset.items.order_by("pk").first()
    answer = "<script>alert(1)</script> " + "a long answer " * 60 + "THE END"
    Item.objects.filter(pk=item.pk).update(answer=answer)
    html = browse(owner_client, rated_dataset).content.decode()
    block = html.split(f'data-item="{item.pk}"', 1)[1].split("</li>", 1)[0]
    assert "<details" in block and "THE END" in block  # the whole answer, behind "more"
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in block


def test_only_the_owner_and_staff_may_browse(client, launched_campaign):
    campaign, _owner, experts = launched_campaign
    dataset = campaign.datasets.first()
    url = reverse("datasets:browse", args=[dataset.pk])
    other_owner = UserFactory(username="owner9")
    Dataset.objects.create(name="Theirs", owner=other_owner)
    for user in (other_owner, experts[0]):
        client.force_login(user)
        assert client.get(url).status_code == 404, user
    client.force_login(experts[0])  # an expert may not even list datasets
    assert client.get(reverse("datasets:list")).status_code == 404
    client.logout()
    response = client.get(url)
    assert response.status_code == 302 and "login" in response["Location"]
    client.force_login(StaffFactory(username="staff9"))
    assert shown_items(client.get(url))


def test_pages_walk_forward_and_back(client, tmp_path):
    from audit.site.demo import import_demo_dataset

    owner = UserFactory(username="owner7")
    dataset = import_demo_dataset(folder=tmp_path / "big", n_pairs=14, seed=9, owner=owner,
                                  name="Big set")  # fmt: skip
    all_items = list(dataset.items.order_by("pk").values_list("pk", flat=True))
    assert len(all_items) > views.BROWSE_PAGE_SIZE
    client.force_login(owner)
    first = browse(client, dataset)
    assert shown_items(first) == all_items[: views.BROWSE_PAGE_SIZE]
    html = first.content.decode()
    assert 'rel="prev"' not in html
    next_url = re.search(r'href="([^"]+)" rel="next"', html).group(1).replace("&amp;", "&")
    second = client.get(next_url)
    assert shown_items(second) == all_items[views.BROWSE_PAGE_SIZE :]
    html = second.content.decode()
    assert 'rel="next"' not in html
    prev_url = re.search(r'href="([^"]+)" rel="prev"', html).group(1).replace("&amp;", "&")
    assert shown_items(client.get(prev_url)) == all_items[: views.BROWSE_PAGE_SIZE]


def test_keyset_pages_cover_a_filtered_dataset_once(rated_dataset):
    filters = ItemFilters(method="mllm_reformatted")
    expected = list(
        rated_dataset.items.filter(method__key="mllm_reformatted")
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    pages, after = [], None
    while True:
        page = dataset_items_page(rated_dataset, filters, after=after, size=3)
        pages.append([i.pk for i in page.items])
        if page.next_after is None:
            break
        after = page.next_after
    assert [pk for p in pages for pk in p] == expected
    assert all(len(p) == 3 for p in pages[:-1])
    # Back from the last page retraces the same pages.
    back, before = [], dataset_items_page(rated_dataset, filters, after=after, size=3)
    while before.previous_before is not None:
        before = dataset_items_page(rated_dataset, filters, before=before.previous_before, size=3)
        back.append([i.pk for i in before.items])
    assert back == pages[-2::-1]


def test_a_text_search_reads_a_bounded_window_per_page(rated_dataset):
    """Each page reads at most ``scan_window`` item ids; following the pages finds every match
    once, in order, whether a page stopped at its size or at its window."""
    items, total = rated_dataset.items.all(), rated_dataset.items.count()

    def matching(word):
        return items.filter(Q(question__icontains=word) | Q(answer__icontains=word))

    # A word that about half the items hold: matches spread over several windows.
    words = set(re.findall(r"[a-z]{5,}", " ".join(i.answer for i in items[:4])))
    word = min(sorted(words), key=lambda w: abs(matching(w).count() - total / 2))
    expected = list(matching(word).order_by("pk").values_list("pk", flat=True))
    assert 4 < len(expected) < total
    found, after, stopped_at_window = [], None, 0
    while True:
        page = dataset_items_page(
            rated_dataset, ItemFilters(text=word), after=after, size=4, scan_window=5
        )
        pks = [i.pk for i in page.items]
        assert len(pks) <= 4 and (not pks or pks[-1] - pks[0] < 5)
        assert page.previous_before is None  # a text search pages forward only
        found += pks
        stopped_at_window += page.searched_to is not None
        if page.next_after is None:
            break
        after = page.next_after
    assert found == expected
    assert stopped_at_window > 0
