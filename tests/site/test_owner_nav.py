"""One navigation on every owner page: campaigns, datasets (the browser), regeneration, the
admin's imports and export jobs (for owners with the admin), the API; the campaign's tabs
include Reports and Exports once it is launched."""

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


def nav_of(html: str) -> str:
    return html.split("<nav>", 1)[1].split("</nav>", 1)[0]


@pytest.mark.parametrize(
    "url_of",
    [
        lambda c: reverse("campaigns:list"),
        lambda c: reverse("campaigns:detail", args=[c.public_id]),
        lambda c: reverse("reports:campaign-analysis", args=[c.public_id]),
        lambda c: reverse("exports:campaign", args=[c.public_id]),
        lambda c: reverse("regeneration:list"),
        lambda c: reverse("datasets:list"),
        lambda c: reverse("datasets:browse", args=[c.datasets.first().pk]),
    ],
)
def test_every_owner_page_has_the_same_navigation(client, launched_campaign, url_of):
    campaign, owner, _experts = launched_campaign
    owner.is_staff = True  # an owner with the admin, as the demo's owner
    owner.save()
    client.force_login(owner)
    response = client.get(url_of(campaign))
    assert response.status_code == 200
    nav = nav_of(response.content.decode())
    for target in ("campaigns:list", "datasets:list", "regeneration:list",
                   "admin:datasets_importjob_changelist", "admin:exports_exportjob_changelist",
                   "api-docs"):  # fmt: skip
        assert f'href="{reverse(target)}"' in nav, target


def test_the_campaign_tabs_lead_to_reports_and_exports(client, launched_campaign):
    campaign, owner, _experts = launched_campaign
    client.force_login(owner)
    page = client.get(reverse("campaigns:detail", args=[campaign.public_id])).content.decode()
    tabs = page.split('class="campaign-nav"', 1)[1].split("</nav>", 1)[0]
    assert reverse("reports:campaign-reports", args=[campaign.public_id]) in tabs
    assert reverse("exports:campaign", args=[campaign.public_id]) in tabs
    # An owner without the admin is not sent to it.
    nav = nav_of(page)
    assert "/admin/" not in nav and reverse("regeneration:list") in nav
    assert reverse("datasets:list") in nav
