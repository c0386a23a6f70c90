# ruff: noqa: RUF001  (Chinese punctuation in Chinese texts)
"""A campaign's texts in Chinese (issue 15), the owner's side: what the translations may hold,
giving them through the form and the API, and that they are fixed once launched as the English
texts are."""

import json

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import translation
from rest_framework.test import APIClient

from audit.campaigns import texts
from audit.campaigns.criteria import DEFAULT_CRITERIA
from audit.campaigns.forms import clean_criteria
from audit.campaigns.models import Campaign
from tests.campaigns.test_api import create_body
from tests.campaigns.test_api import creator as creator  # the fixture, under its own name
from tests.campaigns.test_api import url as api_url
from tests.campaigns.test_views import form_data
from tests.factories import UserFactory

ZH_CRITERION = {
    "name": "准确性",
    "question": "文本是否准确反映图像中的医学特征和信息？",
    "anchors": {"5": "完全准确：每一处陈述都与图像相符。", "1": "完全不准确。"},
}


# --- what a translation may hold ---------------------------------------------------------------


def test_campaign_translations_are_normalised():
    value = {"zh_Hans": {"expert_title": " 医学图文质量评审 ", "guidelines": ""}}
    assert texts.clean_campaign_translations(value) == {
        "zh-hans": {"expert_title": "医学图文质量评审"}
    }
    # Nothing given: nothing kept (every text reads in English).
    assert texts.clean_campaign_translations({"zh-hans": {"guidelines": "  "}}) == {}
    assert texts.clean_campaign_translations(None) == {}


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ({"fr": {"expert_title": "Audit"}}, "not one of the languages"),
        ({"zh-hans": {"title": "x"}}, "unknown texts title"),
        ({"zh-hans": {"expert_title": 3}}, "must be text"),
        ({"zh-hans": {"expert_title": "x" * 201}}, "longer than 200"),
        ({"zh-hans": "医学"}, "must be an object"),
        (["zh-hans"], "must map a language"),
        ({"zh-hans": {"expert_title": "a"}, "ZH-HANS": {"expert_title": "b"}}, "given twice"),
    ],
)
def test_campaign_translations_refused(value, message):
    with pytest.raises(ValidationError, match=message):
        texts.clean_campaign_translations(value)


def test_criterion_anchor_keys_must_be_points_of_the_scale():
    ok = texts.clean_criterion_translations(
        {"zh-hans": {**ZH_CRITERION, "anchors": {5: "完全准确", "3": ""}}},
        key="accuracy", scale_min=1, scale_max=5,
    )  # fmt: skip
    assert ok["zh-hans"]["anchors"] == {"5": "完全准确"}  # empty anchors read in English
    for bad in ("6", "0", "five", None):
        with pytest.raises(ValidationError, match="is not a score from 1 to 5"):
            texts.clean_criterion_translations(
                {"zh-hans": {"anchors": {bad: "完全准确"}}},
                key="accuracy", scale_min=1, scale_max=5,
            )  # fmt: skip
    with pytest.raises(ValidationError, match="unknown texts scale"):
        texts.clean_criterion_translations(
            {"zh-hans": {"scale": "1-5"}}, key="accuracy", scale_min=1, scale_max=5
        )


def test_clean_criteria_keeps_translations_and_checks_them_against_the_criterion_scale():
    spec = [{"key": "overall", "name": "Overall", "scale_min": 0, "scale_max": 3,
             "translations": {"zh-hans": {"name": "总体", "anchors": {"0": "差"}}}}]  # fmt: skip
    assert clean_criteria(spec)[0]["translations"] == {
        "zh-hans": {"name": "总体", "anchors": {"0": "差"}}
    }
    spec[0]["translations"]["zh-hans"]["anchors"] = {"5": "优"}
    with pytest.raises(ValidationError, match="anchor '5' is not a score from 0 to 3"):
        clean_criteria(spec)
    # Without translations a criterion is given as before.
    assert "translations" not in clean_criteria([{"key": "a", "name": "A"}])[0]


def test_reading_falls_back_to_english_text_by_text():
    given = {"zh-hans": {"name": "准确性", "anchors": {"5": "完全准确"}}}
    assert texts.text(given, "name", "Accuracy", "zh-hans") == "准确性"
    assert texts.text(given, "question", "Is it accurate?", "zh-hans") == "Is it accurate?"
    assert texts.text(given, "name", "Accuracy", "en") == "Accuracy"
    english = {"5": "Complete accuracy", "1": "Complete inaccuracy"}
    assert texts.anchors(given, english, [1, 2, 3, 4, 5], "zh-hans") == {
        "1": "Complete inaccuracy", "2": "", "3": "", "4": "", "5": "完全准确",
    }  # fmt: skip
    with translation.override("zh-hans"):
        assert texts.text(given, "name", "Accuracy") == "准确性"
    with translation.override("en"):
        assert texts.text(given, "name", "Accuracy") == "Accuracy"


# --- the owner gives them: the form ------------------------------------------------------------


def _criteria_zh() -> list[dict]:
    criteria = json.loads(json.dumps(DEFAULT_CRITERIA))
    criteria[0]["translations"] = {"zh-hans": json.loads(json.dumps(ZH_CRITERION))}
    return criteria


@pytest.mark.django_db
def test_owner_gives_chinese_texts_through_the_form(client, rated_dataset, creator):
    team = [UserFactory(username=f"doc{i}") for i in range(3)]
    client.force_login(creator)
    page = client.get(reverse("campaigns:create")).content.decode()
    assert 'name="expert_title_zh"' in page and 'name="guidelines_zh"' in page
    data = form_data(rated_dataset, team, expert_title_zh="医学图文质量评审",
                     guidelines_zh="请**仔细**评分。",
                     criteria=json.dumps(_criteria_zh()))  # fmt: skip
    response = client.post(reverse("campaigns:create"), data)
    assert response.status_code == 302, response.content.decode()[:3000]
    campaign = Campaign.objects.get(name="Blinded check")
    assert campaign.translations == {
        "zh-hans": {"expert_title": "医学图文质量评审", "guidelines": "请**仔细**评分。"}
    }
    accuracy = campaign.criteria.get(key="accuracy")
    assert accuracy.translations == {"zh-hans": ZH_CRITERION}
    assert campaign.criteria.get(key="relevance").translations == {}
    # English stays the primary text.
    assert campaign.expert_title == "Image-text audit" and accuracy.name == "Accuracy"

    # The edit form shows them again, and an emptied field drops the text (English again).
    edit = reverse("campaigns:edit", args=[campaign.public_id])
    page = client.get(edit).content.decode()
    assert "医学图文质量评审" in page and "准确性" in page
    data = form_data(rated_dataset, team, expert_title_zh="", guidelines_zh="请评分。",
                     criteria=json.dumps(_criteria_zh()))  # fmt: skip
    assert client.post(edit, data).status_code == 302
    campaign.refresh_from_db()
    assert campaign.translations == {"zh-hans": {"guidelines": "请评分。"}}


@pytest.mark.django_db
def test_the_form_refuses_an_anchor_off_the_scale(client, rated_dataset, creator):
    client.force_login(creator)
    criteria = _criteria_zh()
    criteria[0]["translations"]["zh-hans"]["anchors"] = {"7": "超出"}
    team = [UserFactory(username=f"doc{i}") for i in range(3)]
    data = form_data(rated_dataset, team, criteria=json.dumps(criteria))
    response = client.post(reverse("campaigns:create"), data)
    assert response.status_code == 200
    assert "anchor &#x27;7&#x27; is not a score from 1 to 5" in response.content.decode()
    assert not Campaign.objects.filter(name="Blinded check").exists()


# --- the owner gives them: the API -------------------------------------------------------------


@pytest.mark.django_db
def test_owner_gives_chinese_texts_through_the_api(rated_dataset, creator):
    api = APIClient()
    api.force_authenticate(creator)
    body = create_body(rated_dataset, expert_title="Audit", guidelines="Rate.",
                       translations={"zh-hans": {"expert_title": "评审", "guidelines": "评分。"}},
                       criteria=_criteria_zh())  # fmt: skip
    response = api.post("/api/campaigns/", body, format="json")
    assert response.status_code == 201, response.content
    out = response.json()
    assert out["translations"] == {"zh-hans": {"expert_title": "评审", "guidelines": "评分。"}}
    assert out["criteria"][0]["translations"] == {"zh-hans": ZH_CRITERION}
    assert out["criteria"][1]["translations"] == {}
    campaign = Campaign.objects.get(public_id=out["public_id"])
    assert campaign.localized_title == "Audit"
    with translation.override("zh-hans"):
        assert campaign.localized_title == "评审"

    # A partial update changes them; the criteria's stay.
    patch = {"translations": {"zh-hans": {"expert_title": "新标题"}}}
    response = api.patch(api_url(campaign), patch, format="json")
    assert response.status_code == 200, response.content
    campaign.refresh_from_db()
    assert campaign.translations == {"zh-hans": {"expert_title": "新标题"}}
    assert campaign.criteria.get(key="accuracy").translations == {"zh-hans": ZH_CRITERION}

    bad = api.patch(api_url(campaign), {"translations": {"de": {"expert_title": "x"}}},
                    format="json")  # fmt: skip
    assert bad.status_code == 400 and "translations" in bad.json()
    criteria = _criteria_zh()
    criteria[0]["translations"]["zh-hans"]["anchors"] = {"9": "x"}
    bad = api.patch(api_url(campaign), {"criteria": criteria}, format="json")
    assert bad.status_code == 400 and "is not a score from 1 to 5" in str(bad.json())


@pytest.mark.django_db
def test_the_owners_campaign_page_shows_the_chinese_texts(client, rated_dataset, creator):
    """The owner sees what experts reading in Chinese will see (title and guidelines, escaped);
    a campaign without them shows no empty Chinese section."""
    api = APIClient()
    api.force_authenticate(creator)
    zh = {"expert_title": "评审<b>x</b>", "guidelines": "**评分**<script>alert(1)</script>"}
    body = create_body(rated_dataset, expert_title="Audit", guidelines="Rate.",
                       translations={"zh-hans": zh})  # fmt: skip
    out = api.post("/api/campaigns/", body, format="json").json()
    client.force_login(creator)
    page = client.get(reverse("campaigns:detail", args=[out["public_id"]])).content.decode()
    assert "评审&lt;b&gt;x&lt;/b&gt;" in page
    section = page.split('class="markdown guidelines guidelines-zh"', 1)[1].split("</div>", 1)[0]
    assert "<strong>评分</strong>" in section and "<script>" not in section
    plain = api.post("/api/campaigns/", create_body(rated_dataset, name="plain"), format="json")
    page = client.get(reverse("campaigns:detail", args=[plain.json()["public_id"]])).content
    assert b"guidelines-zh" not in page and b"title-zh" not in page


@pytest.mark.django_db
def test_translations_are_fixed_once_launched(world):
    campaign, owner = world["campaign"], world["users"]["owner_here"]
    api = APIClient()
    api.force_authenticate(owner)
    response = api.patch(api_url(campaign), {"translations": {"zh-hans": {"expert_title": "x"}}},
                         format="json")  # fmt: skip
    assert response.status_code == 400
    campaign.refresh_from_db()
    assert campaign.translations == {}


# --- the admin checks them as the pages do -----------------------------------------------------


@pytest.mark.django_db
def test_the_admin_checks_translations(world, client):
    from django.forms import modelform_factory

    from audit.campaigns.admin import CampaignForm, CriterionForm
    from audit.campaigns.models import Criterion

    campaign = world["campaign"]
    form = modelform_factory(Campaign, form=CampaignForm, fields=["translations"])
    ok = form({"translations": json.dumps({"zh_Hans": {"expert_title": " 评审 "}})},
              instance=campaign)  # fmt: skip
    assert ok.is_valid() and ok.cleaned_data["translations"] == {
        "zh-hans": {"expert_title": "评审"}
    }
    bad = form({"translations": json.dumps({"fr": {"expert_title": "x"}})}, instance=campaign)
    assert not bad.is_valid() and "not one of the languages" in str(bad.errors)

    fields = ["key", "name", "question", "scale_min", "scale_max", "anchors", "translations"]
    criterion_form = modelform_factory(Criterion, form=CriterionForm, fields=fields)
    off_scale = json.dumps({"zh-hans": {"anchors": {"4": "x"}}})
    data = {"key": "a", "name": "A", "question": "", "scale_min": 1, "scale_max": 3,
            "anchors": "{}", "translations": off_scale}  # fmt: skip
    bad = criterion_form(data)
    assert not bad.is_valid() and "is not a score from 1 to 3" in str(bad.errors["translations"])

    client.force_login(world["users"]["staff"])
    page = client.get(reverse("admin:campaigns_campaign_change", args=[campaign.pk]))
    assert page.status_code == 200 and "translations" in page.content.decode()


# --- the PubMedVision template offers its texts in Chinese -------------------------------------


@pytest.mark.django_db
def test_the_pubmedvision_template_offers_chinese_texts(client, rated_dataset, creator):
    from audit.campaigns.defaults_zh import DEFAULT_CRITERIA_ZH, PUBMEDVISION_GUIDELINES_ZH
    from audit.campaigns.services import pubmedvision_check_create

    client.force_login(creator)
    page = client.get(reverse("campaigns:create") + "?template=pubmedvision").content.decode()
    assert "医学图文质量评审" in page and "对照图像" in page and "准确性" in page
    # Every anchor key of the Chinese criteria is a point of the English criteria's scale.
    for c in DEFAULT_CRITERIA:
        spec = {**c, "translations": {"zh-hans": DEFAULT_CRITERIA_ZH[c["key"]]}}
        assert clean_criteria([spec])[0]["translations"]["zh-hans"] == DEFAULT_CRITERIA_ZH[c["key"]]

    campaign = pubmedvision_check_create(name="PMV", created_by=creator,
                                         datasets=[rated_dataset], experts=[])  # fmt: skip
    assert campaign.translations["zh-hans"]["guidelines"] == PUBMEDVISION_GUIDELINES_ZH.strip()
    with translation.override("zh-hans"):
        assert [c.localized_name for c in campaign.criteria.all()] == [
            "准确性", "相关性", "完整性", "实用性"
        ]  # fmt: skip
    assert [c.name for c in campaign.criteria.all()] == [c["name"] for c in DEFAULT_CRITERIA]
