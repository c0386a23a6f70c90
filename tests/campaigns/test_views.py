"""The campaign owner's pages: who may see what (404 to everyone but owners and staff), create
from the form and the PubMedVision template, dry run, launch, transitions, progress, experts."""

import json
import re
import uuid

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from annotations.services import rating_submit
from audit.campaigns.criteria import DEFAULT_CRITERIA
from audit.campaigns.models import Assignment, Campaign, Membership
from audit.campaigns.services import campaign_create
from audit.datasets.models import Method
from tests.campaigns.conftest import ALLOWED, METHODS, ROLES, run_campaign_jobs
from tests.factories import StaffFactory, UserFactory

pytestmark = pytest.mark.django_db


def as_user(client, user):
    if user is not None:
        client.force_login(user)
    return client


def submit(assignment, seconds: float, score: int = 4):
    return rating_submit(
        assignment=assignment,
        expert=assignment.expert,
        client_id=uuid.uuid4(),
        scores={c["key"]: score for c in DEFAULT_CRITERIA},
        active_seconds=seconds,
    )


PAGES = ["detail", "dry-run", "progress", "experts"]


def test_owner_pages_permission_matrix(client, world):
    campaign = world["campaign"]
    for page in PAGES:
        url = reverse(f"campaigns:{page}", args=[campaign.public_id])
        for role in ROLES:
            client.logout()
            response = as_user(client, world["users"][role]).get(url)
            body = response.content.decode()
            if role == "anonymous":
                assert response.status_code == 302, (page, role)
                assert response["Location"].startswith("/accounts/login/")
            elif role in ALLOWED:
                assert response.status_code == 200, (page, role)
                assert campaign.name in body
            else:
                assert response.status_code == 404, (page, role)
                assert campaign.name not in body


def test_post_actions_permission_matrix(client, world):
    """Nobody but the owner and staff can launch, pause, resume, close or change experts; to
    them the campaign does not exist."""
    campaign = world["campaign"]
    a, b, c = world["experts"]
    newcomer = UserFactory(username="newcomer")
    experts_body = {"experts": [b.pk, c.pk, newcomer.pk], "specialties": "newcomer: Radiology"}
    for role in ROLES:
        if role in ALLOWED:
            continue
        for action in ("launch", "pause", "resume", "close", "experts"):
            client.logout()
            as_user(client, world["users"][role])
            url = reverse(f"campaigns:{action}", args=[campaign.public_id])
            response = client.post(url, experts_body if action == "experts" else {})
            if role == "anonymous":
                assert response.status_code == 302, (role, action)
                assert "/accounts/login/" in response["Location"]
            else:
                assert response.status_code == 404, (role, action)
    campaign.refresh_from_db()
    assert campaign.status == "active"
    assert not Membership.objects.filter(campaign=campaign, user=newcomer).exists()

    detail = reverse("campaigns:detail", args=[campaign.public_id])
    for role, action, status in [
        ("owner_here", "pause", "paused"),
        ("staff", "resume", "active"),
        ("staff", "pause", "paused"),
        ("owner_here", "resume", "active"),
    ]:
        client.force_login(world["users"][role])
        response = client.post(reverse(f"campaigns:{action}", args=[campaign.public_id]))
        assert response.status_code == 302 and response["Location"] == detail
        campaign.refresh_from_db()
        assert campaign.status == status, (role, action)
    client.force_login(world["users"]["staff"])
    response = client.post(reverse("campaigns:experts", args=[campaign.public_id]), experts_body)
    assert response.status_code == 302
    run_campaign_jobs(campaign)
    assert Membership.objects.get(campaign=campaign, user=newcomer).specialty == "Radiology"
    assert not Membership.objects.get(campaign=campaign, user=a).active


def test_list_and_create_pages(client, world):
    for role in ROLES:
        user = world["users"][role]
        client.logout()
        as_user(client, user)
        listing = client.get(reverse("campaigns:list"))
        create = client.get(reverse("campaigns:create"))
        if role == "anonymous":
            assert listing.status_code == create.status_code == 302
        elif role in ("expert_here", "expert_elsewhere"):
            assert listing.status_code == create.status_code == 404, role
        else:
            assert listing.status_code == 200, role
            body = listing.content.decode()
            assert (world["campaign"].name in body) == (role in ALLOWED)
            assert (world["other"].name in body) == (role in ("owner_elsewhere", "staff"))
            # Creating needs campaigns.add_campaign (or staff).
            assert create.status_code == (200 if role == "staff" else 404), role
            if role != "staff":
                user.user_permissions.add(Permission.objects.get(codename="add_campaign"))
                client.force_login(user)
                assert client.get(reverse("campaigns:create")).status_code == 200


def test_list_shows_status_and_progress(client, world):
    campaign = world["campaign"]
    for assignment in Assignment.objects.filter(campaign=campaign).order_by("pk")[:3]:
        submit(assignment, 10)
    client.force_login(world["users"]["owner_here"])
    body = client.get(reverse("campaigns:list")).content.decode()
    assert f'<progress value="3" max="{campaign.assignments.count()}"' in body
    assert "Active" in body
    assert reverse("campaigns:detail", args=[campaign.public_id]) in body


def form_data(dataset, experts, **overrides):
    data = {
        "name": "Blinded check",
        "expert_title": "Image-text audit",
        "guidelines": "Rate **carefully**.",
        "datasets": [dataset.pk],
        "methods": METHODS,
        "kind": "paired",
        "n": 5,
        "strata": ["modality"],
        "allocation": "proportional",
        "raters_per_item": 2,
        "seed": 99,
        "experts": [e.pk for e in experts],
        "specialties": f"{experts[0].username}: Radiology",
        "deadline": "2031-05-01T12:30",
        "repeat_share": 0.1,
        "criteria": json.dumps(DEFAULT_CRITERIA),
    }
    data.update(overrides)
    return data


@pytest.fixture
def creator(rated_dataset):
    owner = rated_dataset.owner
    owner.user_permissions.add(Permission.objects.get(codename="add_campaign"))
    return owner


def test_create_campaign_via_form(client, rated_dataset, creator):
    team = [UserFactory(username=f"doc{i}") for i in range(3)]
    client.force_login(creator)
    response = client.post(reverse("campaigns:create"), form_data(rated_dataset, team))
    assert response.status_code == 302, response.content.decode()[:3000]
    campaign = Campaign.objects.get(name="Blinded check")
    assert response["Location"] == reverse("campaigns:detail", args=[campaign.public_id])
    assert campaign.status == "draft" and campaign.seed == 99 and campaign.raters_per_item == 2
    assert campaign.design["n"] == 5 and campaign.design["strata"] == ["modality"]
    assert campaign.design["repeat_share"] == 0.1 and campaign.deadline.year == 2031
    assert [c.key for c in campaign.criteria.all()] == [c["key"] for c in DEFAULT_CRITERIA]
    memberships = {
        m.user.username: (m.role, m.specialty) for m in campaign.memberships.select_related("user")
    }
    assert memberships == {
        creator.username: ("owner", ""),
        "doc0": ("expert", "Radiology"),
        "doc1": ("expert", ""),
        "doc2": ("expert", ""),
    }
    detail = client.get(response["Location"]).content.decode()
    assert "<strong>carefully</strong>" in detail and "Image-text audit" in detail


def test_create_form_custom_criteria_and_validation(client, rated_dataset, creator):
    client.force_login(creator)
    team = [UserFactory(username="doc")]
    criteria = [{"key": "overall", "name": "Overall", "question": "Good?", "scale_min": 0,
                 "scale_max": 10, "anchors": {"0": "useless", "10": "perfect"}}]  # fmt: skip
    ok = client.post(
        reverse("campaigns:create"),
        form_data(rated_dataset, team, name="Custom", criteria=json.dumps(criteria),
                  raters_per_item=1, specialties=""),
    )  # fmt: skip
    assert ok.status_code == 302
    (criterion,) = Campaign.objects.get(name="Custom").criteria.all()
    assert (criterion.key, criterion.scale_min, criterion.scale_max) == ("overall", 0, 10)
    assert criterion.anchors == {"0": "useless", "10": "perfect"}

    bad_cases = [
        ("not json", "Not valid JSON"),
        ("[]", "at least one criterion"),
        (json.dumps([{"key": "a b", "name": "A"}]), "key must be"),
        (json.dumps([{"key": "a", "name": "A"}, {"key": "a", "name": "B"}]), "used twice"),
        (json.dumps([{"key": "a", "name": "A", "scale_min": 3, "scale_max": 2}]), "below"),
        (json.dumps([{"key": "a", "name": "A", "anchors": {"9": "x"}}]), "not a score"),
    ]
    for criteria_text, message in bad_cases:
        response = client.post(
            reverse("campaigns:create"),
            form_data(rated_dataset, team, name="Bad", criteria=criteria_text),
        )
        assert response.status_code == 200
        assert message in response.content.decode(), message
    response = client.post(
        reverse("campaigns:create"),
        form_data(rated_dataset, team, name="Bad", specialties="stranger: Oncology"),
    )
    assert "Not among the chosen experts: stranger" in response.content.decode()
    assert not Campaign.objects.filter(name="Bad").exists()


def test_create_form_offers_only_visible_datasets(client, rated_dataset, creator, tmp_path):
    from audit.site.demo import import_demo_dataset

    stranger = UserFactory(username="stranger")
    theirs = import_demo_dataset(folder=tmp_path / "theirs", n_pairs=2, seed=3, owner=stranger,
                                 name="Their set")  # fmt: skip
    client.force_login(creator)
    page = client.get(reverse("campaigns:create")).content.decode()
    assert "Demo set" in page and "Their set" not in page
    response = client.post(
        reverse("campaigns:create"),
        form_data(rated_dataset, [UserFactory(username="doc")], datasets=[theirs.pk],
                  raters_per_item=1),
    )  # fmt: skip
    assert response.status_code == 200 and "Select a valid choice" in response.content.decode()
    assert not Campaign.objects.exists()


def test_pubmedvision_template_prefills_the_form(client, rated_dataset, creator):
    client.force_login(creator)
    response = client.get(reverse("campaigns:create") + "?template=pubmedvision")
    form = response.context["form"]
    assert form.initial["n"] == 90 and form.initial["raters_per_item"] == 3
    assert form.initial["kind"] == "paired"
    assert sorted(m.key for m in form.initial["methods"]) == sorted(METHODS)
    body = response.content.decode()
    assert 'name="n" value="90"' in body
    for key in METHODS:
        assert re.search(rf'value="{key}"[^>]*checked', body), key
    assert "accuracy" in body and "usefulness" in body


def test_guidelines_are_rendered_inert(client, world):
    campaign = Campaign.objects.get(pk=world["campaign"].pk)
    campaign.guidelines = (
        "# Read me\n\n<script>alert('x')</script>\n\n[click](javascript:alert(1)) "
        '<img src=x onerror="alert(2)">\n\n**bold**'
    )
    campaign.save()
    client.force_login(world["users"]["owner_here"])
    body = client.get(reverse("campaigns:detail", args=[campaign.public_id])).content.decode()
    assert "<strong>bold</strong>" in body and "<h1>Read me</h1>" in body
    assert "<script>alert" not in body and "&lt;script&gt;" in body
    assert 'href="javascript:' not in body.lower()
    assert "<img src=x" not in body
    # The preview on the form is rendered the same way.
    client.force_login(StaffFactory(username="staff2"))
    response = client.post(
        reverse("campaigns:create"), {"guidelines": campaign.guidelines, "preview": "1"}
    )
    preview = response.content.decode()
    assert response.status_code == 200 and "Guidelines preview" in preview
    assert "This field is required" not in preview  # a preview is not judged yet
    assert "<strong>bold</strong>" in preview and "<script>alert" not in preview
    assert 'href="javascript:' not in preview.lower()
    assert not Campaign.objects.exclude(pk__in=[world["campaign"].pk, world["other"].pk]).exists()


def test_pages_carry_no_inline_script(client, world):
    client.force_login(world["users"]["owner_here"])
    campaign = world["campaign"]
    urls = [reverse("campaigns:list"), reverse("campaigns:create")] + [
        reverse(f"campaigns:{p}", args=[campaign.public_id]) for p in PAGES
    ]
    client.force_login(world["users"]["staff"])
    for url in urls:
        body = client.get(url).content.decode()
        for tag in re.findall(r"<script[^>]*>", body):
            assert "src=" in tag, (url, tag)
        assert not re.search(r"<script[^>]*>\s*[^<\s]", body), url
        assert not re.search(r"\son[a-z]+=", body), url


def test_dry_run_page_shows_makeup_and_warnings(client, world):
    other = world["other"]  # a draft of owner2 asking for 2 source pairs, with one expert
    client.force_login(world["users"]["owner_elsewhere"])
    response = client.get(reverse("campaigns:dry-run", args=[other.public_id]))
    body = response.content.decode()
    assert response.status_code == 200
    assert '<strong id="sample-size">8</strong>' in body  # 2 source pairs x 4 methods
    for key in METHODS:
        assert key in body
    assert "Launching needs at least 3 experts" in body
    assert other.items.count() == 0 and other.assignments.count() == 0


def test_launch_via_post(client, world):
    other = world["other"]
    owner2 = world["users"]["owner_elsewhere"]
    client.force_login(owner2)
    url = reverse("campaigns:launch", args=[other.public_id])
    # Too few experts: refused with the reason, nothing written.
    response = client.post(url, follow=True)
    assert "Not launched" in response.content.decode() and "experts" in response.content.decode()
    other.refresh_from_db()
    assert other.status == "draft" and not other.items.exists()
    # Others cannot launch it.
    client.force_login(world["users"]["owner_here"])
    assert client.post(url).status_code == 404
    client.force_login(owner2)
    more = [UserFactory(username=f"extra{i}") for i in range(2)]
    exp = reverse("campaigns:experts", args=[other.public_id])
    assert client.post(exp, {"experts": [world["users"]["expert_elsewhere"].pk] + [
        u.pk for u in more]}).status_code == 302  # fmt: skip
    response = client.post(url, follow=True)
    other.refresh_from_db()
    assert other.status == "launching" and not other.items.exists()
    page = response.content.decode()
    assert "Launching…" in page and 'id="job-progress"' in page and "data-job-url" in page
    assert 'id="launch"' not in page and 'id="close"' not in page
    run_campaign_jobs(other)
    other.refresh_from_db()
    assert other.status == "active" and other.items.count() == 8
    page = client.get(reverse("campaigns:detail", args=[other.public_id])).content.decode()
    assert "Launched: 8 items, 24 assignments to 3 experts." in page
    assert 'id="job-progress"' not in page
    assert client.get(url).status_code == 405  # POST only


def test_launch_needs_csrf(world):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(world["users"]["owner_elsewhere"])
    response = client.post(reverse("campaigns:launch", args=[world["other"].public_id]))
    assert response.status_code == 403


def test_pause_resume_close_via_post(client, world):
    campaign = world["campaign"]
    client.force_login(world["users"]["owner_here"])

    def post(action):
        return client.post(reverse(f"campaigns:{action}", args=[campaign.public_id]), follow=True)

    assert "Campaign paused." in post("pause").content.decode()
    assert "cannot pause a campaign that is paused" in post("pause").content.decode()
    assert "Campaign resumed." in post("resume").content.decode()
    assert "Campaign closed." in post("close").content.decode()
    campaign.refresh_from_db()
    assert campaign.status == "closed"


def test_edit_draft_only(client, world):
    owner = world["users"]["owner_here"]
    dataset = world["campaign"].datasets.get()
    draft = campaign_create(
        name="My draft", created_by=owner, datasets=[dataset], methods=METHODS, n=2,
        experts=world["experts"][:1],
    )  # fmt: skip
    client.force_login(owner)
    url = reverse("campaigns:edit", args=[draft.public_id])
    page = client.get(url)
    assert page.status_code == 200 and page.context["form"].initial["n"] == 2
    data = form_data(dataset, world["experts"][:2], name="Renamed draft", n=3,
                     raters_per_item=1, specialties="")  # fmt: skip
    response = client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:2000]
    draft.refresh_from_db()
    assert draft.name == "Renamed draft" and draft.design["n"] == 3
    assert draft.memberships.filter(role="expert", active=True).count() == 2
    # Someone else's draft, or a launched campaign, cannot be edited.
    client.force_login(world["users"]["owner_elsewhere"])
    assert client.get(url).status_code == 404
    assert client.post(url, {**data, "name": "Stolen"}).status_code == 404
    client.force_login(owner)
    launched = reverse("campaigns:edit", args=[world["campaign"].public_id])
    assert client.get(launched).status_code == 302
    assert client.post(launched, data).status_code == 302
    world["campaign"].refresh_from_db()
    assert world["campaign"].name != "Renamed draft"


def test_progress_numbers_after_a_few_ratings(client, world):
    campaign = world["campaign"]
    a, b, _c = world["experts"]
    first_a = list(Assignment.objects.filter(campaign=campaign, expert=a).order_by("position")[:2])
    first_b = Assignment.objects.filter(campaign=campaign, expert=b).order_by("position").first()
    submit(first_a[0], 30)
    submit(first_a[1], 50)
    submit(first_b, 12)
    client.force_login(world["users"]["owner_here"])
    response = client.get(reverse("campaigns:progress", args=[campaign.public_id]))
    sections = {label: rows for _title, label, rows in response.context["sections"]}
    assert sections["Expert"]["expert_a"] == {
        "total": 24, "done": 2, "pending": 22, "median_active_seconds": 40.0}  # fmt: skip
    assert sections["Expert"]["expert_b"]["done"] == 1
    assert sections["Expert"]["expert_b"]["median_active_seconds"] == 12.0
    assert sections["Expert"]["expert_c"]["done"] == 0
    assert sections["Expert"]["expert_c"]["median_active_seconds"] is None
    by_method = sections["Method"]
    assert set(by_method) == set(METHODS)
    assert sum(r["done"] for r in by_method.values()) == 3
    assert all(r["total"] == 18 for r in by_method.values())
    assert sum(r["total"] for r in sections["Stratum"].values()) == 72
    body = response.content.decode()
    assert '<progress value="3" max="72"' in body and "40.0" in body


def test_experts_page_moves_pending_work(client, world):
    campaign = world["campaign"]
    a, b, c = world["experts"]
    submit(Assignment.objects.filter(campaign=campaign, expert=a).first(), 20)
    d = UserFactory(username="expert_d")
    client.force_login(world["users"]["owner_here"])
    url = reverse("campaigns:experts", args=[campaign.public_id])
    page = client.get(url).content.decode()
    assert "expert_a" in page and "expert_d" in page  # d is offered
    response = client.post(
        url, {"experts": [b.pk, c.pk, d.pk], "specialties": "expert_d: Dermatology"}, follow=True
    )
    assert "Change of experts queued" in response.content.decode()
    assert 'id="job-progress"' in response.content.decode()
    assert Assignment.objects.filter(campaign=campaign, expert=d).count() == 0  # not yet
    run_campaign_jobs(campaign)
    page = client.get(reverse("campaigns:detail", args=[campaign.public_id])).content.decode()
    assert "Experts changed: 23 pending items moved." in page
    assert Assignment.objects.filter(campaign=campaign, expert=a).count() == 1
    assert Assignment.objects.filter(campaign=campaign, expert=d).count() == 23
    assert Membership.objects.get(campaign=campaign, user=d).specialty == "Dermatology"
    # Fewer than k experts: refused, nothing changes.
    response = client.post(url, {"experts": [b.pk, c.pk]})
    assert response.status_code == 200 and "at least 3 experts" in response.content.decode()
    assert Membership.objects.filter(campaign=campaign, role="expert", active=True).count() == 3


def test_unknown_campaign_is_404_for_staff_too(client, world):
    client.force_login(world["users"]["staff"])
    assert client.get(reverse("campaigns:detail", args=[uuid.uuid4()])).status_code == 404
    assert client.get(f"/campaigns/{world['campaign'].pk}/").status_code == 404


def test_methods_offered_in_the_form_are_the_known_ones(client, rated_dataset, creator):
    client.force_login(creator)
    body = client.get(reverse("campaigns:create")).content.decode()
    for key in Method.objects.values_list("key", flat=True):
        assert f'value="{key}"' in body


def test_admin_lists_and_pauses_through_the_services(client, world):
    campaign = world["campaign"]
    client.force_login(world["users"]["staff"])
    for model in ("campaign", "campaignitem", "assignment"):
        response = client.get(f"/admin/campaigns/{model}/")
        assert response.status_code == 200, model
    body = client.get("/admin/campaigns/campaign/").content.decode()
    assert campaign.name in body and world["other"].name in body
    change = client.get(f"/admin/campaigns/campaign/{campaign.pk}/change/")
    assert change.status_code == 200
    assert reverse("campaigns:progress", args=[campaign.public_id]) in change.content.decode()
    assert client.get("/admin/campaigns/campaign/add/").status_code == 403
    filtered = client.get(
        f"/admin/campaigns/assignment/?status=pending&campaign__id__exact={campaign.pk}"
    )
    assert filtered.status_code == 200 and filtered.context["cl"].result_count == 72
    response = client.post(
        "/admin/campaigns/campaign/",
        {"action": "pause", "_selected_action": [campaign.pk, world["other"].pk]},
        follow=True,
    )
    text = response.content.decode()
    assert "Paused 1 campaign(s)." in text and "cannot pause a campaign that is draft" in text
    campaign.refresh_from_db()
    assert campaign.status == "paused"
