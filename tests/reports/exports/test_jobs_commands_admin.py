"""Export jobs survive crashes (no half-written file is ever presented as complete; a re-run
starts from scratch and succeeds), the command line (exit codes and output) and the admin
actions (staff and owners; experts have no admin)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from audit.reports.exports import jobs, sinks
from audit.reports.exports.models import ExportJob

pytestmark = pytest.mark.django_db
REPO = Path(__file__).resolve().parents[3]


def make_job(campaign, owner, **fields) -> ExportJob:
    fields = {"fmt": "parquet", "layout": "wide", **fields}
    return jobs.export_job_create(owner=owner, kind="ratings", campaign=campaign, **fields)


def test_a_job_that_dies_mid_file_leaves_nothing_marked_complete(rated_campaign, settings,
                                                                  monkeypatch):  # fmt: skip
    campaign, owner, _experts = rated_campaign
    settings.EXPORT_CHUNK_SIZE = 15
    job = make_job(campaign, owner)
    real_write = sinks.ParquetSink.write
    calls = []

    def dies_on_third_chunk(self, data):
        calls.append(1)
        if len(calls) == 3:
            raise MemoryError("the worker died")
        real_write(self, data)

    monkeypatch.setattr(sinks.ParquetSink, "write", dies_on_third_chunk)
    with pytest.raises(MemoryError):
        jobs.export_job_run(job_id=job.pk)
    job.refresh_from_db()
    assert job.status == "failed" and job.file_path == "" and "MemoryError" in job.error
    assert jobs.export_file(job) is None
    assert not any(settings.EXPORT_DIR.iterdir())  # no file, no temporary part
    monkeypatch.undo()
    job = jobs.export_job_run(job_id=job.pk)  # the retry
    assert (job.status, job.attempts) == ("succeeded", 2)
    frame = pd.read_parquet(jobs.export_file(job))
    assert len(frame) == job.row_count == campaign.assignments.count()


def test_a_job_that_cannot_be_queued_says_so(rated_campaign, django_capture_on_commit_callbacks):
    """The broker is down when the job is queued (after commit): the job is marked failed with
    the reason instead of hanging in "queued"."""
    from unittest import mock

    from audit.reports.exports.tasks import run_export_job

    campaign, owner, _experts = rated_campaign
    with (
        mock.patch.object(run_export_job, "apply_async", side_effect=OSError("no broker")),
        django_capture_on_commit_callbacks(execute=True),
    ):
        job = make_job(campaign, owner, fmt="csv", layout="long")
    job.refresh_from_db()
    assert job.status == "failed" and job.finished_at is not None
    assert "could not queue the job" in job.error and "no broker" in job.error


def test_a_killed_workers_job_is_redone_from_scratch(rated_campaign, settings):
    """A SIGKILLed worker leaves the job 'running' and a temporary part file; the redelivered
    task deletes the part and writes the whole file again."""
    campaign, owner, _experts = rated_campaign
    job = make_job(campaign, owner, fmt="csv", layout="long")
    ExportJob.objects.filter(pk=job.pk).update(status="running", attempts=1)
    settings.EXPORT_DIR.mkdir(parents=True)
    part = settings.EXPORT_DIR / f"{job.public_id}.csv.part-deadbeef"
    part.write_text("campaign,rating_id\nhalf a ro")
    job.refresh_from_db()
    assert jobs.export_file(job) is None  # running: nothing to download
    job = jobs.export_job_run(job_id=job.pk)
    assert job.status == "succeeded" and job.attempts == 2
    assert not part.exists()
    assert len(pd.read_csv(jobs.export_file(job))) == job.row_count > 0
    # a duplicate delivery of the finished job changes nothing
    again = jobs.export_job_run(job_id=job.pk)
    assert (again.attempts, again.file_path) == (2, job.file_path)


def test_bad_dataset_options_fail_the_job_with_the_reason(rated_campaign):
    campaign, owner, _experts = rated_campaign
    job = ExportJob.objects.create(
        owner=owner,
        kind="dataset",
        dataset=campaign.datasets.get(),
        format="llava",
        options={"filters": {"beauty_mean_gte": 1}},
    )
    job = jobs.export_job_run(job_id=job.pk)
    assert job.status == "failed" and "no criterion 'beauty'" in job.error  # fmt: skip


# --- The command line -------------------------------------------------------------------------


def test_export_ratings_command(rated_campaign, tmp_path, capsys):
    campaign, _owner, experts = rated_campaign
    out = tmp_path / "ratings.csv"
    call_command("export_ratings", "--campaign", str(campaign.public_id), "--format", "csv",
                 "--layout", "wide", "--out", str(out))  # fmt: skip
    printed = capsys.readouterr().out
    frame = pd.read_csv(out)
    assert f"Wrote {len(frame):,} rows (wide, csv)" in printed
    assert len(frame) == campaign.assignments.count()
    assert not set(frame["expert"]) & {e.username for e in experts}
    call_command("export_ratings", "--campaign", campaign.name, "--format", "jsonl", "--out",
                 str(tmp_path / "r.jsonl"), "--names")  # fmt: skip
    rows = [json.loads(line) for line in (tmp_path / "r.jsonl").read_text().splitlines()]
    assert {r["expert"] for r in rows} == {e.username for e in experts}


def test_export_ratings_command_errors(rated_campaign, tmp_path):
    with pytest.raises(CommandError, match="no campaign 'nope'"):
        call_command("export_ratings", "--campaign", "nope", "--format", "csv",
                     "--out", str(tmp_path / "x.csv"))  # fmt: skip
    assert not (tmp_path / "x.csv").exists()


def test_export_dataset_command(rated_campaign, tmp_path, capsys):
    campaign, _owner, _experts = rated_campaign
    dataset = campaign.datasets.get()
    out = tmp_path / "clean.json"
    call_command("export_dataset", "--dataset", dataset.name, "--out", str(out), "--filters",
                 '{"accuracy_mean_gte": 3, "exclude_flags": ["hallucination"]}')  # fmt: skip
    records = json.loads(out.read_text())
    printed = capsys.readouterr().out
    assert f"Wrote {len(records):,} of {dataset.items.count():,} items" in printed
    assert records and all(r["audit"]["criteria"]["accuracy"]["mean"] >= 3 for r in records)
    with pytest.raises(CommandError, match="not valid JSON"):
        call_command("export_dataset", "--dataset", dataset.name, "--out", str(out),
                     "--filters", "{accuracy")  # fmt: skip


@pytest.mark.django_db(transaction=True)
def test_the_commands_exit_codes(rated_campaign, tmp_path):
    """Through a real process: 0 and a summary when written, 1 and the reason when not."""
    from tests.workers import database_url

    campaign, _owner, _experts = rated_campaign
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "audit.test_settings",
           "DATABASE_URL": database_url()}  # fmt: skip
    out = tmp_path / "r.parquet"
    base = [sys.executable, "manage.py", "export_ratings", "--format", "parquet", "--out", str(out)]
    ok = subprocess.run([*base, "--campaign", str(campaign.pk)], cwd=REPO, env=env,
                        capture_output=True, text=True, timeout=120)  # fmt: skip
    assert ok.returncode == 0, ok.stderr
    rows = len(pd.read_parquet(out))
    assert rows > 0 and f"Wrote {rows:,} rows (long, parquet)" in ok.stdout
    bad = subprocess.run([*base, "--campaign", "9999999"], cwd=REPO, env=env,
                         capture_output=True, text=True, timeout=120)  # fmt: skip
    assert bad.returncode == 1 and "no campaign '9999999'" in bad.stderr
    out.unlink()
    failed = subprocess.run([*base, "--campaign", str(campaign.pk), "--layout", "tall"], cwd=REPO,
                            env=env, capture_output=True, text=True, timeout=120)  # fmt: skip
    assert failed.returncode == 2 and "invalid choice: 'tall'" in failed.stderr
    assert not out.exists()


# --- The admin --------------------------------------------------------------------------------


def test_staff_export_ratings_from_the_campaign_admin(rated_campaign, client, settings):
    from tests.factories import StaffFactory

    campaign, _owner, _experts = rated_campaign
    staff = StaffFactory(username="staff1")
    client.force_login(staff)
    response = client.post(
        "/admin/campaigns/campaign/",
        {"action": "export_ratings_parquet_long", "_selected_action": [campaign.pk]},
        follow=True,
    )
    assert response.status_code == 200
    assert "Queued 1 export(s)" in response.content.decode()
    job = ExportJob.objects.get()
    assert (job.owner, job.campaign, job.format, job.layout) == (staff, campaign, "parquet", "long")
    jobs.export_job_run(job_id=job.pk)
    listing = client.get("/admin/exports/exportjob/").content.decode()
    assert f"/exports/{job.public_id}/download/" in listing
    download = client.get(f"/exports/{job.public_id}/download/")
    assert download.status_code == 200


def test_staff_export_an_audited_dataset_from_the_dataset_admin(world, client):
    from tests.factories import StaffFactory

    client.force_login(StaffFactory(username="staff2"))
    response = client.post(
        "/admin/datasets/dataset/",
        {"action": "export_audited_dataset", "_selected_action": [world["dataset"].pk]},
        follow=True,
    )
    assert response.status_code == 200 and "Queued 1 export(s)" in response.content.decode()
    job = jobs.export_job_run(job_id=ExportJob.objects.get().pk)
    assert job.status == "succeeded" and job.format == "pubmedvision"
    assert len(json.loads(jobs.export_file(job).read_text())) == world["dataset"].items.count()


def test_experts_have_no_admin_and_no_export(world, client):
    client.force_login(world["users"]["expert_here"])
    response = client.post(
        "/admin/campaigns/campaign/",
        {"action": "export_ratings_csv_long", "_selected_action": [world["campaign"].pk]},
    )
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
    assert not ExportJob.objects.exists()


def test_an_owner_with_the_admin_opens_export_jobs(world, client):
    """The admin's "Export jobs" link answered owners 403: they hold no model permission on
    export jobs (the demo's owner is staff without being a superuser)."""
    owner = world["users"]["owner_here"]
    owner.is_staff = True
    owner.save()
    job = jobs.export_job_create(owner=owner, kind="ratings", campaign=world["campaign"],
                                 fmt="csv", layout="long")  # fmt: skip
    jobs.export_job_run(job_id=job.pk)
    client.force_login(owner)
    listing = client.get("/admin/exports/exportjob/")
    assert listing.status_code == 200
    assert f"/exports/{job.public_id}/download/" in listing.content.decode()
    assert client.get(f"/admin/exports/exportjob/{job.pk}/change/").status_code == 200
    assert client.get("/admin/").content.decode().count("/admin/exports/exportjob/") >= 1
