"""The permission matrix: for every route of the site (walked from the URL configuration, so a
new route without an entry here fails), the answer each of six roles gets: anonymous, an expert
of this campaign, an expert of another campaign, an owner of this campaign, an owner of another
campaign, and staff. Every request runs in a savepoint that is rolled back, so a role's request
never changes what the next role sees. Denied roles must get 404 where they may not know the
object exists (403 is accepted only from those who do), anonymous users the login page (pages)
or 401/403 (API)."""

import itertools
import json
import os
import re
import uuid
from dataclasses import dataclass, field

import pytest
from django.contrib import admin
from django.db import transaction
from django.test import Client, override_settings
from django.urls import Resolver404, resolve, reverse

from audit.campaigns.models import Assignment
from audit.core.services import api_token_create
from audit.datasets.models import Image, ImportJob, Method
from audit.datasets.selectors import image_url
from audit.regeneration.judge import judge_run_create
from audit.regeneration.services import job_create as regeneration_job_create
from audit.reports.analysis.services import analyse_campaign
from audit.reports.exports.jobs import export_job_create, export_job_run
from audit.reports.quality.schedules import schedule_save
from audit.reports.quality.services import quality_report_make
from tests.reports.conftest import rate_all
from tests.security.routes import site_routes

pytestmark = pytest.mark.django_db

ROLES = ["anonymous", "expert_here", "expert_elsewhere", "owner_here", "owner_elsewhere", "staff"]
SIGNED_IN = set(ROLES) - {"anonymous"}

# Who may use a route, by kind: the roles answered normally; every other signed-in role is denied.
ACCESS = {
    "public": set(ROLES),
    "signed_in": SIGNED_IN,
    "owner": {"owner_here", "staff"},
    "expert": {"expert_here"},
    "image": {"expert_here", "owner_here", "staff"},
    "dataset_owner": {"owner_here", "staff"},
    "campaign_owners": {"owner_here", "owner_elsewhere", "staff"},  # who owns any campaign
    "creator": {"staff"},  # holds campaigns.add_campaign / datasets.add_* (only staff here)
    "job_owner": {"owner_here", "staff"},  # who made the job (owner_here), and staff
    "token_owner": {"owner_here"},  # an API token is its user's alone, not even staff's
    "regenerators": {"owner_here", "staff"},  # dataset owners, staff, holders of the permission
}


@dataclass(frozen=True)
class Rule:
    access: str
    kwargs: str = ""  # which URL kwargs: "campaign", "assignment", "dataset", ... (see _kwargs)
    # Denied signed-in roles that know the object exists and may get 403 instead of 404.
    may_know: frozenset = field(default_factory=frozenset)
    write: str | None = None  # access for POST/PUT/PATCH/DELETE, when not the same as for GET
    body: str = ""  # a valid body for writes (see _body), so a refusal cannot be a mere 400

    def allowed(self, method: str) -> set[str]:
        return ACCESS[self.write if self.write and method != "get" else self.access]


EXPERT_KNOWS = frozenset({"expert_here"})
EVERYONE_KNOWS = frozenset(SIGNED_IN)  # a list endpoint: a 403 for writing reveals nothing

PERMISSIONS: dict[str, Rule] = {
    # Site and accounts
    "home": Rule("signed_in"),
    "login": Rule("public"),
    "logout": Rule("public"),
    "set_language": Rule("public"),
    "javascript-catalog": Rule("public"),
    "api-schema": Rule("public"),
    "api-docs": Rule("public"),
    "api-root": Rule("signed_in"),
    # Datasets (API) and images
    # The methods catalogue is the owner side's: experts must not read how items were made.
    "api-token-list": Rule("signed_in"),
    "api-token-detail": Rule("token_owner", "api_token"),
    "method-list": Rule("campaign_owners", write="creator", may_know=EVERYONE_KNOWS),
    "method-detail": Rule("campaign_owners", "method", may_know=EVERYONE_KNOWS),
    "dataset-list": Rule("signed_in"),
    "dataset-detail": Rule("dataset_owner", "dataset"),
    "item-list": Rule("signed_in"),
    "item-detail": Rule("dataset_owner", "item"),
    "source-pair-detail": Rule("dataset_owner", "source_pair"),
    "import-job-list": Rule("signed_in", write="creator", may_know=EVERYONE_KNOWS),
    "import-job-detail": Rule("dataset_owner", "import_job"),
    "datasets:image": Rule("image", "image"),
    "datasets:list": Rule("campaign_owners"),  # who may read the catalogue; experts never
    "datasets:browse": Rule("dataset_owner", "dataset"),
    # Campaigns (owner pages and API)
    "campaigns:list": Rule("campaign_owners"),
    "campaigns:create": Rule("creator"),
    "campaigns:detail": Rule("owner", "campaign", EXPERT_KNOWS),
    "campaigns:edit": Rule("owner", "campaign", EXPERT_KNOWS),
    "campaigns:dry-run": Rule("owner", "campaign", EXPERT_KNOWS),
    "campaigns:plan": Rule("owner", "campaign", EXPERT_KNOWS),
    "campaigns:launch": Rule("owner", "campaign", EXPERT_KNOWS),
    "campaigns:progress": Rule("owner", "campaign", EXPERT_KNOWS),
    "campaigns:experts": Rule("owner", "campaign", EXPERT_KNOWS),
    "campaigns:pause": Rule("owner", "campaign", EXPERT_KNOWS),
    "campaigns:resume": Rule("owner", "campaign", EXPERT_KNOWS),
    "campaigns:close": Rule("owner", "campaign", EXPERT_KNOWS),
    "campaign-list": Rule("signed_in", write="creator", may_know=EVERYONE_KNOWS),
    "campaign-detail": Rule("owner", "api_campaign", EXPERT_KNOWS),
    "campaign-dry-run": Rule("owner", "api_campaign", EXPERT_KNOWS),
    "campaign-plan": Rule("owner", "api_campaign", EXPERT_KNOWS),
    "campaign-experts": Rule("owner", "api_campaign", EXPERT_KNOWS),
    "campaign-launch": Rule("owner", "api_campaign", EXPERT_KNOWS),
    "campaign-pause": Rule("owner", "api_campaign", EXPERT_KNOWS),
    "campaign-resume": Rule("owner", "api_campaign", EXPERT_KNOWS),
    "campaign-close": Rule("owner", "api_campaign", EXPERT_KNOWS),
    "campaign-progress": Rule("owner", "api_campaign", EXPERT_KNOWS),
    "campaign-job": Rule("owner", "campaign_job", EXPERT_KNOWS),
    # Analysis
    "reports:campaign-analysis": Rule("owner", "campaign", EXPERT_KNOWS),
    "reports:campaign-analysis-recompute": Rule("owner", "campaign", EXPERT_KNOWS),
    "campaign-analysis-api": Rule("owner", "analysed_campaign", EXPERT_KNOWS),
    "campaign-analysis-recompute-api": Rule("owner", "campaign", EXPERT_KNOWS),
    # Quality reports and schedules
    "reports:campaign-reports": Rule("owner", "campaign", EXPERT_KNOWS),
    "reports:campaign-report-request": Rule("owner", "campaign", EXPERT_KNOWS),
    "reports:campaign-schedule-new": Rule("owner", "campaign", EXPERT_KNOWS),
    "reports:adjudication": Rule("owner", "campaign", EXPERT_KNOWS),
    "reports:campaign-judge": Rule("owner", "campaign", EXPERT_KNOWS),
    "reports:adjudicate": Rule("owner", "campaign_item", EXPERT_KNOWS),
    "reports:campaign-schedule": Rule("owner", "report_schedule", EXPERT_KNOWS),
    "reports:quality-report-file": Rule("owner", "quality_report_file", EXPERT_KNOWS),
    "campaign-quality-reports-api": Rule("owner", "campaign", EXPERT_KNOWS),
    "campaign-quality-report-api": Rule("owner", "quality_report", EXPERT_KNOWS),
    "campaign-report-schedules-api": Rule("owner", "campaign", EXPERT_KNOWS),
    "campaign-report-schedule-api": Rule("owner", "report_schedule", EXPERT_KNOWS),
    # Audit trail
    "site:campaign-activity": Rule("owner", "campaign", EXPERT_KNOWS),
    "site:campaign-preview": Rule("owner", "campaign", EXPERT_KNOWS),
    "site:campaign-preview-item": Rule("owner", "campaign_item", EXPERT_KNOWS),
    # Exports (the job belongs to the campaign's owner)
    "export-jobs-api": Rule("signed_in", write="owner", may_know=EXPERT_KNOWS, body="export"),
    "export-job-api": Rule("job_owner", "export_job"),
    "export-job-download-api": Rule("job_owner", "export_job"),
    "exports:download": Rule("job_owner", "export_job"),
    "exports:campaign": Rule("owner", "campaign", EXPERT_KNOWS),
    # Regeneration (the job belongs to the dataset's owner)
    "regeneration-job-list": Rule("regenerators"),
    "regeneration-job-detail": Rule("job_owner", "regeneration_job"),
    "regeneration-job-cancel": Rule("job_owner", "regeneration_job"),
    "regeneration-job-resume": Rule("job_owner", "regeneration_job"),
    "regeneration-job-compare": Rule("job_owner", "regeneration_job"),
    "regeneration-job-failures": Rule("job_owner", "regeneration_job"),
    "regeneration-job-test-connection": Rule("regenerators"),
    "regeneration:list": Rule("regenerators"),
    "regeneration:create": Rule("regenerators"),
    "regeneration:detail": Rule("job_owner", "regeneration_job"),
    "regeneration:cancel": Rule("job_owner", "regeneration_job"),
    "regeneration:resume": Rule("job_owner", "regeneration_job"),
    "regeneration:compare": Rule("job_owner", "regeneration_job"),
    # Judge runs over datasets (pre-screens) belong to their creator
    "regeneration:judge-list": Rule("regenerators"),
    "regeneration:judge-detail": Rule("job_owner", "judge_run"),
    "regeneration:judge-prescreen": Rule("job_owner", "judge_run"),
    "judge-run-list": Rule("regenerators"),
    "judge-run-detail": Rule("job_owner", "judge_run"),
    "judge-run-prescreen": Rule("job_owner", "judge_run"),
    # The expert's side
    "annotations:queue": Rule("signed_in"),
    "annotations:campaign": Rule("expert", "expert_campaign"),
    "annotations:history": Rule("expert", "expert_campaign"),
    "annotations:rate": Rule("expert", "expert_assignment"),
    "expert-api:campaigns": Rule("signed_in"),
    "expert-api:next": Rule("expert", "expert_campaign"),
    "expert-api:history": Rule("expert", "expert_campaign"),
    "expert-api:assignment": Rule("expert", "expert_assignment"),
    "expert-api:submit": Rule("expert", "expert_assignment"),
    "expert-api:draft": Rule("expert", "expert_assignment"),
}


def _regeneration_job(world, campaign):
    return regeneration_job_create(
        created_by=world["users"]["owner_here"],
        name="Trial",
        datasets=[campaign.datasets.first()],
        methods=["llm_reformatted"],
        model="some-model",
        base_url="http://127.0.0.1:9/v1",
        start=False,
    )


def _kwargs(kind: str, world) -> dict:
    campaign = world["campaign"]
    expert = world["users"]["expert_here"]
    if kind == "":
        return {}
    if kind == "analysed_campaign":
        rate_all(campaign, seed=3)
        analyse_campaign(campaign=campaign, n_resamples=20)
        return {"public_id": campaign.public_id}
    if kind in ("quality_report", "quality_report_file"):
        report = quality_report_make(campaign=campaign, send=False)
        kwargs = {"public_id": campaign.public_id, "report_id": report.pk}
        return {**kwargs, "kind": "html"} if kind == "quality_report_file" else kwargs
    if kind == "report_schedule":
        schedule = schedule_save(campaign=campaign, frequency="daily", hour=7, minute=0)
        return {"public_id": campaign.public_id, "schedule_id": schedule.pk}
    if kind == "export_job":
        owner = world["users"]["owner_here"]
        job = export_job_create(owner=owner, kind="ratings", fmt="csv", campaign=campaign,
                                layout="long")  # fmt: skip
        export_job_run(job_id=job.pk)
        return {"public_id": job.public_id}
    if kind == "api_token":
        token, _ = api_token_create(user=world["users"]["owner_here"])
        return {"pk": token.pk}
    if kind == "regeneration_job":
        # A job aimed at a closed loopback port, allowed for this test (the egress check refuses
        # loopback otherwise).
        with override_settings(REGENERATION_ALLOWED_SERVERS=["127.0.0.1:9"]):
            job = _regeneration_job(world, campaign)
        return {"public_id": job.public_id}
    if kind == "judge_run":
        with override_settings(REGENERATION_ALLOWED_SERVERS=["127.0.0.1:9"]):
            run = judge_run_create(dataset=campaign.datasets.first(), model="some-model",
                                   created_by=world["users"]["owner_here"],
                                   base_url="http://127.0.0.1:9/v1", start=False)  # fmt: skip
        return {"public_id": run.public_id}
    if kind == "campaign_item":
        return {"public_id": campaign.public_id, "campaign_item_id": campaign.items.first().pk}
    if kind in ("campaign", "api_campaign"):
        return {"public_id": campaign.public_id}
    if kind == "campaign_job":
        job = campaign.jobs.create(kind="launch", status="succeeded")
        return {"public_id": campaign.public_id, "job_id": job.public_id}
    if kind == "expert_campaign":
        return {"campaign_id": campaign.public_id}
    if kind == "expert_assignment":
        assignment = Assignment.objects.filter(campaign=campaign, expert=expert).first()
        return {"campaign_id": campaign.public_id, "assignment_id": assignment.public_id}
    dataset = campaign.datasets.first()
    if kind == "dataset":
        return {"pk": dataset.pk}
    if kind == "item":
        return {"pk": dataset.items.first().pk}
    if kind == "source_pair":
        return {"pk": dataset.items.first().source_pair_id}
    if kind == "method":
        return {"pk": Method.objects.first().pk}
    if kind == "import_job":
        job = ImportJob.objects.create(
            dataset_name=dataset.name, source_file="/nonexistent", created_by=dataset.owner
        )
        return {"pk": job.pk}
    if kind == "image":
        # An image of one of this expert's assignments.
        assignment = Assignment.objects.filter(campaign=campaign, expert=expert).first()
        image = Image.objects.filter(
            source_pair_links__source_pair=assignment.campaign_item.source_pair
        ).first()
        token = image_url(image).rstrip("/").rsplit("/", 1)[-1]
        return {"token": token}
    raise AssertionError(f"no URL kwargs for {kind!r}")


def _body(kind: str, world) -> str:
    if kind == "export":  # this campaign's ratings: only its owners (and staff) may export them
        return json.dumps(
            {"kind": "ratings", "campaign": str(world["campaign"].public_id), "format": "csv"}
        )
    return "{}"


def _request(client: Client, method: str, url: str, body: str = "{}"):
    """One request, rolled back afterwards (so a POST by one role changes nothing for the next)."""
    with transaction.atomic():
        if method in ("get", "head", "options"):
            response = getattr(client, method)(url)
        else:
            response = getattr(client, method)(url, data=body, content_type="application/json")
        transaction.set_rollback(True)
    return response


def _is_login_redirect(response) -> bool:
    return response.status_code == 302 and "login" in response.get("Location", "")


def test_every_route_has_an_entry():
    missing = [f"{r.name} ({r.pattern})" for r in site_routes() if r.name not in PERMISSIONS]
    assert not missing, "routes without an entry in the permission table:\n" + "\n".join(missing)
    stale = set(PERMISSIONS) - {r.name for r in site_routes()}
    assert not stale, f"entries for routes that no longer exist: {sorted(stale)}"


@pytest.mark.parametrize("route", site_routes(), ids=lambda r: r.name)
def test_permission_matrix(route, world):
    rule = PERMISSIONS.get(route.name)
    if rule is None:
        pytest.fail(f"{route.name} has no entry in PERMISSIONS")
    url = reverse(route.name, kwargs=_kwargs(rule.kwargs, world))
    api = url.startswith("/api/")
    failures, seen = [], {}
    answered = False
    for method in route.methods:
        for role in ROLES:
            client = Client()
            if world["users"][role] is not None:
                client.force_login(world["users"][role])
            response = _request(client, method, url, _body(rule.body, world))
            code = response.status_code
            seen[(method, role)] = code
            assert code < 500, f"{method.upper()} {url} as {role}: {code}"
            if code == 405:
                continue  # the view does not answer this method (reveals nothing)
            if role in rule.allowed(method):
                answered = True
                denied = code in (401, 403, 404) or (
                    _is_login_redirect(response) and rule.access != "public"  # logout does
                )
                if denied:
                    failures.append(f"{method.upper()} as {role}: {code}, expected access")
            elif role == "anonymous":
                ok = code in (401, 403) if api else _is_login_redirect(response)
                if not ok:
                    failures.append(f"{method.upper()} as anonymous: {code}, expected login")
            else:
                expected = {403, 404} if role in rule.may_know else {404}
                if code not in expected:
                    failures.append(f"{method.upper()} as {role}: {code}, expected {expected}")
    if os.environ.get("PERMISSION_MATRIX_PRINT"):
        print(route.name, seen)
    assert answered, f"{route.name}: no method answered the roles allowed to use it"
    assert not failures, f"{route.name} {url}:\n" + "\n".join(failures)


def test_every_schema_path_is_in_the_table():
    """The OpenAPI schema's paths resolve to routes that have an entry (so an API route added
    outside the URL walk, or renamed, is caught from the schema side too)."""
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    unknown = []
    for path in schema["paths"]:
        # Each parameter is a UUID or an integer: try the combinations until one resolves.
        name = None
        params = re.findall(r"\{[^}]+\}", path)
        for values in itertools.product((str(uuid.uuid4()), "1"), repeat=len(params)):
            concrete = path
            for param, value in zip(params, values, strict=True):
                concrete = concrete.replace(param, value, 1)
            try:
                name = resolve(concrete).view_name
                break
            except Resolver404:
                continue
        if name is None:
            unknown.append(f"{path} (does not resolve)")
            continue
        if name not in PERMISSIONS:
            unknown.append(f"{path} -> {name}")
    assert schema["paths"], "the schema has no paths"
    assert not unknown, "schema paths without an entry:\n" + "\n".join(unknown)


def _admin_urls() -> list[str]:
    urls = [reverse("admin:index")]
    for model in admin.site._registry:
        meta = model._meta
        urls.append(reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist"))
    return urls


def test_admin_is_staff_only(world):
    """Every admin page (the index and each registered model's list): staff get it; everyone
    else, signed in or not, is sent to the admin's login."""
    for url in _admin_urls():
        for role in ROLES:
            client = Client()
            if world["users"][role] is not None:
                client.force_login(world["users"][role])
            response = client.get(url)
            if role == "staff":
                assert response.status_code == 200, f"{url} as staff: {response.status_code}"
            else:
                assert response.status_code == 302, f"{url} as {role}: {response.status_code}"
                assert response["Location"].startswith(reverse("admin:login")), url
