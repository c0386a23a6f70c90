"""A stored quality report's admin page opens (it answered 500: the report files have no public
URL) and links the files through the permission-checked report view."""

import pytest
from django.test import Client
from django.urls import reverse

from audit.reports.quality.services import quality_report_make
from tests.factories import StaffFactory

pytestmark = pytest.mark.django_db


def test_the_change_page_opens_and_links_the_files(launched_campaign):
    campaign, _, _ = launched_campaign
    report = quality_report_make(campaign=campaign, send=False)
    client = Client()
    client.force_login(StaffFactory(username="staff1"))
    page = client.get(reverse("admin:reports_qualityreport_change", args=[report.pk]))
    assert page.status_code == 200
    html_url = reverse("reports:quality-report-file", args=[campaign.public_id, report.pk, "html"])
    assert html_url in page.content.decode()
    assert client.get(html_url).status_code == 200
