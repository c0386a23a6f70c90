"""The export API and download links: only a campaign's owners (and staff) export its ratings,
only owners of a campaign over a dataset (and staff) export that dataset; experts never; to
everyone else the campaign, dataset and job do not exist (404); anonymous requests get 401 (the
browser link: the sign-in page). Links expire: 410 and the file is deleted."""

import io
from datetime import timedelta

import pandas as pd
import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from audit.reports.exports import jobs
from audit.reports.exports.models import ExportJob
from tests.reports.exports.conftest import ALLOWED, ROLES

pytestmark = pytest.mark.django_db


def client_for(user) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


def body(response) -> bytes:
    return b"".join(response.streaming_content)


def ratings_job(world, user=None, **options) -> ExportJob:
    data = {"kind": "ratings", "campaign": str(world["campaign"].public_id), "format": "csv",
            **options}  # fmt: skip
    response = client_for(user or world["users"]["owner_here"]).post(
        "/api/exports/", data, format="json"
    )
    assert response.status_code == 202, response.content
    return ExportJob.objects.get(public_id=response.json()["id"])


@pytest.mark.parametrize("role", ROLES)
def test_only_owners_and_staff_create_ratings_exports(world, role):
    user = world["users"][role]
    response = client_for(user).post(
        "/api/exports/",
        {"kind": "ratings", "campaign": str(world["campaign"].public_id), "format": "parquet"},
        format="json",
    )
    if role in ALLOWED:
        assert response.status_code == 202
        job = ExportJob.objects.get()
        assert (job.owner, job.status, job.format, job.layout) == (
            user,
            "queued",
            "parquet",
            "long",
        )
        assert response.json()["download_url"] is None
    else:
        assert response.status_code == (401 if role == "anonymous" else 404)
        assert not ExportJob.objects.exists()


@pytest.mark.parametrize("role", ROLES)
def test_only_owners_of_a_campaign_over_a_dataset_export_it(world, role):
    response = client_for(world["users"][role]).post(
        "/api/exports/", {"kind": "dataset", "dataset": world["dataset"].pk, "format": "auto"},
        format="json",
    )  # fmt: skip
    if role in ALLOWED:
        assert response.status_code == 202
        job = ExportJob.objects.get()
        assert job.format == "pubmedvision"  # the format it came in
        assert job.options["campaign_ids"] == [world["campaign"].pk]
    else:
        assert response.status_code == (401 if role == "anonymous" else 404)


def test_an_owner_cannot_export_another_owners_campaign_or_dataset(world):
    owner = world["users"]["owner_here"]
    other = world["other"]
    client = client_for(owner)
    assert (
        client.post(
            "/api/exports/",
            {"kind": "ratings", "campaign": str(other.public_id), "format": "csv"},
            format="json",
        ).status_code
        == 404
    )
    assert (
        client.post(
            "/api/exports/",
            {"kind": "dataset", "dataset": world["other_dataset"].pk, "format": "auto"},
            format="json",
        ).status_code
        == 404
    )
    # nor count another owner's campaign's ratings in their own dataset export
    data = {"kind": "dataset", "dataset": world["dataset"].pk, "format": "llava",
            "campaigns": [str(other.public_id)]}  # fmt: skip
    response = client.post("/api/exports/", data, format="json")
    assert response.status_code == 404


def test_bad_options_answer_400_naming_the_problem(world):
    client = client_for(world["users"]["owner_here"])
    campaign = str(world["campaign"].public_id)
    response = client.post(
        "/api/exports/",
        {"kind": "ratings", "campaign": campaign, "format": "pubmedvision"},
        format="json",
    )
    assert (
        response.status_code == 400 and "unknown format 'pubmedvision'" in response.json()["detail"]
    )
    response = client.post(
        "/api/exports/",
        {
            "kind": "dataset",
            "dataset": world["dataset"].pk,
            "format": "llava",
            "filters": {"accuracy_avg_gte": 4},
        },
        format="json",
    )
    assert response.status_code == 400 and "accuracy_avg_gte" in response.json()["detail"]
    response = client.post(
        "/api/exports/", {"kind": "ratings", "campaign": campaign, "format": "xml"}, format="json"
    )
    assert response.status_code == 400 and "format" in response.json()
    assert not ExportJob.objects.exists()  # fmt: skip


@pytest.mark.parametrize("role", ROLES)
def test_job_status_and_download_are_permission_checked(world, role):
    job = ratings_job(world)
    jobs.export_job_run(job_id=job.pk)  # what the worker does
    client = client_for(world["users"][role])
    detail = client.get(f"/api/exports/{job.public_id}/")
    download = client.get(f"/api/exports/{job.public_id}/download/")
    listing = client.get("/api/exports/")
    if role in ALLOWED:
        assert detail.status_code == 200
        data = detail.json()
        assert data["status"] == "succeeded" and data["progress"] == 1.0
        assert data["row_count"] == len(pd.read_csv(io.BytesIO(body(download))))
        assert data["download_url"].endswith(f"/api/exports/{job.public_id}/download/")
        assert download.status_code == 200
        assert download["Content-Disposition"].startswith("attachment")
        assert [j["id"] for j in listing.json()] == [str(job.public_id)]
    else:
        expected = 401 if role == "anonymous" else 404
        assert detail.status_code == download.status_code == expected
        if role != "anonymous":
            assert listing.json() == []


@pytest.mark.parametrize("role", ROLES)
def test_the_browser_download_link(world, role, client):
    job = ratings_job(world, format="parquet")
    jobs.export_job_run(job_id=job.pk)
    user = world["users"][role]
    if user is not None:
        client.force_login(user)
    response = client.get(f"/exports/{job.public_id}/download/")
    if role == "anonymous":
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    elif role in ALLOWED:
        assert response.status_code == 200
        frame = pd.read_parquet(io.BytesIO(body(response)))
        assert len(frame) == job.__class__.objects.get(pk=job.pk).row_count
    else:
        assert response.status_code == 404


def test_a_dataset_export_is_visible_to_its_maker_only(world):
    owner = world["users"]["owner_here"]
    response = client_for(owner).post(
        "/api/exports/", {"kind": "dataset", "dataset": world["dataset"].pk, "format": "llava"},
        format="json",
    )  # fmt: skip
    job = ExportJob.objects.get(public_id=response.json()["id"])
    jobs.export_job_run(job_id=job.pk)
    assert client_for(owner).get(f"/api/exports/{job.public_id}/download/").status_code == 200
    for role in ("owner_elsewhere", "expert_here", "expert_elsewhere"):
        got = client_for(world["users"][role]).get(f"/api/exports/{job.public_id}/download/")
        assert got.status_code == 404, role


def test_links_expire_and_the_file_is_deleted(world, settings):
    job = ratings_job(world)
    job = jobs.export_job_run(job_id=job.pk)
    path = settings.EXPORT_DIR / job.file_path
    assert path.is_file()
    assert job.expires_at - job.finished_at == timedelta(hours=settings.EXPORT_TTL_HOURS)
    ExportJob.objects.filter(pk=job.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    client = client_for(world["users"]["owner_here"])
    response = client.get(f"/api/exports/{job.public_id}/download/")
    assert response.status_code == 410
    assert not path.exists()
    data = client.get(f"/api/exports/{job.public_id}/").json()
    assert data["status"] == "expired" and data["download_url"] is None


def test_the_cleanup_task_deletes_expired_files_only(world, settings):
    old = jobs.export_job_run(job_id=ratings_job(world).pk)
    new = jobs.export_job_run(job_id=ratings_job(world, format="jsonl").pk)
    ExportJob.objects.filter(pk=old.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    from audit.reports.exports.tasks import cleanup_expired

    assert cleanup_expired() == 1  # the task body, called in-process
    assert not (settings.EXPORT_DIR / old.file_path).exists()
    assert (settings.EXPORT_DIR / new.file_path).is_file()
    assert ExportJob.objects.get(pk=old.pk).status == "expired"
    assert ExportJob.objects.get(pk=new.pk).status == "succeeded"


def test_an_unfinished_job_has_no_download(world):
    job = ratings_job(world)
    response = client_for(world["users"]["owner_here"]).get(
        f"/api/exports/{job.public_id}/download/"
    )
    assert response.status_code == 409


def test_the_schema_documents_the_export_endpoints(world):
    response = client_for(world["users"]["staff"]).get("/api/schema/", {"format": "json"})
    paths = response.json()["paths"]
    assert "/api/exports/" in paths and "/api/exports/{public_id}/download/" in paths


def test_a_running_job_shows_live_progress(world):
    """The worker reports progress to the cache (the export holds a transaction open on
    PostgreSQL, so the job row is not updated until it ends); the API reads it from there."""
    from django.core.cache import cache

    job = ratings_job(world)
    ExportJob.objects.filter(pk=job.pk).update(status="running")
    cache.set(jobs._progress_key(job.pk), {"rows": 25, "total": 100}, 60)
    data = client_for(world["users"]["owner_here"]).get(f"/api/exports/{job.public_id}/").json()
    assert (data["status"], data["progress"], data["download_url"]) == ("running", 0.25, None)


def test_deleted_jobs_and_abandoned_parts_leave_no_files(world, settings):
    import os
    import time

    job = jobs.export_job_run(job_id=ratings_job(world).pk)
    path = settings.EXPORT_DIR / job.file_path
    stale = settings.EXPORT_DIR / "abandoned.csv.part-0123abcd"
    stale.write_text("half")
    os.utime(stale, (time.time() - 2 * 86400,) * 2)
    jobs.export_jobs_cleanup()
    assert not stale.exists() and path.is_file()  # a day-old part goes; live files stay
    ExportJob.objects.filter(pk=job.pk).delete()  # also what a deleted campaign cascades to
    assert not path.exists()
