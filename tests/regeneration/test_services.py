"""Regeneration against the local OpenAI-compatible STUB server (tests/regeneration/stub_server.py):
the request contract per method (what is sent, what is withheld), results as items with
provenance, idempotent chunks, invalid output, retries, secrets, progress, the comparison
campaign."""

import base64
import json
import logging
from unittest import mock

import pytest
from django.core.exceptions import ValidationError
from django.forms.models import model_to_dict

from audit.datasets.images import store_path
from audit.datasets.models import Dataset, Item, Method, SourcePair
from audit.regeneration import methods as construction
from audit.regeneration import runner, selectors, services
from audit.regeneration.backends import BackendUnavailable
from audit.regeneration.models import Generation, RegenerationJob
from tests.factories import UserFactory
from tests.regeneration.stub_server import images_sent, text_sent

pytestmark = pytest.mark.django_db

CAPTION_MARK = "CAPTIONMARK"
CONTEXT_MARK = "CONTEXTMARK"


@pytest.fixture
def marked(rated_dataset):
    """Every source pair's caption and context carry a marker, to see where they travel."""
    for pair in SourcePair.objects.filter(items__dataset=rated_dataset).distinct():
        pair.caption = f"{CAPTION_MARK} {pair.caption}"
        pair.context = f"{CONTEXT_MARK} Figure 2 shows the lesion."
        pair.save(update_fields=["caption", "context"])
    return rated_dataset


def make_job(dataset, stub, methods, **kwargs) -> RegenerationJob:
    kwargs.setdefault("model", "stub-model")
    kwargs.setdefault("parameters", {"concurrency": 4})
    return services.job_create(
        created_by=dataset.owner,
        name="Regen test",
        datasets=[dataset],
        methods=methods,
        base_url=stub.base_url if stub else "",
        start=False,
        **kwargs,
    )


def run_all(job: RegenerationJob) -> RegenerationJob:
    offset = job.cursor
    while offset is not None:
        offset = services.job_run_chunk(job_id=job.pk, offset=offset)
    job.refresh_from_db()
    return job


def pair_ids(dataset) -> list[int]:
    return sorted(set(dataset.items.values_list("source_pair_id", flat=True)))


# --- what each method may see ------------------------------------------------------------


def test_llm_reformatted_gets_caption_and_context_never_the_image(marked, stub):
    job = run_all(make_job(marked, stub, ["llm_reformatted"]))
    assert job.status == "succeeded"
    assert len(stub.requests) == 8
    for request in stub.requests:
        assert images_sent(request) == []
        assert "image_url" not in text_sent(request)
        assert CAPTION_MARK in text_sent(request) and CONTEXT_MARK in text_sent(request)
        assert request["body"]["model"] == "stub-model"
        assert "response_format" not in request["body"]


def test_mllm_distill_gets_the_image_only(marked, stub):
    job = run_all(make_job(marked, stub, ["mllm_distill"]))
    assert job.status == "succeeded"
    assert len(stub.requests) == 8
    for request in stub.requests:
        sent = text_sent(request)
        assert CAPTION_MARK not in sent and CONTEXT_MARK not in sent
        assert construction.DISTILL_PROMPT in sent
        urls = images_sent(request)
        assert urls and all(url.startswith("data:image/") for url in urls)
    # the images sent are the stored image files, byte for byte
    pair = SourcePair.objects.get(pk=pair_ids(marked)[0])
    image = pair.images.get(position=0).image
    stored = base64.b64encode(store_path(image.sha256, image.format).read_bytes()).decode()
    assert any(url.endswith(stored) for r in stub.requests for url in images_sent(r))


def test_mllm_reformatted_gets_image_caption_and_context_and_answers_json(marked, stub):
    job = run_all(make_job(marked, stub, ["mllm_reformatted"]))
    assert job.status == "succeeded"
    for request in stub.requests:
        sent = text_sent(request)
        assert CAPTION_MARK in sent and CONTEXT_MARK in sent
        assert "must not mention" in sent or "Never mention" in sent
        assert len(images_sent(request)) >= 1
        assert request["body"]["response_format"] == {"type": "json_object"}
    items = Item.objects.filter(dataset=job.output_dataset)
    # one alignment (description + standard question) and one instruction item per pair
    assert items.filter(kind="alignment").count() == 8
    assert items.filter(kind="instruction").count() == 8
    alignment = items.filter(kind="alignment").first()
    assert alignment.question in construction.STANDARD_QUESTIONS_SINGLE + (
        construction.STANDARD_QUESTIONS_MULTI
    )
    instruction = items.filter(kind="instruction").first()
    assert instruction.provenance["scenario"] in construction.SCENARIOS


def test_native_caption_calls_no_model(marked, stub):
    job = run_all(make_job(marked, stub, ["native_caption"], model=""))
    assert job.status == "succeeded"
    assert stub.requests == []
    item = Item.objects.filter(dataset=job.output_dataset).first()
    assert CAPTION_MARK in item.answer and CONTEXT_MARK in item.answer
    assert item.provenance["backend"] == "none" and item.provenance["model"] == ""


def test_user_method_sees_only_what_it_declares(marked, stub):
    Method.objects.create(
        key="terse",
        name="Terse",
        sees_image=False,
        sees_context=True,
        prompt_template="Modality {modality}. Rewrite: {caption}",
    )
    job = run_all(make_job(marked, stub, ["terse"], method_options={"terse": {"output": "json"}}))
    assert job.status == "succeeded"
    for request in stub.requests:
        assert images_sent(request) == []
        assert CAPTION_MARK in text_sent(request)
        assert CONTEXT_MARK not in text_sent(request)  # the template does not ask for it
    kinds = set(Item.objects.filter(dataset=job.output_dataset).values_list("kind", flat=True))
    assert kinds == {"alignment", "instruction"}

    Method.objects.create(
        key="sneaky",
        name="Sneaky",
        sees_image=True,
        sees_context=False,
        prompt_template="Describe. Hint: {context}",
    )
    with pytest.raises(ValidationError, match="does not see the context"):
        make_job(marked, stub, ["sneaky"])
    Method.objects.create(key="typo", name="Typo", prompt_template="Describe {captoin}")
    with pytest.raises(ValidationError, match="unknown template variable"):
        make_job(marked, stub, ["typo"])


def test_a_method_that_sees_the_image_fails_cleanly_without_stored_images(marked, stub):
    pair = SourcePair.objects.get(pk=pair_ids(marked)[0])
    pair.images.update(image=None)
    job = run_all(make_job(marked, stub, ["mllm_distill"]))
    assert job.status == "partly_failed" and "1 of 8 generations failed" in job.error
    failed = Generation.objects.get(job=job, status="failed")
    assert failed.source_pair == pair and "no stored image" in failed.error
    assert failed.cause == "method"
    assert len(stub.requests) == 7


# --- results -------------------------------------------------------------------------------


def test_results_become_items_in_a_new_dataset_with_provenance(marked, stub):
    job = run_all(
        make_job(
            marked,
            stub,
            ["llm_reformatted", "mllm_distill"],
            parameters={"temperature": 0.7, "max_tokens": 300, "seed": 9},
        )
    )
    out = job.output_dataset
    assert out != marked and out.owner == marked.owner
    items = Item.objects.filter(dataset=out)
    assert items.count() == 16
    assert set(items.values_list("source_pair_id", flat=True)) == set(pair_ids(marked))
    assert set(items.values_list("method__key", flat=True)) == {
        f"llm_reformatted-job{job.pk}",
        f"mllm_distill-job{job.pk}",
    }
    item = items.filter(method__key=f"mllm_distill-job{job.pk}").first()
    p = item.provenance
    assert p["backend"] == "openai" and p["model"] == "stub-model"
    assert p["method"] == "mllm_distill" and p["regeneration_job"] == job.pk
    assert p["parameters"]["temperature"] == 0.7 and p["parameters"]["seed"] == 9
    assert len(p["prompt_hash"]) == 64 and p["prompt_tokens"] > 100 and p["completion_tokens"] > 0
    assert "duration_ms" in p
    body = stub.requests[0]["body"]
    assert (body["temperature"], body["max_tokens"], body["seed"]) == (0.7, 300, 9)
    generation = Generation.objects.get(pk=Generation.objects.filter(job=job).first().pk)
    assert generation.item_ids and Item.objects.filter(pk__in=generation.item_ids).exists()


def test_progress_counts_done_failed_tokens_and_rate(marked, stub):
    stub.script(("text", ""))
    job = run_all(make_job(marked, stub, ["llm_reformatted"]))
    progress = selectors.job_progress(job)
    assert (progress["total"], progress["done"], progress["failed"]) == (8, 7, 1)
    assert progress["remaining"] == 0 and progress["fraction"] == 1.0
    assert progress["prompt_tokens"] > 0 and progress["completion_tokens"] > 0
    assert progress["rate_per_second"] > 0 and progress["eta_seconds"] is None


# --- idempotence ---------------------------------------------------------------------------


def test_a_chunk_run_twice_creates_no_duplicates(marked, stub):
    job = make_job(marked, stub, ["mllm_reformatted", "native_caption"], chunk_size=8)
    run_all(job)
    items = Item.objects.filter(dataset=job.output_dataset).count()
    assert items == 8 * 3 and len(stub.requests) == 8
    # the same chunk delivered again (the cursor had not moved when its worker died)
    RegenerationJob.objects.filter(pk=job.pk).update(cursor=0, status="running")
    assert services.job_run_chunk(job_id=job.pk, offset=0) is None
    assert Item.objects.filter(dataset=job.output_dataset).count() == items
    assert len(stub.requests) == 8  # nothing asked twice
    # killed after the items were written but before their generations: asked again, kept once
    dropped = Generation.objects.filter(job=job, method__key="mllm_reformatted")[:3]
    Generation.objects.filter(pk__in=[g.pk for g in dropped]).delete()
    RegenerationJob.objects.filter(pk=job.pk).update(cursor=0, status="running")
    services.job_run_chunk(job_id=job.pk, offset=0)
    assert len(stub.requests) == 11
    assert Item.objects.filter(dataset=job.output_dataset).count() == items
    assert Generation.objects.filter(job=job).count() == 16
    assert all(g.item_ids for g in Generation.objects.filter(job=job))


def test_a_stale_chunk_does_nothing(marked, stub):
    job = make_job(marked, stub, ["llm_reformatted"], chunk_size=3)
    assert services.job_run_chunk(job_id=job.pk, offset=0) == 3
    assert services.job_run_chunk(job_id=job.pk, offset=0) is None  # already past it
    assert len(stub.requests) == 3
    job = run_all(RegenerationJob.objects.get(pk=job.pk))
    assert job.status == "succeeded" and len(stub.requests) == 8


# --- bad answers and a bad server ----------------------------------------------------------


def test_invalid_json_is_a_failed_generation_with_the_raw_text_and_the_job_goes_on(marked, stub):
    stub.script(
        ("text", "Sure! Here is the description you asked for."),
        ("malformed",),
        ("text", json.dumps({"description": "ok", "question": ""})),
    )
    job = run_all(make_job(marked, stub, ["mllm_reformatted"], parameters={"concurrency": 1}))
    assert job.status == "partly_failed"
    failed = list(Generation.objects.filter(job=job, status="failed").order_by("pk"))
    assert len(failed) == 3
    assert failed[0].raw_output == "Sure! Here is the description you asked for."
    assert failed[0].error.startswith("invalid output: not valid JSON")
    assert failed[0].cause == "invalid_output"
    # a reply that is not a chat completion is not a model's answer: never shown
    assert failed[1].raw_output == "" and "this is not json" not in failed[1].error
    assert "not with a chat completion" in failed[1].error and stub.base_url in failed[1].error
    assert "field 'question'" in failed[2].error and failed[2].item_ids == []
    assert Generation.objects.filter(job=job, status="succeeded").count() == 5
    assert Item.objects.filter(dataset=job.output_dataset).count() == 10


def test_500_and_429_are_retried_with_backoff(marked, stub, fast_retries):
    stub.script(500, 429, 503)
    job = run_all(make_job(marked, stub, ["llm_reformatted"], parameters={"concurrency": 1}))
    assert job.status == "succeeded"
    assert Generation.objects.filter(job=job, status="succeeded").count() == 8
    assert Generation.objects.filter(job=job).order_by("pk").first().attempts == 4
    assert len(stub.requests) == 11


def test_timeouts_are_retried(marked, stub, fast_retries):
    stub.script(("slow", 1.5))
    job = make_job(marked, stub, ["llm_reformatted"], parameters={"concurrency": 1, "timeout": 0.5})
    job = run_all(job)
    assert Generation.objects.filter(job=job, status="succeeded").count() == 8
    assert Generation.objects.filter(job=job).order_by("pk").first().attempts == 2


def test_a_server_that_keeps_failing_gives_failed_generations(marked, stub, fast_retries):
    stub.script(*[500] * 3)
    job = make_job(
        marked, stub, ["llm_reformatted"], parameters={"concurrency": 1, "max_retries": 2}
    )
    job = run_all(job)
    failed = Generation.objects.get(job=job, status="failed")
    assert failed.attempts == 3 and failed.cause == "http_500"
    assert failed.error.startswith(f"{stub.base_url} answered HTTP 500 Internal Server Error")
    assert '"stub failure 500"' in failed.error and "[after 3 attempts]" in failed.error
    assert job.status == "partly_failed"
    # retrying the failed ones asks only for them
    job = run_all(services.job_resume(job=job, retry_failed=True))
    assert Generation.objects.filter(job=job, status="succeeded").count() == 8
    assert len(stub.requests) == 3 + 7 + 1


def test_an_unreachable_server_fails_the_job_and_resume_continues(
    marked, stub, monkeypatch, settings
):
    monkeypatch.setattr(runner, "MAX_CONSECUTIVE_TRANSPORT_ERRORS", 3)
    settings.REGENERATION_ALLOWED_SERVERS = [stub.allow_entry, "127.0.0.1:9"]
    job = services.job_create(
        created_by=marked.owner,
        name="Down",
        datasets=[marked],
        methods=["llm_reformatted"],
        model="m",
        base_url="http://127.0.0.1:9/v1",
        start=False,
        parameters={"concurrency": 1, "max_retries": 0},
    )
    job = run_all(job)
    assert job.status == "failed" and "not answering" in job.error
    assert "nothing listens at http://127.0.0.1:9/v1" in job.error
    assert "is the model server running" in job.error
    RegenerationJob.objects.filter(pk=job.pk).update(base_url=stub.base_url)
    Generation.objects.filter(job=job).delete()
    job = run_all(services.job_resume(job=job))
    assert job.status == "succeeded"
    assert Generation.objects.filter(job=job, status="succeeded").count() == 8


# --- control, secrets, validation ----------------------------------------------------------


def test_cancel_and_resume(marked, stub):
    job = make_job(marked, stub, ["llm_reformatted"], chunk_size=3)
    assert services.job_run_chunk(job_id=job.pk, offset=0) == 3
    services.job_cancel(job=job)
    assert services.job_run_chunk(job_id=job.pk, offset=3) is None
    assert len(stub.requests) == 3
    with pytest.raises(ValidationError):
        services.job_cancel(job=job)
    job = run_all(services.job_resume(job=job))
    assert job.status == "succeeded" and len(stub.requests) == 8
    assert Item.objects.filter(dataset=job.output_dataset).count() == 8


def test_a_job_the_broker_cannot_take_says_so(marked, stub, django_capture_on_commit_callbacks):
    """Started (create or resume) while the broker is down: failed with the reason, not queued."""
    from audit.regeneration import tasks

    with (
        mock.patch.object(tasks.run_chunk, "apply_async", side_effect=ConnectionError("refused")),
        django_capture_on_commit_callbacks(execute=True),
    ):
        job = services.job_create(
            created_by=marked.owner,
            name="No broker",
            datasets=[marked],
            methods=["llm_reformatted"],
            model="stub-model",
            base_url=stub.base_url,
        )
    job.refresh_from_db()
    assert job.status == "failed"
    assert job.error == "could not queue the job (is the broker running?): refused"
    with (
        mock.patch.object(tasks.run_chunk, "apply_async") as queued,
        django_capture_on_commit_callbacks(execute=True),
    ):
        job = services.job_resume(job=job)
    assert job.status == "queued"
    queued.assert_called_once_with(args=(job.pk, 0), kwargs={})


def test_the_api_key_comes_from_settings_and_is_never_stored_or_logged(
    marked, stub, settings, caplog, fast_retries
):
    secret = "sk-stub-SECRET-9f8e7d"
    settings.REGENERATION_API_KEY = secret
    settings.REGENERATION_BASE_URL = stub.base_url  # the key goes to the configured server only
    caplog.set_level(logging.DEBUG)
    stub.script(500)
    job = run_all(make_job(marked, stub, ["llm_reformatted"], parameters={"concurrency": 1}))
    assert {r["headers"].get("Authorization") for r in stub.requests} == {f"Bearer {secret}"}
    assert all(secret not in text_sent(r) for r in stub.requests)
    row = json.dumps(model_to_dict(job), default=str) + json.dumps(
        list(RegenerationJob.objects.filter(pk=job.pk).values()), default=str
    )
    assert secret not in row
    assert not Generation.objects.filter(raw_output__contains=secret).exists()
    assert not Item.objects.filter(provenance__icontains=secret).exists()
    assert caplog.records and secret not in caplog.text
    for bad in ({"api_key": secret}, {"openai_key": "x"}):
        with pytest.raises(ValidationError, match="environment"):
            make_job(marked, stub, ["llm_reformatted"], parameters=bad)
    with pytest.raises(ValidationError, match="credentials"):
        services.job_create(
            created_by=marked.owner,
            name="x",
            datasets=[marked],
            methods=["llm_reformatted"],
            model="m",
            start=False,
            base_url=f"http://user:{secret}@127.0.0.1:1/v1",
        )


def test_job_create_refuses_bad_input(marked, stub):
    other = Dataset.objects.create(name="Not mine", owner=UserFactory())
    cases = [
        (dict(datasets=[other]), "your datasets"),
        (dict(methods=[]), "at least one method"),
        (dict(methods=["nope"]), "unknown methods"),
        (dict(model=""), "model is required"),
        (dict(parameters={"temperature": 9}), "between"),
        (dict(parameters={"bogus": 1}), "unknown parameter"),
        (dict(backend="gpt"), "backend must be"),
        (dict(modality="no such modality"), "no source pairs"),
        (dict(base_url="ftp://x"), "http"),
    ]
    for overrides, message in cases:
        kwargs = dict(
            created_by=marked.owner,
            name="x",
            datasets=[marked],
            methods=["llm_reformatted"],
            model="m",
            start=False,
        )
        kwargs.update(overrides)
        with pytest.raises(ValidationError, match=message):
            services.job_create(**kwargs)
    assert RegenerationJob.objects.count() == 0


def test_seeded_sample_and_filters(marked, stub):
    job = make_job(marked, stub, ["native_caption"], model="", sample=3, seed=4)
    again = make_job(marked, stub, ["native_caption"], model="", sample=3, seed=4)
    assert len(job.source_pair_ids) == 3 and job.source_pair_ids == again.source_pair_ids


def test_the_vllm_backend_says_clearly_when_vllm_is_missing(marked, stub):
    pytest.importorskip("django")
    try:
        import vllm  # noqa: F401

        pytest.skip("vllm is installed here")
    except ImportError:
        pass
    from audit.regeneration.backends.vllm import VLLMBackend

    with pytest.raises(BackendUnavailable, match="pip install vllm"):
        VLLMBackend(model="m", parameters={})
    job = run_all(make_job(marked, None, ["mllm_distill"], backend="vllm"))
    assert job.status == "failed" and "vllm package" in job.error
    assert Generation.objects.filter(job=job).count() == 0


# --- comparison campaign -------------------------------------------------------------------


def test_a_finished_job_becomes_a_paired_comparison_campaign(marked, stub):
    from audit.campaigns.services import campaign_dry_run

    job = run_all(make_job(marked, stub, ["mllm_reformatted"]))
    experts = [UserFactory(username=f"rater{i}") for i in range(3)]
    campaign = services.comparison_campaign_create(
        job=job, created_by=marked.owner, experts=experts, seed=3
    )
    assert campaign.status == "draft" and campaign.design["kind"] == "paired"
    assert campaign.design["methods"][0] == f"mllm_reformatted-job{job.pk}"
    assert set(campaign.design["methods"][1:]) == {
        "native_caption",
        "llm_reformatted",
        "mllm_distill",
        "mllm_reformatted",
    }
    assert set(campaign.datasets.all()) == {job.output_dataset, marked}
    sample = campaign_dry_run(campaign)
    assert len(sample.items) == 8 * 5  # every source pair through all five methods
    unfinished = make_job(marked, stub, ["llm_reformatted"])
    with pytest.raises(ValidationError, match="finished"):
        services.comparison_campaign_create(job=unfinished, created_by=marked.owner)


@pytest.mark.django_db(transaction=True)
def test_cancel_stops_a_running_chunk_after_its_current_batch(marked, monkeypatch, settings):
    """The owner cancels while a chunk is running (in another thread, as on a worker): the chunk
    stops after the batch it is writing; resume then finishes without asking anything twice."""
    import threading
    import time

    from django.db import connection

    from tests.regeneration.conftest import allow
    from tests.regeneration.stub_server import StubServer

    monkeypatch.setattr(runner, "FLUSH_EVERY", 2)
    slow = StubServer(delay=0.1).start()
    allow(settings, slow)
    try:
        job = make_job(
            marked, slow, ["llm_reformatted", "mllm_distill"], parameters={"concurrency": 1}
        )
        outcome = {}

        def run():
            try:
                outcome["next"] = services.job_run_chunk(job_id=job.pk, offset=0)
            finally:
                connection.close()

        worker = threading.Thread(target=run)
        worker.start()
        deadline = time.monotonic() + 30
        while Generation.objects.filter(job=job).count() < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        services.job_cancel(job=job)
        worker.join(timeout=30)
        assert outcome["next"] is None
        job.refresh_from_db()
        assert job.status == "cancelled" and job.cursor == 0
        written = Generation.objects.filter(job=job).count()
        assert 2 <= written <= 6 and slow.count < 16
        asked = slow.count
        job = run_all(services.job_resume(job=job))
        assert job.status == "succeeded"
        assert Generation.objects.filter(job=job).count() == 16
        assert slow.count - asked == 16 - written
    finally:
        slow.stop()
