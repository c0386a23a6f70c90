"""The API fuzzed with schemathesis, on loopback against the running app (pytest-django's live
server, a real threaded HTTP server): every operation of /api/schema/ gets generated requests
from three identities (staff, the campaign's owner, an expert of the campaign), each with its
DRF token. Nothing may answer 5xx, every answer's status code must be documented, and every
answer must match its documented schema.

The data is built through the real services: an active campaign with ratings, an analysis
snapshot, a stored quality report and a schedule, an export job and a regeneration job. Half
the generated requests use the ids of that data (so the fuzzer reaches the objects, not only
404s), half use generated ids. DELETEs run last, after every identity has fuzzed the rest.

Bounded for CI: a few examples per operation and identity, no deadline, no shrinking, no
stored examples; the whole file finishes in about a minute on two cores.

The refusals every operation may give (400 where it changes something or takes input, 401,
403, 404) are added to the schema by audit.core.openapi.add_common_answers; others (202,
409...) each view documents. Nothing is excluded.
"""

import os
import time
from collections import Counter

import pytest
import requests
import schemathesis
from django.contrib.auth.models import Permission
from django.test import override_settings
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import (
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from audit.campaigns.models import Assignment
from audit.core.services import api_token_create
from audit.datasets.models import ImportJob
from audit.regeneration import services as regeneration
from audit.reports.analysis.services import analyse_campaign
from audit.reports.exports.jobs import export_job_create
from audit.reports.quality import schedules
from audit.reports.quality import services as reports
from tests.factories import StaffFactory
from tests.reports.conftest import rate_all

pytestmark = pytest.mark.django_db(transaction=True)

EXAMPLES = int(os.environ.get("AUDIT_FUZZ_EXAMPLES", "6"))
CHECKS = [not_a_server_error, response_schema_conformance, status_code_conformance]


@pytest.fixture
def world(launched_campaign, settings):
    settings.ANALYSIS_BOOTSTRAP_REPLICATES = 50
    campaign, owner, experts = launched_campaign
    owner.user_permissions.add(
        *Permission.objects.filter(codename__in=["add_campaign", "add_regenerationjob"])
    )
    rate_all(campaign, seed=4, limit=40)
    analyse_campaign(campaign=campaign, n_resamples=50)
    report = reports.quality_report_make(campaign=campaign, send=False)
    schedule = schedules.schedule_save(campaign=campaign, frequency="daily")
    dataset = campaign.datasets.get()
    export = export_job_create(owner=owner, kind="ratings", fmt="csv", campaign=campaign)
    with override_settings(REGENERATION_ALLOWED_SERVERS=["127.0.0.1:9"]):  # a closed port
        job = regeneration.job_create(
            created_by=owner, name="Fuzzed job", datasets=[dataset], methods=["llm_reformatted"],
            model="m", base_url="http://127.0.0.1:9/v1", start=False,
        )  # fmt: skip
    expert = experts[0]
    assignment = Assignment.objects.filter(campaign=campaign, expert=expert).order_by("pk")[0]
    item = dataset.items.order_by("pk")[0]
    staff = StaffFactory(username="fuzz_staff")
    return {
        "identities": {"expert": expert, "owner": owner, "staff": staff},
        # Real ids for the path parameters, by path prefix (public_id means different things).
        "ids": {
            "/api/campaigns/": {
                "public_id": str(campaign.public_id),
                "report_id": report.pk,
                "schedule_id": schedule.pk,
            },
            "/api/expert/": {
                "campaign_id": str(campaign.public_id),
                "assignment_id": str(assignment.public_id),
            },
            "/api/exports/": {"public_id": str(export.public_id)},
            "/api/regeneration-jobs/": {"public_id": str(job.public_id)},
            "/api/datasets/": {"id": dataset.pk},
            "/api/items/": {"id": item.pk},
            "/api/source-pairs/": {"id": item.source_pair_id},
            "/api/methods/": {"id": item.method_id},
            "/api/import-jobs/": {"id": ImportJob.objects.values_list("pk", flat=True).first()},
        },
    }


def known_ids(ids: dict, operation) -> dict:
    names = {p.name for p in operation.path_parameters}
    for prefix, values in ids.items():
        if operation.path.startswith(prefix):
            return {k: v for k, v in values.items() if k in names and v is not None}
    return {}


def describe(operation, case, exc: Exception) -> str:
    """One failure in a few lines: the operation, each failed check, and the request."""
    inner = exc.exceptions if isinstance(exc, BaseExceptionGroup) else [exc]
    checks = "; ".join(" ".join(str(e).split())[:400] for e in inner)
    request = {"path": case.path_parameters, "query": case.query, "body": case.body}
    return f"{operation.label} {request!r:.400}\n    {checks}"


def fuzz(operation, *, base_url: str, token: str, ids: dict, failures: list, codes: Counter):
    session = requests.Session()
    session.headers["Authorization"] = f"Token {token}"
    real = known_ids(ids, operation)
    # Valid and invalid requests (negative: bodies and queries that break the schema), on the
    # real objects where the path names one, and on generated ids.
    strategies = [
        operation.as_strategy(),
        operation.as_strategy(GenerationMode.NEGATIVE, path_parameters=real or None),
    ]
    if real:
        strategies.append(operation.as_strategy(path_parameters=real))
    strategy = st.one_of(strategies)

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy)
    def run(case):
        response = case.call(base_url=base_url, session=session, timeout=30)
        codes[response.status_code] += 1
        try:
            case.validate_response(response, checks=CHECKS)
        except (Exception, BaseExceptionGroup) as exc:  # schemathesis's FailureGroup
            failures.append(describe(operation, case, exc))

    try:
        run()
    finally:
        # Closed, so the live server's request threads (each with a database connection)
        # end; otherwise the test database cannot be dropped at the end on PostgreSQL.
        session.close()


def test_no_server_error_and_answers_match_the_schema(live_server, world):
    schema = schemathesis.openapi.from_url(f"{live_server.url}/api/schema/")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 40
    tokens = {name: api_token_create(user=user)[1] for name, user in world["identities"].items()}
    failures, codes, started = [], {name: Counter() for name in tokens}, time.monotonic()
    revoking = {name: Counter() for name in tokens}

    def stage(operation) -> int:
        """Everything but DELETE first, then the DELETEs (so the data lives long enough), and
        revoking API tokens last of all: a generated id may be the caller's own token, after
        which its requests are rightly refused (401)."""
        if operation.method.upper() != "DELETE":
            return 0
        return 2 if operation.path.startswith("/api/tokens/") else 1

    for current in (0, 1, 2):
        for name, token in tokens.items():
            for operation in operations:
                if stage(operation) != current:
                    continue
                fuzz(
                    operation, base_url=live_server.url, token=token, ids=world["ids"],
                    failures=failures, codes=(revoking if current == 2 else codes)[name],
                )  # fmt: skip
    sent = sum(sum(c.values()) for c in [*codes.values(), *revoking.values()])
    took = time.monotonic() - started
    print(f"\nschemathesis: {len(operations)} operations x {len(tokens)} identities, "
          f"{sent} requests, {len(failures)} failures, {took:.1f} s")  # fmt: skip
    for name, counts in codes.items():
        print(f"  {name}: {dict(sorted(counts.items()))}")
    assert failures == [], "\n\n".join(failures[:20])
    assert sent >= len(operations) * len(tokens)
    # The tokens work and the real ids reach real objects: every identity gets answers.
    for name, counts in codes.items():
        assert 401 not in counts, name
        assert sum(n for code, n in counts.items() if code < 300) >= 20, (name, counts)
    assert not any(
        code >= 500 for counts in [*codes.values(), *revoking.values()] for code in counts
    )


def test_the_checks_catch_a_server_error(live_server):
    """The harness is not blind: a 5xx from the server is reported as a failure."""
    schema = schemathesis.openapi.from_url(f"{live_server.url}/api/schema/")
    operation = schema["/api/datasets/{id}/"]["GET"]
    case = operation.Case(path_parameters={"id": 1})
    response = requests.Response()
    response.status_code = 500
    response._content = b"boom"
    response.url = f"{live_server.url}/api/datasets/1/"
    response.request = requests.Request("GET", response.url).prepare()
    with pytest.raises(BaseExceptionGroup, match="Server error"):
        case.validate_response(response, checks=[not_a_server_error])


# --- what the fuzzer found, kept fixed (fast, without the live server) --------------------


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        # PostgreSQL text cannot hold NUL: these were 500s (DataError) before.
        ("post", "/api/campaigns/", {"name": "x", "datasets": [], "methods": ["a\x00"], "n": 1}),
        ("post", "/api/import-jobs/", {"dataset": "x", "method": "a\x00"}),
        ("get", "/api/items/?method=%00&modality=%00", None),
    ],
)
def test_nul_characters_are_refused_not_a_server_error(rated_dataset, method, path, body):
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_authenticate(StaffFactory(username="nul_staff"))
    fmt = "multipart" if path == "/api/import-jobs/" else "json"
    response = getattr(client, method)(path, body, format=fmt)
    assert response.status_code in (200, 400), response.content
    if response.status_code == 200:
        assert response.json()["results"] == []
    else:
        assert "does not exist" in response.content.decode()


def test_the_schema_lists_every_refusal():
    """Found by the fuzzer: cancelling a finished regeneration job answers 400, which the schema
    did not list. Every operation lists 401/403/404, every write 400 too."""
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    cancel = schema["paths"]["/api/regeneration-jobs/{public_id}/cancel/"]["post"]["responses"]
    assert {"200", "400", "401", "403", "404"} <= set(cancel)
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            expected = {"401", "403", "404"} | ({"400"} if method != "get" else set())
            assert expected <= set(operation["responses"]), (method, path)
