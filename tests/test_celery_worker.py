"""A real Celery worker process consumes from the configured broker: the embedded filesystem
broker by default, Redis when CELERY_BROKER_URL says so (as in CI). No eager mode."""

import time

import pytest
from django.conf import settings as django_settings
from django.core.files.uploadedfile import SimpleUploadedFile

from audit.datasets.models import Dataset, ImportJob
from audit.datasets.services import import_job_create
from tests.factories import UserFactory
from tests.workers import start_worker, stop

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def worker(settings):
    queues = [django_settings.CELERY_TASK_DEFAULT_QUEUE, django_settings.CELERY_QUEUE_IO]
    proc = start_worker(settings, queues)
    yield proc
    stop(proc)


def wait_for(job: ImportJob, worker, seconds: float = 90) -> ImportJob:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        job.refresh_from_db()
        if job.status in (ImportJob.Status.SUCCEEDED, ImportJob.Status.FAILED):
            return job
        if worker.poll() is not None:
            pytest.fail(f"worker exited early:\n{worker.stdout.read()}")
        time.sleep(0.3)
    worker.terminate()
    pytest.fail(f"job still {job.status} after {seconds}s; worker log:\n{worker.stdout.read()}")


def test_import_job_runs_on_a_real_worker(worker, pmv_files):
    user = UserFactory(username="owner")
    upload = SimpleUploadedFile(pmv_files["alignment"].name, pmv_files["alignment"].read_bytes())
    images = SimpleUploadedFile("images_0.zip", pmv_files["images"].read_bytes())
    job = import_job_create(
        upload=upload, image_uploads=[images], dataset_name="Via worker", created_by=user
    )
    job = wait_for(job, worker)
    assert job.status == ImportJob.Status.SUCCEEDED, job.error
    assert job.summary["items_created"] == 6
    assert job.summary["images_stored"] > 0
    assert Dataset.objects.get(name="Via worker").items.count() == 6
    assert job.started_at and job.finished_at
