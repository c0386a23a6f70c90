"""The Reports tab edits report schedules (daily, weekly, cron; time zone; recipients; pause)
and shows when the next report goes out; refused input stays on the form with the reason.
The next-run time is checked against Celery's own crontab arithmetic (UTC) and by hand across
time zones and a daylight-saving change."""

import zoneinfo
from datetime import UTC, datetime

import pytest
from celery.schedules import crontab
from django.urls import reverse

from audit.reports.models import ReportSchedule
from audit.reports.quality.schedules import crontab_fields, next_run

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "cron",
    ["0 7 * * 1", "30 6 1 * *", "*/15 9-17 * * 1-5", "0 0 29 2 *", "5 4 * * 0", "59 23 31 12 *"],
)
@pytest.mark.parametrize(
    "now",
    [datetime(2026, 12, 4, 1, 17, 30, tzinfo=UTC), datetime(2027, 2, 28, 23, 59, tzinfo=UTC)],
)
def test_next_run_agrees_with_celerys_crontab(cron, now):
    schedule = ReportSchedule(frequency="cron", cron=cron, time_zone="UTC")
    ours = next_run(schedule, now)
    celery = crontab(**crontab_fields(schedule), nowfun=lambda: now)
    expected = now + celery.remaining_estimate(now)
    assert ours == expected.replace(second=0, microsecond=0)


def test_next_run_in_the_schedules_time_zone_and_across_a_clock_change():
    weekly = ReportSchedule(frequency="weekly", day_of_week=1, hour=7, minute=0,
                            time_zone="Europe/Berlin")  # fmt: skip
    # Friday 4 December 2026, 01:17 UTC -> Monday 7 December, 07:00 in Berlin = 06:00 UTC.
    when = next_run(weekly, datetime(2026, 12, 4, 1, 17, tzinfo=UTC))
    assert when.astimezone(UTC) == datetime(2026, 12, 7, 6, 0, tzinfo=UTC)
    # New York moves to summer time on Sunday 8 March 2026: 07:00 is 12:00 UTC before, 11:00 after.
    daily = ReportSchedule(frequency="daily", hour=7, minute=0, time_zone="America/New_York")
    before = next_run(daily, datetime(2026, 3, 7, 13, 0, tzinfo=UTC))
    assert before.astimezone(UTC) == datetime(2026, 3, 8, 11, 0, tzinfo=UTC)
    assert before.tzinfo == zoneinfo.ZoneInfo("America/New_York")
    assert next_run(ReportSchedule(frequency="daily", enabled=False), datetime.now(UTC)) is None


def page_url(campaign) -> str:
    return reverse("reports:campaign-reports", args=[campaign.public_id])


def test_owner_adds_edits_pauses_and_deletes_a_schedule(client, launched_campaign):
    campaign, owner, _experts = launched_campaign
    client.force_login(owner)
    new = reverse("reports:campaign-schedule-new", args=[campaign.public_id])
    response = client.post(new, {
        "frequency": "weekly", "day_of_week": "1", "hour": "7", "minute": "30",
        "time_zone": "Europe/Berlin", "recipients": "lead@example.org,\nstats@example.org",
        "enabled": "on",
    })  # fmt: skip
    assert response.status_code == 302
    schedule = ReportSchedule.objects.get(campaign=campaign)
    assert (schedule.frequency, schedule.hour, schedule.minute, schedule.time_zone) == (
        "weekly", 7, 30, "Europe/Berlin",
    )  # fmt: skip
    assert schedule.recipients == ["lead@example.org", "stats@example.org"]
    assert schedule.periodic_task.enabled and schedule.periodic_task.crontab.hour == "7"
    page = client.get(page_url(campaign)).content.decode()
    assert "weekly, Monday at 07:30" in page
    assert next_run(schedule).strftime("%Y-%m-%d %H:%M") in page
    # Edit: the form comes filled in; saving changes the beat entry.
    edit = client.get(page_url(campaign) + f"?edit={schedule.pk}").content.decode()
    assert 'value="Europe/Berlin"' in edit and "stats@example.org" in edit
    one = reverse("reports:campaign-schedule", args=[campaign.public_id, schedule.pk])
    client.post(one, {"frequency": "cron", "cron": "0 6 * * 1-5", "day_of_week": "1",
                      "hour": "7", "minute": "0", "time_zone": "UTC", "enabled": "on"})  # fmt: skip
    schedule.refresh_from_db()
    assert schedule.frequency == "cron" and schedule.periodic_task.crontab.day_of_week == "1-5"
    assert schedule.recipients == []
    client.post(one, {"action": "pause"})
    schedule.refresh_from_db()
    assert not schedule.enabled and not schedule.periodic_task.enabled
    assert "paused" in client.get(page_url(campaign)).content.decode()
    client.post(one, {"action": "resume"})
    schedule.refresh_from_db()
    assert schedule.enabled and schedule.periodic_task.enabled
    client.post(one, {"action": "delete"})
    assert not ReportSchedule.objects.filter(campaign=campaign).exists()


def test_a_refused_schedule_keeps_the_input_and_names_the_field(client, launched_campaign):
    campaign, owner, _experts = launched_campaign
    client.force_login(owner)
    new = reverse("reports:campaign-schedule-new", args=[campaign.public_id])
    response = client.post(new, {
        "frequency": "cron", "cron": "0 25 * * *", "day_of_week": "1", "hour": "7",
        "minute": "0", "time_zone": "Mars/Olympus", "recipients": "not-an-address",
    })  # fmt: skip
    assert response.status_code == 400
    page = response.content.decode()
    assert "Unknown time zone" in page and "Not an e-mail address" in page
    assert 'value="Mars/Olympus"' in page and "0 25 * * *" in page
    assert not ReportSchedule.objects.exists()
    # A bad cron expression alone is named as such.
    response = client.post(new, {"frequency": "cron", "cron": "0 25 * * *", "day_of_week": "1",
                                 "hour": "7", "minute": "0", "time_zone": "UTC"})  # fmt: skip
    assert (
        response.status_code == 400 and "Not a valid cron expression" in response.content.decode()
    )


def test_other_owners_and_experts_cannot_touch_a_schedule(client, world):
    from audit.reports.quality.schedules import schedule_save

    campaign = world["campaign"]
    schedule = schedule_save(campaign=campaign, frequency="daily", hour=7, minute=0)
    one = reverse("reports:campaign-schedule", args=[campaign.public_id, schedule.pk])
    for role in ("owner_elsewhere", "expert_here"):
        client.force_login(world["users"][role])
        assert client.post(one, {"action": "delete"}).status_code == 404
    assert ReportSchedule.objects.filter(pk=schedule.pk).exists()
