"""Import uploads (issue 18.9): capped in size, deleted when their job succeeds, kept for
AUDIT_UPLOAD_KEEP_HOURS after a failure and then removed by the hourly clean-up."""

import os
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from audit.datasets import uploads
from audit.datasets.models import ImportJob
from audit.datasets.services import import_job_create, import_job_run
from tests.conftest import pmv_record, write_json
from tests.factories import StaffFactory

pytestmark = pytest.mark.django_db


def good_upload(tmp_path) -> SimpleUploadedFile:
    path = write_json(tmp_path / "d.json", [pmv_record("1", ["images/a.png"])])
    return SimpleUploadedFile("d.json", path.read_bytes())


def folders(settings) -> list[str]:
    root = Path(settings.UPLOAD_DIR)
    return sorted(p.name for p in root.iterdir()) if root.exists() else []


def test_a_succeeded_jobs_files_are_deleted(tmp_path, settings):
    job = import_job_create(
        upload=good_upload(tmp_path), dataset_name="D", created_by=StaffFactory()
    )
    assert Path(job.source_file).is_file()
    job = import_job_run(job_id=job.pk)
    assert job.status == "succeeded"
    assert folders(settings) == [] and job.summary["rejects_path"] is None


def test_skip_invalid_rejects_are_in_the_summary_and_the_files_go(tmp_path, settings):
    path = write_json(tmp_path / "d.json", [pmv_record("1", ["a.png"]), {"id": "bad"}])
    job = import_job_create(
        upload=SimpleUploadedFile("d.json", path.read_bytes()),
        dataset_name="D",
        created_by=StaffFactory(),
        fmt="pubmedvision",
        skip_invalid=True,
    )
    job = import_job_run(job_id=job.pk)
    assert job.status == "succeeded" and job.summary["rejects"] == 1
    assert job.summary["problems"] and folders(settings) == []


def test_a_failed_jobs_files_are_kept_then_cleaned(tmp_path, settings):
    settings.UPLOAD_KEEP_HOURS = 24
    upload = SimpleUploadedFile("bad.json", b'[{"id": "x", "image": []}]')
    job = import_job_create(
        upload=upload, dataset_name="Bad", created_by=StaffFactory(), fmt="pubmedvision"
    )
    job = import_job_run(job_id=job.pk)
    assert job.status == "failed" and Path(job.source_file).is_file()
    assert uploads.clean_uploads() == 0 and Path(job.source_file).is_file()
    later = job.finished_at + timedelta(hours=25)
    assert uploads.clean_uploads(now=later) == 1
    assert folders(settings) == []


def test_clean_up_keeps_active_jobs_and_new_folders_and_removes_stray_old_ones(tmp_path, settings):
    settings.UPLOAD_KEEP_HOURS = 1
    staff = StaffFactory()
    queued = import_job_create(upload=good_upload(tmp_path), dataset_name="Q", created_by=staff)
    running = import_job_create(upload=good_upload(tmp_path), dataset_name="R", created_by=staff)
    ImportJob.objects.filter(pk=running.pk).update(status="running")
    stray_new = Path(settings.UPLOAD_DIR) / "stray-new"
    stray_old = Path(settings.UPLOAD_DIR) / "stray-old"
    for folder in (stray_new, stray_old):
        folder.mkdir()
        (folder / "0.json").write_text("[]")
    old = time.time() - 2 * 3600
    os.utime(stray_old, (old, old))
    outside = tmp_path / "outside"
    outside.mkdir()
    # A row naming a path outside the uploads is never followed.
    ImportJob.objects.create(
        dataset_name="X", source_file=str(outside / "0.json"), status="succeeded"
    )
    assert uploads.clean_uploads() == 1
    assert not stray_old.exists() and stray_new.exists() and outside.exists()
    for job in (queued, running):
        assert Path(job.source_file).is_file()
    # Hours later the folders of the active jobs are still kept.
    assert uploads.clean_uploads(now=timezone.now() + timedelta(hours=5)) == 1  # stray_new
    for job in (queued, running):
        assert Path(job.source_file).is_file()


def test_clean_up_is_scheduled_hourly():
    from django_celery_beat.models import PeriodicTask

    from audit.datasets import tasks

    task = PeriodicTask.objects.get(task="datasets.clean_uploads")
    assert task.enabled and (task.interval.every, task.interval.period) == (1, "hours")
    assert tasks.clean_uploads.name == "datasets.clean_uploads"


# --- the size cap ---------------------------------------------------------------------------


def test_api_refuses_an_upload_over_the_cap_with_413_naming_it(client, tmp_path, settings):
    settings.MAX_UPLOAD_BYTES = 100
    client.force_login(StaffFactory())
    upload = SimpleUploadedFile("d.json", b"[" + b" " * 200 + b"]")
    response = client.post("/api/import-jobs/", {"file": upload, "dataset": "Big"})
    assert response.status_code == 413
    assert "100 bytes" in response.json()["detail"]
    assert not ImportJob.objects.exists() and folders(settings) == []


def test_api_counts_the_image_zips_too(client, tmp_path, settings):
    settings.MAX_UPLOAD_BYTES = 150_000  # the body is within the allowance: checked on the files
    client.force_login(StaffFactory())
    response = client.post(
        "/api/import-jobs/",
        {
            "file": SimpleUploadedFile("d.json", b"[]" + b" " * 100_000),
            "images": [SimpleUploadedFile("i.zip", b"z" * 60_000)],
            "dataset": "Big",
        },
    )
    assert response.status_code == 413, response.content
    detail = response.json()["detail"]
    assert "(150,000 bytes)" in detail and "this one is 156.3" in detail
    assert not ImportJob.objects.exists()


def test_api_accepts_an_upload_under_the_cap(client, tmp_path, settings):
    settings.MAX_UPLOAD_BYTES = 10_000
    client.force_login(StaffFactory())
    response = client.post("/api/import-jobs/", {"file": good_upload(tmp_path), "dataset": "Ok"})
    assert response.status_code == 202


def test_admin_refuses_an_upload_over_the_cap(client, tmp_path, settings):
    settings.MAX_UPLOAD_BYTES = 100
    client.force_login(StaffFactory())
    upload = SimpleUploadedFile("d.json", b"[" + b" " * 200 + b"]")
    response = client.post(
        "/admin/datasets/importjob/add/", {"file": upload, "dataset": "Big", "format": "auto"}
    )
    assert response.status_code == 413
    assert "100 bytes" in response.content.decode()
    assert not ImportJob.objects.exists()


def test_a_body_declared_over_the_cap_is_refused_before_it_is_read(rf, settings):
    settings.MAX_UPLOAD_BYTES = 100
    request = rf.post("/", data=b"x", content_type="application/octet-stream")
    request.META["CONTENT_LENGTH"] = str(100 + uploads.MULTIPART_ALLOWANCE + 1)
    assert uploads.body_too_large(request.META)
    request.META["CONTENT_LENGTH"] = "not a number"
    assert not uploads.body_too_large(request.META)


def test_api_says_413_from_the_declared_length(client, settings):
    settings.MAX_UPLOAD_BYTES = 100
    client.force_login(StaffFactory())
    big = SimpleUploadedFile("d.json", b" " * (uploads.MULTIPART_ALLOWANCE + 500))
    response = client.post("/api/import-jobs/", {"file": big, "dataset": "Big"})
    assert response.status_code == 413 and "100 bytes" in response.json()["detail"]
