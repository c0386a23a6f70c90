"""The owner pages, the quality report and its e-mail in Simplified Chinese (issue 15): every
owner page of a seeded campaign (ratings, an analysis, a decision, a schedule, an export, a
regeneration job, a draft) read with a Chinese browser shows no message of the project's
catalogue left in English; a report is written and mailed in the language of whoever asked for
it, a scheduled one in its schedule's; English stays the default."""

import re
from unittest import mock

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import translation

from audit.reports.models import QualityReport, ReportSchedule
from tests.annotations.test_i18n import ZH, catalogue, untranslated
from tests.reports.conftest import rate_all

pytestmark = pytest.mark.django_db

CHINESE = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture
def owner_world(launched_campaign, django_capture_on_commit_callbacks):
    """The owner of a launched campaign whose every assignment is rated, analysed, with one
    adjudicated item, a report schedule, a quality report, a ratings export, a regeneration
    job and a draft campaign; and the URLs of every owner page."""
    from audit.campaigns.services import campaign_create
    from audit.regeneration.jobs import job_create
    from audit.regeneration.judge import judge_run_create
    from audit.reports.adjudication.services import decision_record
    from audit.reports.analysis.services import analysis_run
    from audit.reports.exports.jobs import export_job_create
    from audit.reports.quality.schedules import schedule_save
    from audit.reports.quality.services import quality_report_make

    campaign, owner, experts = launched_campaign
    dataset = campaign.datasets.get()
    rate_all(campaign)
    analysis_run(campaign_id=campaign.pk)
    item = campaign.items.order_by("pk").first()
    decision_record(campaign=campaign, campaign_item=item, outcome="exclude", actor=owner)
    schedule = schedule_save(campaign=campaign, frequency="weekly", recipients=["a@example.org"])
    quality_report_make(campaign=campaign, send=False)
    with django_capture_on_commit_callbacks(execute=False):
        export_job_create(owner=owner, kind="ratings", fmt="csv", campaign=campaign)
        job = job_create(created_by=owner, name="Regenerate", datasets=[dataset],
                         methods=["llm_reformatted"], model="m", start=False)  # fmt: skip
        judge = judge_run_create(dataset=dataset, created_by=owner, model="m", start=False)
    draft = campaign_create(
        name="Second study", created_by=owner, datasets=[dataset], methods=["native_caption",
        "llm_reformatted"], n=2, raters_per_item=1, seed=1, experts=experts[:1],
    )  # fmt: skip
    c, d = campaign.public_id, draft.public_id
    urls = {
        "campaigns": reverse("campaigns:list"),
        "new campaign": reverse("campaigns:create"),
        "template": reverse("campaigns:create") + "?template=pubmedvision",
        "overview": reverse("campaigns:detail", args=[c]),
        "progress": reverse("campaigns:progress", args=[c]),
        "analysis": reverse("reports:campaign-analysis", args=[c]),
        "adjudication": reverse("reports:adjudication", args=[c]),
        "adjudicate": reverse("reports:adjudicate", args=[c, item.pk]),
        "reports": reverse("reports:campaign-reports", args=[c]),
        "schedule": reverse("reports:campaign-reports", args=[c]) + f"?edit={schedule.pk}",
        "exports": reverse("exports:campaign", args=[c]),
        "plan": reverse("campaigns:plan", args=[c]),
        "experts": reverse("campaigns:experts", args=[c]),
        "activity": reverse("site:campaign-activity", args=[c]),
        "draft": reverse("campaigns:detail", args=[d]),
        "edit": reverse("campaigns:edit", args=[d]),
        "dry run": reverse("campaigns:dry-run", args=[d]),
        "datasets": reverse("datasets:list"),
        "browse": reverse("datasets:browse", args=[dataset.pk]),
        "regeneration": reverse("regeneration:list"),
        "new job": reverse("regeneration:create"),
        "job": reverse("regeneration:detail", args=[job.public_id]),
        "judge runs": reverse("regeneration:judge-list"),
        "judge run": reverse("regeneration:judge-detail", args=[judge.public_id]),
    }
    return campaign, owner, urls


PAGES = [
    "campaigns", "new campaign", "template", "overview", "progress", "analysis", "adjudication",
    "adjudicate", "reports", "schedule", "exports", "plan", "experts", "activity", "draft",
    "edit", "dry run", "datasets", "browse", "regeneration", "new job", "job", "judge runs",
    "judge run",
]  # fmt: skip


def test_every_owner_page_reads_in_chinese(client, owner_world):
    """One test walks them all (the seeded world is costly): each page in Chinese, with its
    navigation, and no message of the catalogue left in English."""
    _campaign, owner, urls = owner_world
    owner.is_staff = True  # creates campaigns, and has the admin's Imports and Export jobs
    owner.save()
    client.force_login(owner)
    entries = catalogue("django")
    problems = {}
    for page in PAGES:
        response = client.get(urls[page], **ZH)
        assert response.status_code == 200, page
        html = response.content.decode()
        assert '<html lang="zh-hans">' in html and "评审活动" in html, page  # the nav's Campaigns
        left = untranslated(html, entries)
        if left:
            problems[page] = left
    assert not problems, f"English messages left untranslated: {problems}"


def test_the_pages_stay_english_without_a_chinese_browser(client, owner_world):
    _campaign, owner, urls = owner_world
    client.force_login(owner)
    for page in ("overview", "analysis", "reports", "browse", "job"):
        html = client.get(urls[page]).content.decode()
        assert '<html lang="en">' in html and ">Campaigns</a>" in html, page
        assert not CHINESE.search(html.replace("简体中文", "")), page  # the switcher's name


def test_a_new_schedule_takes_its_owners_language(client, owner_world):
    campaign, owner, urls = owner_world
    client.force_login(owner)
    html = client.get(urls["reports"], **ZH).content.decode()
    assert '<option value="zh-hans" selected>简体中文</option>' in html  # the form's language
    form = {"action": "save", "frequency": "daily", "day_of_week": 1, "hour": 6,
            "minute": 0, "time_zone": "UTC", "recipients": "", "enabled": "on"}  # fmt: skip
    # Not sent (a client without the field): the page's language.
    response = client.post(reverse("reports:campaign-schedule-new", args=[campaign.public_id]),
                           form, **ZH)  # fmt: skip
    assert response.status_code == 302
    assert ReportSchedule.objects.filter(campaign=campaign).latest("pk").language == "zh-hans"
    # Through the API, without a language: the request's.
    response = client.post(
        f"/api/campaigns/{campaign.public_id}/report-schedules/",
        {"frequency": "daily", "hour": 5, "minute": 0},
        content_type="application/json",
        **ZH,
    )
    assert response.status_code == 201, response.content
    assert response.json()["language"] == "zh-hans"


def test_a_scheduled_report_is_written_and_mailed_in_the_schedules_language(owner_world):
    from audit.reports.quality.schedules import schedule_save
    from audit.reports.quality.services import quality_report_send_scheduled

    campaign, _owner, _urls = owner_world
    schedule = schedule_save(campaign=campaign, frequency="daily", recipients=["zh@example.org"],
                             language="zh-hans")  # fmt: skip
    mail.outbox.clear()
    with translation.override("en"):  # the worker's own language does not matter
        assert quality_report_send_scheduled(schedule_id=schedule.pk) == "succeeded"
    report = QualityReport.objects.filter(schedule=schedule).get()
    assert report.language == "zh-hans"
    html = report.html.open("rb").read().decode()
    assert '<html lang="zh-hans">' in html
    for text in ("质量报告", "进度与产出", "各评分标准的一致性", "方法比较", "评审人严格度与漂移"):
        assert text in html, text
    left = untranslated(html, catalogue("django"))
    assert not left, f"the report: English messages left untranslated: {left}"
    (message,) = mail.outbox
    assert message.subject.startswith(f"质量报告：{campaign.name}")  # noqa: RUF001
    assert "附件为评审活动" in message.body and "时段：" in message.body  # noqa: RUF001
    assert "Quality report" not in message.subject + message.body


def test_an_on_demand_report_follows_the_requesters_language(
    client, owner_world, django_capture_on_commit_callbacks
):
    from audit.reports.quality import tasks

    campaign, owner, _urls = owner_world
    client.force_login(owner)
    with (
        mock.patch.object(tasks.make_quality_report, "apply_async") as apply_async,
        django_capture_on_commit_callbacks(execute=True),
    ):
        client.post(reverse("reports:campaign-report-request", args=[campaign.public_id]), **ZH)
    # The queued task carries the page's language; run it as the worker would.
    ((_args, call),) = apply_async.call_args_list
    kwargs = call["kwargs"]
    assert kwargs["language"] == "zh-hans"
    assert tasks.make_quality_report.apply(kwargs=kwargs).get() == "succeeded"
    report = QualityReport.objects.latest("pk")
    assert report.language == "zh-hans" and "进度与产出" in report.html.open("rb").read().decode()
    english = QualityReport.objects.filter(schedule=None).order_by("pk").first()
    assert english.language == "en"  # the fixture's, made without a request
    assert "Progress and throughput" in english.html.open("rb").read().decode()
