"""Quality reports: made from the analysis snapshot's numbers over a period, rendered to HTML and
PDF (WeasyPrint; opened with pdftoppm and pypdf), stored, mailed with the PDF (locmem backend),
scheduled through django-celery-beat entries, and shown only to the campaign's owners."""

import io
import json
import re
import shutil
import subprocess
from datetime import timedelta
from unittest import mock

import pytest
from celery import current_app
from django.core import mail
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape
from django_celery_beat.models import CrontabSchedule, PeriodicTask
from PIL import Image
from pypdf import PdfReader

from audit.reports.analysis.services import analyse_campaign
from audit.reports.models import QualityReport, ReportSchedule
from audit.reports.quality import presentation, schedules, services, tasks
from tests.conftest import ROLES
from tests.reports.conftest import assignments_of, rate, rate_all

pytestmark = pytest.mark.django_db
N_BOOT = 100


@pytest.fixture(autouse=True)
def _report_dir(settings, tmp_path):
    settings.QUALITY_REPORTS_DIR = tmp_path / "reports"
    settings.ANALYSIS_BOOTSTRAP_REPLICATES = N_BOOT
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"


@pytest.fixture
def rated(launched_campaign):
    campaign, owner, experts = launched_campaign
    rate_all(campaign, seed=7)
    snapshot = analyse_campaign(campaign=campaign, n_resamples=N_BOOT)
    return campaign, owner, experts, snapshot


def html_of(report: QualityReport) -> str:
    with report.html.open("rb") as fh:
        return fh.read().decode()


def section(html: str, name: str) -> str:
    match = re.search(rf'<section id="{name}">(.*?)</section>', html, re.S)
    assert match, f"no section {name}"
    return match.group(1)


# --------------------------------------------------------------------------------------------
# Content
# --------------------------------------------------------------------------------------------


def test_report_numbers_are_the_snapshots(rated):
    campaign, _owner, _experts, snapshot = rated
    report = services.quality_report_make(campaign=campaign, send=False)
    assert report.status == QualityReport.Status.SUCCEEDED, report.error
    assert report.snapshot_id == snapshot.pk
    html = html_of(report)
    results = snapshot.results
    agreement = section(html, "agreement")
    for c in results["criteria"]:
        alpha = c["agreement"]["alpha_ordinal"]
        row = re.search(rf'<tr data-criterion="{c["key"]}">(.*?)</tr>', agreement, re.S).group(1)
        assert f"{alpha['value']:.3f}" in row
        assert f"[{alpha['ci_low']:.3f}, {alpha['ci_high']:.3f}]" in row
        assert report.summary["criteria"][c["key"]]["alpha"] == alpha["value"]
        panel = re.search(
            rf'<div class="comparison" data-criterion="{c["key"]}">(.*?)</div>',
            section(html, "comparison"),
            re.S,
        ).group(1)
        for s in c["comparison"]["summaries"]:
            assert report.summary["criteria"][c["key"]]["methods"][s["method"]] == s["mean"]
            assert f"{s['mean']:.2f} [{s['ci_low']:.2f}, {s['ci_high']:.2f}]" in panel
        omnibus = presentation.comparison_panel(c)["omnibus"]
        assert escape(omnibus) in panel  # as the template escapes it ("p = &lt; 0.001")
    severity = section(html, "raters")
    for r in results["raters"]:
        for d in r["criteria"].values():
            assert f"{d['severity']:+.2f}" in severity
    flags = section(html, "flags")
    for m in results["flags"]["per_method"]:
        assert f'<td>{m["method"]}</td><td class="num">{m["n_ratings"]}</td>' in flags
    disputed = section(html, "disputed")
    for d in results["disputed"]:
        # To the item's adjudication page (the admin's item page showed no image, text or ratings).
        link = reverse("reports:adjudicate", args=[campaign.public_id, d["campaign_item_id"]])
        assert f'{link}">{d["campaign_item_id"]}</a>' in disputed
    # Throughput over the period: every rating of the fixture was submitted in it.
    n_ratings = results["counts"]["ratings"]
    assert f"{n_ratings} ratings submitted in the period" in section(html, "progress")
    assert "first report" in section(html, "changes")


def test_pdf_opens_and_has_pages(rated, tmp_path):
    campaign, *_ = rated
    report = services.quality_report_make(campaign=campaign, send=False)
    assert report.pdf.name.endswith(".pdf")
    with report.pdf.open("rb") as fh:
        pdf = fh.read()
    reader = PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) >= 3  # progress, agreement, comparisons, raters, flags, disputed
    text = "".join(page.extract_text() for page in reader.pages)
    assert "Quality report" in text and "Agreement per criterion" in text
    assert "Most disputed items" in text
    if shutil.which("pdftoppm") is None:
        pytest.skip("pdftoppm (poppler-utils) is not installed")
    (tmp_path / "r.pdf").write_bytes(pdf)
    subprocess.run(
        ["pdftoppm", "-png", "-r", "50", "-f", "1", "-l", "1", tmp_path / "r.pdf", tmp_path / "p"],
        check=True,
        timeout=60,
    )
    (png,) = list(tmp_path.glob("p*.png"))
    with Image.open(png) as image:
        width, height = image.size
        assert height > width > 300  # A4 portrait
        extrema = image.convert("L").getextrema()
        assert extrema[0] < 100 and extrema[1] > 200  # dark text on a white page


def test_html_escapes_dataset_and_campaign_text(launched_campaign):
    campaign, *_ = launched_campaign
    campaign.name = "<script>alert('name')</script>"
    campaign.save(update_fields=["name"])
    criterion = campaign.criteria.first()
    criterion.name = "<img src=x onerror=alert(1)>"
    criterion.save(update_fields=["name"])
    item = campaign.items.first()
    item.stratum = ["<b>CT</b>"] * len(item.stratum or [""])
    item.save(update_fields=["stratum"])
    rate_all(campaign, seed=2)
    analyse_campaign(campaign=campaign, n_resamples=N_BOOT)
    report = services.quality_report_make(campaign=campaign, send=False)
    html = html_of(report)
    assert "<script>" not in html and "<img src=x" not in html and "<b>CT</b>" not in html
    assert "&lt;script&gt;" in html and "&lt;img src=x onerror=alert(1)&gt;" in html
    assert report.pdf  # and WeasyPrint renders it


def test_campaign_without_ratings_gets_a_report_that_says_so(launched_campaign):
    campaign, owner, _ = launched_campaign
    report = services.quality_report_make(campaign=campaign)
    assert report.status == QualityReport.Status.SUCCEEDED, report.error
    assert report.snapshot is not None and report.snapshot.results["empty"] is True
    html = html_of(report)
    assert "No ratings with scores yet" in section(html, "empty")
    assert "0 ratings submitted in the period" in html
    assert 'id="agreement"' not in html
    reader = PdfReader(report.pdf.path)
    assert len(reader.pages) >= 1 and "No ratings with scores yet" in reader.pages[0].extract_text()
    (message,) = mail.outbox
    assert message.to == [owner.email] and "No ratings with scores yet" in message.body


def test_second_report_says_what_changed(launched_campaign):
    campaign, *_ = launched_campaign
    everything = assignments_of(campaign)
    for a in everything[:20]:
        rate(a, {"accuracy": 3, "relevance": 4, "completeness": 2, "usefulness": 3})
    first = services.quality_report_make(campaign=campaign, send=False)
    assert first.summary["ratings_scored"] == 20
    for a in everything[20:50]:
        rate(a, {"accuracy": 2, "relevance": 5, "completeness": 3, "usefulness": 4})
    second = services.quality_report_make(campaign=campaign, send=False)
    assert second.period_start == first.period_end  # the period follows on from the last one
    assert second.snapshot_id != first.snapshot_id  # newer ratings: analysed again first
    changed = section(html_of(second), "changes")
    row = re.search(r"<td>Ratings with scores</td>(.*?)</tr>", changed, re.S).group(1)
    cells = [c.strip() for c in re.findall(r">([^<>]+)<", row) if c.strip()]
    assert cells[:3] == ["20", "50", "+30"]
    assert "30 ratings submitted in the period" in section(html_of(second), "progress")


def test_period_must_start_before_it_ends(rated):
    campaign, *_ = rated
    now = timezone.now()
    with pytest.raises(ValueError, match="start before"):
        services.quality_report_make(campaign=campaign, period_start=now, period_end=now)
    assert not QualityReport.objects.exists()


def test_pdf_fetches_nothing_from_the_network():
    from audit.reports.quality.rendering import render_pdf

    html = (
        '<html><body><p>x</p><img src="http://127.0.0.1:9/track.png">'
        '<link rel="stylesheet" href="file:///etc/passwd"></body></html>'
    )
    fetched = []
    import weasyprint

    original = weasyprint.URLFetcher.open
    weasyprint.URLFetcher.open = lambda self, *a, **k: fetched.append(a) or original(self, *a, **k)
    try:
        assert render_pdf(html).startswith(b"%PDF")
    finally:
        weasyprint.URLFetcher.open = original
    assert fetched == []


# --------------------------------------------------------------------------------------------
# Schedules and their beat entries
# --------------------------------------------------------------------------------------------


def test_schedule_created_updated_and_deleted_with_its_beat_entry(launched_campaign):
    campaign, *_ = launched_campaign
    schedule = schedules.schedule_save(
        campaign=campaign, frequency="weekly", day_of_week=1, hour=7, minute=30,
        time_zone="Europe/Berlin",
    )  # fmt: skip
    task = PeriodicTask.objects.get(pk=schedule.periodic_task_id)
    assert task.task == "reports.quality.send_scheduled_report"
    assert json.loads(task.kwargs) == {"schedule_id": schedule.pk}
    assert task.enabled and task.queue == "analysis"
    cron = task.crontab
    assert (cron.minute, cron.hour, cron.day_of_week, cron.day_of_month) == ("30", "7", "1", "*")
    assert str(cron.timezone) == "Europe/Berlin"

    schedules.schedule_save(
        campaign=campaign, schedule=schedule, frequency="cron", cron="0  6 1 * *",
        time_zone="America/New_York", enabled=False,
    )  # fmt: skip
    task.refresh_from_db()
    assert PeriodicTask.objects.filter(task=schedules.TASK_NAME).count() == 1
    assert (task.crontab.minute, task.crontab.hour, task.crontab.day_of_month) == ("0", "6", "1")
    assert str(task.crontab.timezone) == "America/New_York" and not task.enabled

    schedules.schedule_delete(schedule=schedule)
    assert not PeriodicTask.objects.filter(pk=task.pk).exists()


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"frequency": "cron", "cron": "61 * * * *"}, "cron"),
        ({"frequency": "cron", "cron": "* * *"}, "cron"),
        ({"frequency": "cron", "cron": ""}, "cron"),
        ({"frequency": "daily", "hour": 24}, "hour"),
        ({"frequency": "daily", "time_zone": "Mars/Olympus"}, "time_zone"),
        ({"frequency": "daily", "recipients": ["not-an-address"]}, "recipients"),
        ({"frequency": "hourly"}, "frequency"),
    ],
)
def test_bad_schedule_is_refused_and_changes_nothing(launched_campaign, fields, field):
    campaign, *_ = launched_campaign
    schedule = schedules.schedule_save(campaign=campaign, frequency="daily", hour=6)
    before = PeriodicTask.objects.get(task=schedules.TASK_NAME).crontab_id
    with pytest.raises(ValidationError) as caught:
        schedules.schedule_save(campaign=campaign, schedule=schedule, **fields)
    assert field in caught.value.message_dict
    schedule.refresh_from_db()
    assert (schedule.frequency, schedule.hour) == ("daily", 6)
    assert PeriodicTask.objects.get(task=schedules.TASK_NAME).crontab_id == before
    with pytest.raises(ValidationError):
        schedules.schedule_save(campaign=campaign, **fields)
    assert ReportSchedule.objects.count() == 1


def test_deleting_the_campaign_deletes_its_beat_entries(launched_campaign):
    campaign, *_ = launched_campaign
    schedules.schedule_save(campaign=campaign, frequency="daily")
    schedules.schedule_save(campaign=campaign, frequency="weekly")
    nightly = PeriodicTask.objects.exclude(task=schedules.TASK_NAME).count()
    assert PeriodicTask.objects.filter(task=schedules.TASK_NAME).count() == 2
    campaign.delete()
    assert PeriodicTask.objects.filter(task=schedules.TASK_NAME).count() == 0
    assert PeriodicTask.objects.count() == nightly  # the nightly analysis stays
    assert CrontabSchedule.objects.exists()


def test_beat_entry_makes_stores_and_mails_the_report(rated):
    """Call the task the way beat does: by the PeriodicTask's stored task name and kwargs."""
    campaign, _owner, _experts, snapshot = rated
    schedule = schedules.schedule_save(
        campaign=campaign, frequency="daily", hour=6, recipients=["lead@example.org"]
    )
    entry = PeriodicTask.objects.get(pk=schedule.periodic_task_id)
    task = current_app.tasks[entry.task]
    result = task.apply(args=json.loads(entry.args or "[]"), kwargs=json.loads(entry.kwargs))
    assert result.get() == "succeeded"
    report = QualityReport.objects.get()
    assert report.schedule == schedule and report.trigger == "schedule"
    assert report.snapshot == snapshot and report.sent_to == ["lead@example.org"]
    (message,) = mail.outbox
    assert message.to == ["lead@example.org"] and campaign.name in message.subject
    ((filename, content, mimetype),) = message.attachments
    assert filename.endswith(".pdf") and mimetype == "application/pdf"
    assert content.startswith(b"%PDF") and len(PdfReader(io.BytesIO(content)).pages) >= 3
    with report.pdf.open("rb") as fh:
        assert fh.read() == content

    # A disabled schedule's entry does nothing; a deleted schedule's leftover call neither.
    schedules.schedule_save(campaign=campaign, schedule=schedule, enabled=False)
    assert task.apply(kwargs=json.loads(entry.kwargs)).get() == "disabled"
    assert task.apply(kwargs={"schedule_id": 999_999}).get() == "missing"
    assert QualityReport.objects.count() == 1 and len(mail.outbox) == 1


def test_recipients_default_to_the_campaigns_owners(launched_campaign):
    campaign, owner, experts = launched_campaign
    assert services.report_recipients(campaign=campaign) == [owner.email]
    assert all(e.email not in services.report_recipients(campaign=campaign) for e in experts)


# --------------------------------------------------------------------------------------------
# Pages, files and the API: owners (and staff) only
# --------------------------------------------------------------------------------------------


def _client(client, user):
    if user is not None:
        client.force_login(user)
    return client


@pytest.fixture
def made(world, settings):
    campaign = world["campaign"]
    rate_all(campaign, seed=1, limit=30)
    analyse_campaign(campaign=campaign, n_resamples=N_BOOT)
    report = services.quality_report_make(campaign=campaign, send=False)
    schedule = schedules.schedule_save(campaign=campaign, frequency="daily")
    return {**world, "report": report, "schedule": schedule}


@pytest.mark.parametrize("role", ROLES)
def test_history_page_and_files_for_owners_only(client, made, role):
    campaign, report = made["campaign"], made["report"]
    _client(client, made["users"][role])
    allowed = role in {"owner_here", "staff"}
    pages = [
        reverse("reports:campaign-reports", args=[campaign.public_id]),
        reverse("reports:quality-report-file", args=[campaign.public_id, report.pk, "html"]),
        reverse("reports:quality-report-file", args=[campaign.public_id, report.pk, "pdf"]),
    ]
    for url in pages:
        response = client.get(url)
        if role == "anonymous":
            assert response.status_code == 302 and "/login" in response["Location"]
        else:
            assert response.status_code == (200 if allowed else 404), url
    if allowed:
        page = client.get(pages[0]).content.decode()
        assert pages[1] in page and pages[2] in page and "daily at 07:00" in page
        pdf = client.get(pages[2])
        assert pdf["Content-Type"] == "application/pdf"
        assert b"".join(pdf.streaming_content).startswith(b"%PDF")
        html = client.get(pages[1])
        assert "default-src 'none'" in html["Content-Security-Policy"]


def test_report_of_another_campaign_is_not_found(client, made):
    """A report id that exists, under a campaign the owner owns that is not its own: 404."""
    other = made["other"]
    client.force_login(made["users"]["owner_elsewhere"])
    url = reverse("reports:quality-report-file", args=[other.public_id, made["report"].pk, "pdf"])
    assert client.get(url).status_code == 404


def test_history_page_button_queues_a_report(client, made, django_capture_on_commit_callbacks):
    campaign = made["campaign"]
    client.force_login(made["users"]["owner_here"])
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client.post(
            reverse("reports:campaign-report-request", args=[campaign.public_id])
        )
    assert response.status_code == 302 and len(callbacks) == 1
    analysis = client.get(reverse("reports:campaign-analysis", args=[campaign.public_id]))
    assert (
        reverse("reports:campaign-reports", args=[campaign.public_id]) in analysis.content.decode()
    )


@pytest.mark.parametrize("role", ROLES)
def test_api_for_owners_only(client, made, role):
    campaign, report, schedule = made["campaign"], made["report"], made["schedule"]
    _client(client, made["users"][role])
    allowed = role in {"owner_here", "staff"}
    base = f"/api/campaigns/{campaign.public_id}"
    urls = [
        f"{base}/quality-reports/",
        f"{base}/quality-reports/{report.pk}/",
        f"{base}/report-schedules/",
        f"{base}/report-schedules/{schedule.pk}/",
    ]
    for url in urls:
        code = client.get(url).status_code
        expected = 200 if allowed else 401 if role == "anonymous" else 404
        assert code == expected, (url, code)
    denied = [
        client.post(f"{base}/quality-reports/", {}, content_type="application/json"),
        client.post(f"{base}/report-schedules/", {"frequency": "daily"},
                    content_type="application/json"),
        client.patch(urls[3], {"hour": 3}, content_type="application/json"),
        client.delete(urls[3]),
    ]  # fmt: skip
    if not allowed:
        assert {r.status_code for r in denied} == {401 if role == "anonymous" else 404}
        assert ReportSchedule.objects.count() == 1 and QualityReport.objects.count() == 1


def test_api_schedules_and_on_demand_report(client, made, django_capture_on_commit_callbacks):
    campaign = made["campaign"]
    client.force_login(made["users"]["owner_here"])
    base = f"/api/campaigns/{campaign.public_id}"
    created = client.post(
        f"{base}/report-schedules/",
        {"frequency": "cron", "cron": "15 8 * * 1-5", "time_zone": "Asia/Tokyo",
         "recipients": ["a@example.org"]},
        content_type="application/json",
    )  # fmt: skip
    assert created.status_code == 201, created.content
    body = created.json()
    entry = PeriodicTask.objects.get(name=body["periodic_task"])
    assert entry.crontab.day_of_week == "1-5" and str(entry.crontab.timezone) == "Asia/Tokyo"
    bad = client.patch(
        f"{base}/report-schedules/{body['id']}/", {"cron": "99 * * * *"},
        content_type="application/json",
    )  # fmt: skip
    assert bad.status_code == 400 and "cron" in bad.json()
    ok = client.patch(
        f"{base}/report-schedules/{body['id']}/", {"enabled": False},
        content_type="application/json",
    )  # fmt: skip
    assert ok.status_code == 200 and ok.json()["enabled"] is False
    entry.refresh_from_db()
    assert not entry.enabled and entry.crontab.minute == "15"
    assert client.delete(f"{base}/report-schedules/{body['id']}/").status_code == 204
    assert not PeriodicTask.objects.filter(pk=entry.pk).exists()

    listed = client.get(f"{base}/quality-reports/").json()
    assert listed[0]["pdf_url"].endswith(f"/reports/{made['report'].pk}/report.pdf")
    assert client.get(listed[0]["pdf_url"]).status_code == 200

    wrong = client.post(
        f"{base}/quality-reports/",
        {"period_start": "2026-02-01T00:00:00Z", "period_end": "2026-01-01T00:00:00Z"},
        content_type="application/json",
    )
    assert wrong.status_code == 400
    end = timezone.now()
    # What would go to the broker is recorded, then run as the worker would run it.
    with (
        mock.patch.object(tasks.make_quality_report, "apply_async") as apply_async,
        django_capture_on_commit_callbacks(execute=True),
    ):
        queued = client.post(
            f"{base}/quality-reports/",
            {"period_start": (end - timedelta(days=2)).isoformat(), "period_end": end.isoformat(),
             "send": True},
            content_type="application/json",
        )  # fmt: skip
    assert queued.status_code == 202
    (call,) = apply_async.call_args_list
    assert tasks.make_quality_report.apply(kwargs=call.kwargs["kwargs"]).get() == "succeeded"
    newest = QualityReport.objects.order_by("-pk").first()
    assert newest.pk != made["report"].pk and newest.status == "succeeded"
    assert newest.requested_by == made["users"]["owner_here"]
    assert abs((newest.period_end - end).total_seconds()) < 1
    assert mail.outbox[-1].attachments[0][2] == "application/pdf"


def test_demo_seeds_a_weekly_schedule_and_a_first_report(launched_campaign):
    from audit.site.demo import seed_demo_reports

    campaign, *_ = launched_campaign
    seed_demo_reports(campaign=campaign)
    (schedule,) = ReportSchedule.objects.filter(campaign=campaign)
    entry = schedule.periodic_task
    assert (entry.crontab.day_of_week, entry.crontab.hour, entry.crontab.minute) == ("1", "7", "0")
    assert QualityReport.objects.get(campaign=campaign).status == "succeeded"
    assert mail.outbox == []


def test_severity_drift_by_hand():
    from datetime import UTC, datetime

    from audit.reports.quality.numbers import severity_drift

    d0, d8 = datetime(2026, 3, 2, 9, tzinfo=UTC), datetime(2026, 3, 10, 23, tzinfo=UTC)
    records = [
        ("accuracy", 1, "e1", 4, d0), ("accuracy", 1, "e2", 2, d0),
        ("accuracy", 2, "e1", 3, d8), ("accuracy", 2, "e2", 3, d8), ("accuracy", 2, "e3", 5, d8),
        ("relevance", 1, "e1", 5, d0),  # nobody else rated it: no offset
    ]  # fmt: skip
    drift = severity_drift(records, bin_days=7)
    assert drift["bins"] == ["2026-03-02", "2026-03-09"]
    assert drift["experts"] == {"e1": [2.0, -1.0], "e2": [-2.0, -1.0], "e3": [None, 2.0]}
    assert drift["n"] == {"e1": [1, 1], "e2": [1, 1], "e3": [0, 1]}
    assert severity_drift([], bin_days=1)["bins"] == []


def test_on_demand_task_with_an_empty_period_stores_nothing(rated):
    campaign, *_ = rated
    first = services.quality_report_make(campaign=campaign, send=False)
    before = (first.period_end - timedelta(hours=1)).isoformat()
    assert tasks.make_quality_report.apply(
        kwargs={"campaign_id": campaign.pk, "period_end": before}
    ).get() == "invalid"  # fmt: skip
    assert list(QualityReport.objects.all()) == [first] and mail.outbox == []


def test_without_weasyprint_the_report_is_html_and_says_why(rated, monkeypatch):
    """WeasyPrint's libraries missing (simulated: the one remote-free way to test the fallback)."""
    from audit.reports.quality import rendering

    def unavailable(html):
        raise rendering.PdfUnavailable("WeasyPrint cannot run here: no Pango")

    monkeypatch.setattr(rendering, "render_pdf", unavailable)
    campaign, owner, *_ = rated
    report = services.quality_report_make(campaign=campaign)
    assert report.status == "succeeded" and not report.pdf and report.html
    assert "no Pango" in report.error
    assert mail.outbox[0].to == [owner.email]
    ((name, _content, mimetype),) = mail.outbox[0].attachments
    assert name.endswith(".html") and mimetype == "text/html"


def test_admin_edits_schedules_and_their_beat_entries(client, launched_campaign):
    from tests.factories import StaffFactory

    campaign, *_ = launched_campaign
    admin_user = StaffFactory(username="root", is_superuser=True)
    client.force_login(admin_user)
    url = reverse("admin:reports_reportschedule_add")
    form = {"campaign": campaign.pk, "frequency": "cron", "cron": "0 25 * * *", "hour": 7,
            "minute": 0, "day_of_week": 1, "time_zone": "Europe/Paris", "recipients": "[]",
            "enabled": "on", "language": "en", "created_at_0": "2026-01-01",
            "created_at_1": "00:00:00"}  # fmt: skip
    refused = client.post(url, form)
    assert refused.status_code == 200 and b"Not a valid cron expression" in refused.content
    assert not ReportSchedule.objects.exists()
    saved = client.post(url, {**form, "cron": "0 5 * * *"})
    assert saved.status_code == 302, saved.content[:2000]
    schedule = ReportSchedule.objects.get()
    entry = schedule.periodic_task
    assert entry.task == schedules.TASK_NAME and str(entry.crontab.timezone) == "Europe/Paris"
    assert entry.crontab.hour == "5"
    delete = reverse("admin:reports_reportschedule_delete", args=[schedule.pk])
    assert client.post(delete, {"post": "yes"}).status_code == 302
    assert not PeriodicTask.objects.filter(pk=entry.pk).exists()


def test_a_report_left_running_by_a_dead_worker_is_marked_interrupted(rated):
    campaign, *_ = rated
    now = timezone.now()
    stale = QualityReport.objects.create(
        campaign=campaign, period_start=now - timedelta(days=3), period_end=now - timedelta(days=1),
        status="running", created_at=now - timedelta(hours=2),
    )  # fmt: skip
    fresh = services.quality_report_make(campaign=campaign, send=False)
    stale.refresh_from_db()
    assert stale.status == "failed" and "interrupted" in stale.error
    assert fresh.status == "succeeded"
