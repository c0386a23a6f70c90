"""The dataset API: permission-filtered browsing and import jobs."""

from unittest import mock

import pytest
from django.contrib.auth.models import Permission
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command

from audit.datasets.models import Dataset, ImportJob
from audit.datasets.services import dataset_import, import_job_run
from tests.conftest import pmv_record, write_json
from tests.factories import StaffFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_datasets(tmp_path):
    alice, bob = UserFactory(username="alice"), UserFactory(username="bob")
    for owner, name in ((alice, "A"), (bob, "B")):
        records = [pmv_record(f"{name}{i}", [f"images/{name}{i}.png"]) for i in range(3)]
        dataset_import(
            path=write_json(tmp_path / f"{name}.json", records), dataset_name=name, owner=owner
        )
    return alice, bob


def test_anonymous_gets_nothing(client, two_datasets):
    for url in ("/api/datasets/", "/api/items/", "/api/methods/", "/api/import-jobs/"):
        assert client.get(url).status_code in (401, 403)


def test_owner_sees_only_own_datasets_and_items(client, two_datasets):
    alice, _ = two_datasets
    client.force_login(alice)
    datasets = client.get("/api/datasets/").json()["results"]
    assert [d["name"] for d in datasets] == ["A"] and datasets[0]["item_count"] == 3
    items = client.get("/api/items/").json()["results"]
    assert {i["external_id"] for i in items} == {"A0", "A1", "A2"}
    other = Dataset.objects.get(name="B").items.first()
    assert client.get(f"/api/items/{other.pk}/").status_code == 404
    assert client.get(f"/api/source-pairs/{other.source_pair_id}/").status_code == 404


def test_item_filters(client, two_datasets):
    client.force_login(StaffFactory())
    b = Dataset.objects.get(name="B")
    assert len(client.get(f"/api/items/?dataset={b.pk}").json()["results"]) == 3
    assert client.get("/api/items/?method=native_caption").json()["results"] == []
    assert len(client.get("/api/items/?modality=Computed Tomography").json()["results"]) == 6


def test_creating_methods_needs_permission(client, two_datasets):
    alice, _ = two_datasets
    client.force_login(alice)
    body = {"key": "my_prompt_v2", "name": "My prompt v2", "sees_image": True}
    assert client.post("/api/methods/", body).status_code == 403
    alice.user_permissions.add(Permission.objects.get(codename="add_method"))
    response = client.post("/api/methods/", body)
    assert response.status_code == 201 and response.json()["builtin"] is False


def test_import_job_upload_then_run(client, tmp_path):
    user = UserFactory(username="importer")
    user.user_permissions.add(Permission.objects.get(codename="add_importjob"))
    client.force_login(user)
    content = write_json(tmp_path / "d.json", [pmv_record("1", ["images/a.png"])]).read_bytes()
    upload = SimpleUploadedFile("PubMedVision_Alignment_VQA.json", content)
    response = client.post("/api/import-jobs/", {"file": upload, "dataset": "Up"})
    assert response.status_code == 202, response.content
    job = ImportJob.objects.get(pk=response.json()["id"])
    assert job.status == "queued" and job.created_by == user
    import_job_run(job_id=job.pk)  # what the io worker does (a real worker: test_celery_worker)
    body = client.get(f"/api/import-jobs/{job.pk}/").json()
    assert body["status"] == "succeeded"
    assert body["summary"]["items_created"] == 1
    assert body["progress"]["fraction"] == 1.0
    assert Dataset.objects.get(name="Up").owner == user
    # Another user does not see the job.
    client.force_login(UserFactory(username="nosy"))
    assert client.get(f"/api/import-jobs/{job.pk}/").status_code == 404


def test_import_job_failure_is_reported(client, tmp_path):
    staff = StaffFactory()
    client.force_login(staff)
    upload = SimpleUploadedFile("bad.json", b'[{"id": "x", "image": []}]')
    job_id = client.post(
        "/api/import-jobs/", {"file": upload, "dataset": "Bad", "format": "pubmedvision"}
    ).json()["id"]
    import_job_run(job_id=job_id)
    body = client.get(f"/api/import-jobs/{job_id}/").json()
    assert body["status"] == "failed"
    assert "record #1 (id 'x')" in body["error"]
    assert not Dataset.objects.filter(name="Bad").exists()


def test_import_job_says_so_when_the_broker_is_down(
    client, tmp_path, django_capture_on_commit_callbacks
):
    """A job the broker could not take is marked failed with the reason, never left queued."""
    from audit.datasets import tasks

    client.force_login(StaffFactory())
    upload = SimpleUploadedFile("d.json", write_json(tmp_path / "d.json", []).read_bytes())
    with (
        mock.patch.object(
            tasks.run_import_job, "apply_async", side_effect=ConnectionError("refused")
        ),
        django_capture_on_commit_callbacks(execute=True),
    ):
        response = client.post("/api/import-jobs/", {"file": upload, "dataset": "Down"})
    assert response.status_code == 202
    job = ImportJob.objects.get(pk=response.json()["id"])
    assert job.status == "failed" and job.finished_at is not None
    assert job.error == "could not queue the job (is the broker running?): refused"


def test_import_job_without_permission_is_refused(client, tmp_path):
    client.force_login(UserFactory(username="expertish"))
    upload = SimpleUploadedFile("d.json", b"[]")
    assert client.post("/api/import-jobs/", {"file": upload, "dataset": "X"}).status_code == 403


def test_openapi_schema_builds_without_warnings(tmp_path):
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "s.yml"))
    assert "/api/import-jobs/" in (tmp_path / "s.yml").read_text()
