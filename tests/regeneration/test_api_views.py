"""Owner pages and API: owners create, watch, cancel, resume, inspect failures and compare;
experts and other users get 404; nothing sent to a page or the API carries a secret."""

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from audit.regeneration import services
from audit.regeneration.models import RegenerationJob
from tests.factories import UserFactory
from tests.regeneration.test_services import run_all

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(launched_campaign, stub):
    """The owner of the demo dataset with a job, an expert of the campaign, an outsider."""
    campaign, owner, experts = launched_campaign
    dataset = campaign.datasets.get()
    job = services.job_create(
        created_by=owner,
        name="Secret model trial",
        datasets=[dataset],
        methods=["llm_reformatted"],
        model="secret-model-7b",
        base_url=stub.base_url,
        start=False,
    )
    return {"owner": owner, "expert": experts[0], "job": job, "dataset": dataset, "stub": stub}


def api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_owner_creates_through_the_api_and_watches_progress(
    world, django_capture_on_commit_callbacks
):
    client = api(world["owner"])
    with django_capture_on_commit_callbacks() as callbacks:
        response = client.post(
            "/api/regeneration-jobs/",
            {
                "name": "API job",
                "datasets": [world["dataset"].name],
                "methods": ["mllm_distill"],
                "model": "m",
                "base_url": world["stub"].base_url,
                "parameters": {"concurrency": 2},
                "sample": 3,
            },
            format="json",
        )
    assert response.status_code == 201, response.content
    assert len(callbacks) == 1  # the first chunk is queued after commit
    data = response.json()
    assert data["status"] == "queued" and data["n_source_pairs"] == 3
    assert data["progress"]["total"] == 3
    job = RegenerationJob.objects.get(public_id=data["id"])
    run_all(job)
    data = client.get(f"/api/regeneration-jobs/{job.public_id}/").json()
    assert data["status"] == "succeeded" and data["progress"]["done"] == 3
    listed = [j["id"] for j in client.get("/api/regeneration-jobs/").json()["results"]]
    assert set(listed) == {str(job.public_id), str(world["job"].public_id)}


def test_api_refuses_bad_input_and_secrets(world):
    client = api(world["owner"])
    base = {
        "name": "x",
        "datasets": [world["dataset"].name],
        "methods": ["llm_reformatted"],
        "model": "m",
    }
    r = client.post(
        "/api/regeneration-jobs/", {**base, "parameters": {"api_key": "sk-1"}}, format="json"
    )
    assert r.status_code == 400 and "environment" in r.json()["detail"]
    r = client.post("/api/regeneration-jobs/", {**base, "datasets": ["nope"]}, format="json")
    assert r.status_code == 400 and "unknown datasets" in str(r.json())


def test_cancel_resume_failures_and_compare(world):
    client = api(world["owner"])
    job = world["job"]
    url = f"/api/regeneration-jobs/{job.public_id}/"
    assert client.post(url + "cancel/").json()["status"] == "cancelled"
    assert client.post(url + "cancel/").status_code == 400
    assert client.post(url + "resume/").json()["status"] == "queued"
    world["stub"].script(("text", ""))
    run_all(job)
    failures = client.get(url + "failures/").json()["results"]
    assert len(failures) == 1 and failures[0]["error"].startswith("invalid output")
    r = client.post(
        url + "compare/", {"experts": ["expert_a", "expert_b", "expert_c"]}, format="json"
    )
    assert r.status_code == 201 and r.json()["status"] == "draft"


@pytest.mark.parametrize("who", ["expert", "outsider", "other_owner"])
def test_others_get_404_everywhere(world, who, client):
    job = world["job"]
    if who == "expert":
        user = world["expert"]
    elif who == "outsider":
        user = UserFactory()
    else:
        user = UserFactory(is_staff=False)
        user.user_permissions.add(
            *__import__(
                "django.contrib.auth.models", fromlist=["Permission"]
            ).Permission.objects.filter(codename="add_regenerationjob")
        )
    c = api(user)
    url = f"/api/regeneration-jobs/{job.public_id}/"
    for method, path in [
        ("get", url),
        ("post", url + "cancel/"),
        ("post", url + "resume/"),
        ("get", url + "failures/"),
        ("post", url + "compare/"),
    ]:
        assert getattr(c, method)(path).status_code == 404, (method, path)
    client.force_login(user)
    for name in ("detail", "cancel", "resume", "compare"):
        path = reverse(f"regeneration:{name}", args=[job.public_id])
        response = client.post(path) if name != "detail" else client.get(path)
        assert response.status_code == 404, name
    job.refresh_from_db()
    assert job.status == "queued"
    if who != "other_owner":
        assert client.get(reverse("regeneration:list")).status_code == 404
        assert client.get(reverse("regeneration:create")).status_code == 404
        assert c.get("/api/regeneration-jobs/").status_code == 404
    else:
        assert c.get("/api/regeneration-jobs/").json()["results"] == []


def test_owner_pages(world, client, settings):
    settings.REGENERATION_API_KEY = "sk-page-SECRET"
    owner, job = world["owner"], world["job"]
    client.force_login(owner)
    page = client.get(reverse("regeneration:list")).content.decode()
    assert "Secret model trial" in page
    form = client.get(reverse("regeneration:create")).content.decode()
    assert "mllm_reformatted" in form and f"llm_reformatted-job{job.pk}" not in form
    response = client.post(
        reverse("regeneration:create"),
        {
            "name": "Page job",
            "datasets": [world["dataset"].pk],
            "methods": ["native_caption"],
            "backend": "openai",
            "temperature": 0.2,
            "max_tokens": 100,
            "seed": 1,
            "concurrency": 2,
        },
    )
    assert response.status_code == 302
    world["stub"].script(("text", "<script>alert(1)</script>"), ("text", ""))
    run_all(job)
    detail = client.get(reverse("regeneration:detail", args=[job.public_id])).content.decode()
    assert "secret-model-7b" in detail and "sk-page-SECRET" not in detail
    assert "<script>alert(1)</script>" not in detail  # answers are escaped
    response = client.post(reverse("regeneration:compare", args=[job.public_id]))
    assert response.status_code == 302 and "/campaigns/" in response["Location"]


def test_experts_never_see_how_a_regenerated_item_was_made(world, client):
    """Regenerated items in a launched comparison campaign: the expert's pages name no method,
    model or dataset."""
    from audit.campaigns.models import Assignment
    from audit.campaigns.services import campaign_launch

    job = run_all(world["job"])
    experts = [world["expert"], UserFactory(username="e2"), UserFactory(username="e3")]
    campaign = services.comparison_campaign_create(
        job=job, created_by=world["owner"], experts=experts, seed=1, n=2
    )
    campaign_launch(campaign=campaign)
    client.force_login(world["expert"])
    mine = Assignment.objects.filter(campaign=campaign, expert=world["expert"])
    assert mine.filter(campaign_item__item__dataset=job.output_dataset).exists()
    for assignment in mine:
        page = client.get(
            reverse("annotations:rate", args=[campaign.public_id, assignment.public_id])
        ).content.decode()
        for secret in (
            "secret-model-7b",
            "llm_reformatted",
            f"job{job.pk}",
            "regenerated",
            "Secret model trial",
            job.output_dataset.name,
        ):
            assert secret not in page
