"""A report schedule fires from its beat entry: a real ``celery beat`` (django-celery-beat's
DatabaseScheduler, reading the PeriodicTask the schedule created) sends the task to the
configured broker, a real worker makes the report, stores it and mails it with the PDF attached
(Django's file e-mail backend, read back here). No eager mode, nothing mocked."""

import email
import os
import subprocess
import sys
from email import policy

import pytest
from django.conf import settings as django_settings
from pypdf import PdfReader

from audit.reports.analysis.services import analyse_campaign
from audit.reports.models import QualityReport
from audit.reports.quality import schedules
from tests.reports.analysis.test_worker import start_worker
from tests.reports.conftest import rate_all
from tests.workers import REPO, database_url, stop, wait_until

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def start_beat(tmp_path) -> subprocess.Popen:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "audit.test_settings",
           "DATABASE_URL": database_url()}  # fmt: skip
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "audit", "beat", "--loglevel", "INFO",
         "--scheduler", "django_celery_beat.schedulers:DatabaseScheduler",
         "--max-interval", "2", "--pidfile", str(tmp_path / "beat.pid"),
         "--schedule", str(tmp_path / "beat-schedule")],
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip


def test_a_schedule_fires_from_beat_and_mails_its_report(
    launched_campaign, settings, tmp_path, monkeypatch
):
    campaign, owner, _experts = launched_campaign
    rate_all(campaign, seed=5)
    snapshot = analyse_campaign(campaign=campaign, n_resamples=100)
    reports_dir, mail_dir = tmp_path / "reports", tmp_path / "mail"
    settings.QUALITY_REPORTS_DIR = reports_dir
    monkeypatch.setenv("AUDIT_REPORTS_DIR", str(reports_dir))
    monkeypatch.setenv("EMAIL_URL", f"filemail:///{mail_dir}")  # an absolute path
    # Every minute, in a time zone other than the server's: the next minute boundary fires it.
    schedule = schedules.schedule_save(
        campaign=campaign, frequency="cron", cron="* * * * *", time_zone="Asia/Kolkata"
    )
    assert schedule.periodic_task.queue == django_settings.CELERY_QUEUE_ANALYSIS
    worker = start_worker(settings, replicates=100)
    beat = start_beat(tmp_path)
    try:
        report = wait_until(
            lambda: QualityReport.objects.filter(campaign=campaign, sent_at__isnull=False).first(),
            worker,
            seconds=150,
            what="a scheduled report",
        )
    finally:
        beat_log = stop(beat)
        stop(worker)
    assert "reports.quality.send_scheduled_report" in beat_log
    assert report.schedule == schedule and report.trigger == QualityReport.Trigger.SCHEDULE
    assert report.status == QualityReport.Status.SUCCEEDED
    # The newest analysis at the time (the worker may also have run the debounced one after the
    # ratings, which has the same numbers); the report's numbers are that snapshot's.
    used = report.snapshot
    assert used.campaign == campaign and used.n_ratings == snapshot.n_ratings
    for c in used.results["criteria"]:
        alpha = c["agreement"]["alpha_ordinal"]["value"]
        assert report.summary["criteria"][c["key"]]["alpha"] == alpha
    assert report.sent_to == [owner.email]
    (stored,) = (reports_dir / f"campaign-{campaign.pk}").glob("*.pdf")
    assert PdfReader(stored).pages and report.pdf.name.endswith(stored.name)
    (message_file,) = mail_dir.glob("*.log")
    message = email.message_from_bytes(message_file.read_bytes(), policy=policy.default)
    assert message["To"] == owner.email and campaign.name in message["Subject"]
    (attachment,) = list(message.iter_attachments())
    assert attachment.get_content_type() == "application/pdf"
    assert attachment.get_content() == stored.read_bytes()
