"""A real Celery worker (a subprocess consuming the io queue from the configured broker, no
eager mode) runs an export job queued through the API's service, and the file it writes reads
back equal to a direct export."""

import pandas as pd
import pytest
from django.conf import settings as django_settings

from audit.reports.exports import services
from audit.reports.exports.models import ExportJob
from tests.workers import start_worker, stop, wait_until

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def io_worker(settings):
    proc = start_worker(
        settings,
        [django_settings.CELERY_QUEUE_IO],
        AUDIT_EXPORT_DIR=str(settings.EXPORT_DIR),
        AUDIT_EXPORT_CHUNK_SIZE="25",
    )
    yield proc
    stop(proc)


def test_a_worker_runs_an_export_job(io_worker, rated_campaign, tmp_path):
    campaign, owner, _experts = rated_campaign
    job = services.export_job_create(owner=owner, kind="ratings", campaign=campaign,
                                     fmt="parquet", layout="long")  # fmt: skip
    # not in a transaction here: on_commit queued the task at once
    done = wait_until(
        lambda: ExportJob.objects.filter(pk=job.pk, status__in=["succeeded", "failed"]).first(),
        io_worker,
        what="the export job finishing",
    )
    assert done.status == "succeeded", done.error
    path = services.export_file(done)
    direct = tmp_path / "direct.parquet"
    services.ratings_export(campaign=campaign, path=direct, fmt="parquet")
    assert pd.read_parquet(path).equals(pd.read_parquet(direct))
    assert done.row_count == len(pd.read_parquet(path)) > 0
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary part left
