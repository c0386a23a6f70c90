"""The audit trail also records imports, new methods, regeneration jobs with the server they
call, report schedules with their recipients, and export downloads (who, what, when)."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client, override_settings

from audit.core.models import AuditEvent
from audit.reports.exports.jobs import export_job_create, export_job_run
from tests.conftest import pmv_record, write_json
from tests.factories import StaffFactory

pytestmark = pytest.mark.django_db


def verbs():
    return list(AuditEvent.objects.order_by("pk").values_list("verb", flat=True))


def test_owner_actions_are_on_the_trail(launched_campaign, tmp_path):
    campaign, owner, _ = launched_campaign
    staff = StaffFactory(username="staff1")
    client = Client()
    client.force_login(staff)
    AuditEvent.objects.all().delete()

    data = write_json(tmp_path / "d.json", [pmv_record("1", ["images/a.png"])]).read_bytes()
    upload = SimpleUploadedFile("d.json", data, content_type="application/json")
    assert client.post("/api/import-jobs/", {"file": upload, "dataset": "Fresh"}).status_code == 202
    method = {"key": "my_rewrite", "name": "My rewrite", "sees_image": False, "sees_context": True,
              "prompt_template": "Rewrite: {caption}"}  # fmt: skip
    assert client.post("/api/methods/", method, content_type="application/json").status_code == 201
    with override_settings(REGENERATION_ALLOWED_SERVERS=["127.0.0.1:9"]):
        body = {"name": "Trial", "datasets": [campaign.datasets.get().name],
                "methods": ["llm_reformatted"], "model": "m",
                "base_url": "http://127.0.0.1:9/v1"}  # fmt: skip
        owner_client = Client()
        owner_client.force_login(owner)
        made = owner_client.post("/api/regeneration-jobs/", body, content_type="application/json")
        assert made.status_code in (201, 202), made.content
    schedule = {"frequency": "daily", "hour": 7, "minute": 0, "recipients": ["lead@example.org"]}
    url = f"/api/campaigns/{campaign.public_id}/report-schedules/"
    assert client.post(url, schedule, content_type="application/json").status_code == 201
    job = export_job_create(owner=owner, kind="ratings", fmt="csv", campaign=campaign)
    export_job_run(job_id=job.pk)
    assert owner_client.get(f"/api/exports/{job.public_id}/download/").status_code == 200

    assert {"import.created", "method.created", "regeneration.created", "schedule.saved",
            "export.downloaded"} <= set(verbs())  # fmt: skip
    regen = AuditEvent.objects.get(verb="regeneration.created")
    assert regen.data["base_url"] == "http://127.0.0.1:9/v1" and regen.actor == owner
    saved = AuditEvent.objects.get(verb="schedule.saved")
    assert saved.data["recipients"] == ["lead@example.org"] and saved.campaign_id == campaign.pk
    download = AuditEvent.objects.get(verb="export.downloaded")
    assert download.actor == owner and download.campaign_id == campaign.pk
