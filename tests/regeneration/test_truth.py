"""Issue 16 part 1, "tell the truth": a job whose generations all failed is failed, some failed
is partly failed (with counts); errors name the server, the model, the problem and what to check,
grouped by cause with a few examples (page and API); Test connection before queuing; the
comparison-campaign button only when there is something to compare."""

import pytest

from audit.regeneration import runner, services
from tests.regeneration.test_services import make_job, run_all

pytestmark = pytest.mark.django_db

DOWN = "http://127.0.0.1:9/v1"  # nothing listens on the discard port


@pytest.fixture
def down_job(rated_dataset, settings, monkeypatch):
    """The issue's report: no model server running, 8 generations asked."""
    settings.REGENERATION_ALLOWED_SERVERS = ["127.0.0.1:9"]
    monkeypatch.setattr(runner, "MAX_CONSECUTIVE_TRANSPORT_ERRORS", 50)
    job = services.job_create(
        created_by=rated_dataset.owner,
        name="No server",
        datasets=[rated_dataset],
        methods=["llm_reformatted"],
        model="smollm2",
        base_url=DOWN,
        parameters={"concurrency": 2, "max_retries": 0},
        start=False,
    )
    return run_all(job)


def test_all_failed_is_failed_and_says_why(down_job, client):
    job = down_job
    assert job.status == "failed"
    assert job.error.startswith("all 8 generations failed. 8 x nothing listens at " + DOWN)
    assert "is the model server running" in job.error and "'smollm2'" in job.error

    client.force_login(job.created_by)
    data = client.get(f"/api/regeneration-jobs/{job.public_id}/").json()
    assert data["status"] == "failed" and data["can_compare"] is False
    assert data["progress"]["done"] == 0 and data["progress"]["failed"] == 8
    (group,) = data["errors"]
    assert group["cause"] == "connection_refused" and group["count"] == 8
    assert group["message"].startswith(f"nothing listens at {DOWN} (connection refused)")
    assert len(group["examples"]) == 3
    assert {"source_pair", "source_key", "method", "error"} <= set(group["examples"][0])

    page = client.get(f"/regeneration/{job.public_id}/").content.decode()
    assert "The job failed" in page and "0 of 8 generations succeeded, 8 failed" in page
    assert 'id="error-groups"' in page and "nothing listens at" in page
    assert 'id="compare"' not in page and "nothing to compare yet" in page
    assert 'id="retry-failed"' in page and 'id="resume"' not in page
    # the comparison service refuses too
    response = client.post(f"/api/regeneration-jobs/{job.public_id}/compare/", {})
    assert response.status_code == 400


def test_some_failed_is_partly_failed_with_counts_and_can_be_compared(rated_dataset, stub, client):
    stub.script(404, ("text", "fine"), 404)
    job = run_all(make_job(rated_dataset, stub, ["llm_reformatted"], parameters={"concurrency": 1}))
    assert job.status == "partly_failed"
    assert job.error.startswith("2 of 8 generations failed. 2 x " + stub.base_url)
    client.force_login(job.created_by)
    data = client.get(f"/api/regeneration-jobs/{job.public_id}/").json()
    assert data["status"] == "partly_failed" and data["status_label"] == "partly failed"
    assert data["can_compare"] is True
    assert [(g["cause"], g["count"]) for g in data["errors"]] == [("not_found", 2)]
    page = client.get(f"/regeneration/{job.public_id}/").content.decode()
    assert "The job partly failed" in page and "6 of 8 generations succeeded, 2 failed" in page
    assert 'id="compare"' in page
    response = client.post(f"/regeneration/{job.public_id}/compare/")
    assert response.status_code == 302 and "/campaigns/" in response["Location"]
    # retrying the failed makes it succeed
    job = run_all(services.job_resume(job=job, retry_failed=True))
    assert job.status == "succeeded" and job.error == ""


def test_test_connection_through_the_api(rated_dataset, stub, client, settings):
    client.force_login(rated_dataset.owner)

    def test(**body):
        response = client.post(
            "/api/regeneration-jobs/test-connection/", body, content_type="application/json"
        )
        assert response.status_code == 200, response.content
        return response.json()

    report = test(base_url=stub.base_url, model="stub-model")
    assert report["ok"] is True and report["models"] == ["stub-model"]
    assert [s["step"] for s in report["steps"]] == ["address", "models", "model", "completion"]
    assert isinstance(report["latency_ms"], int) and report["key_sent"] is False
    assert stub.requests[-1]["body"]["max_tokens"] == 8

    report = test(base_url=stub.base_url, model="llama-70b")
    assert report["ok"] is False
    assert (
        report["steps"][-1]["detail"]
        == "the server has no model 'llama-70b'; it serves: stub-model"
    )

    settings.REGENERATION_ALLOWED_SERVERS = [stub.allow_entry, "127.0.0.1:9"]
    report = test(base_url=DOWN, model="smollm2")
    assert report["ok"] is False and report["steps"][-1]["step"] == "models"
    assert "nothing listens at http://127.0.0.1:9/v1" in report["steps"][-1]["detail"]

    # a text-only server asked about images: an OpenAI-style refusal becomes the clear message
    stub.script(
        ("text", "OK"),
        (
            "raw",
            400,
            "application/json",
            b'{"error": {"message": "this model does not support image input"}}',
        ),
    )
    report = test(base_url=stub.base_url, model="stub-model", images=True)
    assert report["ok"] is False and report["steps"][-1]["step"] == "images"
    assert report["steps"][-1]["detail"].startswith("this model does not accept images")


def test_test_connection_button_on_the_form(rated_dataset, stub, client):
    client.force_login(rated_dataset.owner)
    page = client.get("/regeneration/new/").content.decode()
    assert 'id="test-connection"' in page
    response = client.post(
        "/regeneration/new/",
        {"name": "x", "base_url": stub.base_url, "model": "stub-model", "test_connection": "1"},
    )
    page = response.content.decode()
    assert response.status_code == 200 and 'id="connection-report"' in page
    assert "Latency of one tiny request" in page and "stub-model" in page
    from audit.regeneration.models import RegenerationJob

    assert not RegenerationJob.objects.exists()  # testing queues nothing
