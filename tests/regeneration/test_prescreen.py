"""Pre-screening a dataset with the model judge, against the STUB server (scores are a fixed
function of the text sent): a dataset judge run scores every item on the template criteria, a
campaign sampled by judge score band draws n_h per band with inclusion probabilities n_h / N_h
exactly as computed by hand from the stored scores, and the owner does it from the run's page."""

import json
from fractions import Fraction

import pytest
from django.urls import reverse

from audit.campaigns.criteria import DEFAULT_CRITERIA
from audit.campaigns.services import campaign_dry_run, campaign_launch
from audit.datasets.models import Item
from audit.regeneration.backends import get_backend
from audit.regeneration.judge import judge_run_create, judge_run_execute
from audit.regeneration.models import JudgeScore
from audit.regeneration.prescreen import band_of, prescreened_campaign_create
from tests.factories import UserFactory
from tests.regeneration.conftest import allow
from tests.regeneration.stub_server import StubServer
from tests.regeneration.test_judge import judged_scores, user_text

pytestmark = pytest.mark.django_db
KEYS = [c["key"] for c in DEFAULT_CRITERIA]
METHODS = ["native_caption", "llm_reformatted", "mllm_distill", "mllm_reformatted"]


@pytest.fixture
def judge_stub(settings):
    def respond(body):
        if "medical expert auditing" not in body["messages"][0]["content"]:
            return None
        return json.dumps(judged_scores(user_text(body), KEYS))

    server = StubServer(responder=respond).start()
    allow(settings, server)
    yield server
    server.stop()


def dataset_run(dataset, stub, **kwargs):
    run = judge_run_create(dataset=dataset, created_by=dataset.owner, model="stub-model",
                           base_url=stub.base_url, start=False, **kwargs)  # fmt: skip
    return judge_run_execute(run_id=run.pk, backend=get_backend(run))


def expected_text(item) -> str:
    return (f"Question: {item.question}\n\n" if item.question else "") + f"Answer: {item.answer}"


def test_a_dataset_run_scores_every_item_on_the_template_criteria(rated_dataset, judge_stub):
    run = dataset_run(rated_dataset, judge_stub)
    items = list(Item.objects.filter(dataset=rated_dataset))
    assert (run.scope, run.status, run.n_items, run.n_scored) == (
        "dataset", "succeeded", len(items), len(items))  # fmt: skip
    assert [c["key"] for c in run.criteria] == KEYS
    rows = {r.item_id: r.scores for r in JudgeScore.objects.filter(run=run)}
    assert rows == {i.pk: judged_scores(expected_text(i), KEYS) for i in items}
    assert all(f'"{k}"' in run.prompt for k in KEYS)
    # Idempotent: a second execution scores nothing again.
    sent = len(judge_stub.requests)
    judge_run_execute(run_id=run.pk, backend=get_backend(run))
    assert len(judge_stub.requests) == sent and JudgeScore.objects.filter(run=run).count() == len(
        items
    )


def test_own_criteria_and_the_egress_check(rated_dataset, judge_stub):
    from django.core.exceptions import ValidationError

    criteria = [{"key": "safe", "name": "Safety", "scale_min": 0, "scale_max": 3}]
    run = dataset_run(rated_dataset, judge_stub, criteria=criteria)
    assert {tuple(r.scores) for r in JudgeScore.objects.filter(run=run, error="")} <= {("safe",)}
    with pytest.raises(ValidationError):
        judge_run_create(dataset=rated_dataset, created_by=rated_dataset.owner, model="m",
                         base_url="http://169.254.169.254/v1", start=False)  # fmt: skip


def expected_design(run, items, cuts, kind):
    """Bands and N_h computed by hand from the stored scores."""
    scores = {r.item_id: sum(r.scores.values()) / len(r.scores)
              for r in JudgeScore.objects.filter(run=run, error="")}  # fmt: skip
    if kind == "independent":
        return {i.pk: band_of(scores.get(i.pk), cuts) for i in items}
    by_pair = {}
    for i in items:
        by_pair.setdefault(i.source_pair_id, []).append(scores[i.pk])
    pair = {sp: sum(v) / len(v) for sp, v in by_pair.items()}  # every item of the pair
    return {i.pk: band_of(pair[i.source_pair_id], cuts) for i in items}


@pytest.mark.parametrize("kind", ["paired", "independent"])
def test_the_campaign_draws_per_band_with_exact_probabilities(rated_dataset, judge_stub, kind):
    run = dataset_run(rated_dataset, judge_stub)
    items = list(Item.objects.filter(dataset=rated_dataset).select_related("method"))
    cuts = [2.75, 3.25]
    band = expected_design(run, items, cuts, kind)
    experts = [UserFactory(username=f"e{i}") for i in range(3)]
    n = 4
    rates = {"low": 3, "mid": 1, "high": 1}
    campaign = prescreened_campaign_create(run=run, created_by=rated_dataset.owner, n=n,
                                           cuts=cuts, rates=rates, kind=kind, seed=7,
                                           experts=experts)  # fmt: skip
    assert campaign.design["score_source"]["cuts"] == cuts and campaign.design["rates"]
    assert campaign.design["strata"] == ["score_band"]

    # N_h: source pairs (paired), or items of each method (independent: drawn per method).
    def unit(i):
        return i.source_pair_id if kind == "paired" else i.pk

    def group(i):
        return "all" if kind == "paired" else i.method.key

    units = {}
    for i in items:
        units.setdefault(group(i), {}).setdefault(band[i.pk], set()).add(unit(i))
    # n_h by hand: proportional to rate x N_h, largest remainder, capped at N_h.
    expected_n = {
        g: by_hand_allocation({b: len(u) for b, u in per.items()}, n, rates)
        for g, per in units.items()
    }
    sample = campaign_dry_run(campaign)
    assert sample.makeup["rates"] == {k: float(v) for k, v in rates.items()}
    launched = campaign_launch(campaign=campaign)
    drawn = {}
    for ci in launched.items.select_related("item__method"):
        b, g = band[ci.item_id], group(ci.item)
        assert ci.stratum == [b]
        assert ci.inclusion_probability == expected_n[g][b] / len(units[g][b])
        drawn.setdefault(g, {}).setdefault(b, set()).add(unit(ci.item))
    assert {g: {b: len(u) for b, u in per.items()} for g, per in drawn.items()} == {
        g: {b: k for b, k in per.items() if k} for g, per in expected_n.items()
    }
    for g, per in expected_n.items():  # the low band is over-sampled
        rate = {b: k / len(units[g][b]) for b, k in per.items()}
        assert all(rate["low"] > r for b, r in rate.items() if b != "low")


def by_hand_allocation(units, n, rates):
    left, out, active = n, {}, dict(units)
    while True:
        mass = sum(Fraction(rates.get(b, 1)) * s for b, s in active.items())
        full = [b for b, s in active.items() if left * Fraction(rates.get(b, 1)) * s / mass >= s]
        if not full:
            break
        for b in full:
            out[b] = active.pop(b)
            left -= out[b]
    quota = {b: left * Fraction(rates.get(b, 1)) * s / mass for b, s in active.items()}
    base = {b: int(q) for b, q in quota.items()}
    order = sorted(active, key=lambda b: (-(quota[b] - base[b]), -active[b], b))
    for b in order[: left - sum(base.values())]:
        base[b] += 1
    return {**out, **base}


def test_the_owner_pre_screens_from_the_run_page(client, rated_dataset, judge_stub):
    """The owner's flow by pages: start a dataset run, watch it, see the band counts, create
    the pre-screened draft; an expert or another owner gets 404 everywhere."""
    from audit.campaigns.models import Campaign

    owner = rated_dataset.owner
    client.force_login(owner)
    page = client.get(reverse("regeneration:judge-list"))
    assert page.status_code == 200 and "dataset-judge-form" in page.content.decode()
    made = client.post(reverse("regeneration:judge-list"), {
        "dataset": rated_dataset.pk, "model": "stub-model", "base_url": judge_stub.base_url,
        "backend": "openai", "temperature": 0, "concurrency": 4,
    })  # fmt: skip
    assert made.status_code == 302
    run = rated_dataset.judge_runs.get()
    judge_run_execute(run_id=run.pk, backend=get_backend(run))  # what the gpu worker does
    detail = client.get(made["Location"]).content.decode()
    scores = [sum(r.values()) / 4 for r in JudgeScore.objects.filter(run=run).values_list(
        "scores", flat=True)]  # fmt: skip
    low = sum(1 for s in scores if s < 2.5)
    assert f'<tr data-band="low"><td>low</td><td class="num">{low}</td>' in detail
    url = reverse("regeneration:judge-prescreen", args=[run.public_id])
    refused = client.post(url, {"n": 4, "cut_low": 3, "cut_high": 2, "score": "mean",
                                "kind": "paired", "rate_low": 3, "rate_mid": 1, "rate_high": 1,
                                "rate_unscored": 1, "raters_per_item": 1})  # fmt: skip
    assert refused.status_code == 400 and "must increase" in refused.content.decode()
    created = client.post(url, {"name": "Low scores first", "n": 4, "cut_low": 2.75,
                                "cut_high": 3.25, "score": "mean", "kind": "paired",
                                "rate_low": 3, "rate_mid": 1, "rate_high": 1,
                                "rate_unscored": 1, "raters_per_item": 1, "seed": 5})  # fmt: skip
    assert created.status_code == 302
    campaign = Campaign.objects.get(name="Low scores first")
    assert created["Location"] == reverse("campaigns:detail", args=[campaign.public_id])
    assert campaign.status == "draft" and campaign.seed == 5
    assert campaign.design["rates"] == {"low": 3.0, "mid": 1.0, "high": 1.0, "unscored": 1.0}
    assert campaign.design["score_source"]["run"] == str(run.public_id)
    assert "Low scores first" in client.get(made["Location"]).content.decode()
    shown = client.get(created["Location"]).content.decode()
    assert "relative sampling rates" in shown and "low 3.0, mid 1.0, high 1.0" in shown
    dry = client.get(reverse("campaigns:dry-run", args=[campaign.public_id]))
    assert dry.status_code == 200 and "low" in dry.content.decode()
    for other in (UserFactory(username="other_owner"),):
        client.force_login(other)
        assert client.get(made["Location"]).status_code == 404
        assert client.post(url, {"n": 2}).status_code == 404


def test_the_api_pre_screens_too(client, rated_dataset, judge_stub):
    owner = rated_dataset.owner
    client.force_login(owner)
    made = client.post(reverse("judge-run-list"), {"dataset": rated_dataset.pk,
                       "model": "stub-model", "base_url": judge_stub.base_url},
                       content_type="application/json")  # fmt: skip
    assert made.status_code == 201, made.content
    run = rated_dataset.judge_runs.get()
    early = client.post(reverse("judge-run-prescreen", args=[run.public_id]),
                        {"n": 2, "cuts": [3], "rates": {"low": 2}},
                        content_type="application/json")  # fmt: skip
    assert early.status_code == 400 and "not finished" in early.json()["detail"]
    judge_run_execute(run_id=run.pk, backend=get_backend(run))
    assert (
        client.get(reverse("judge-run-detail", args=[run.public_id])).json()["status"]
        == "succeeded"
    )
    answer = client.post(reverse("judge-run-prescreen", args=[run.public_id]),
                         {"n": 2, "cuts": [3], "rates": {"low": 2}, "kind": "independent",
                          "seed": 1}, content_type="application/json")  # fmt: skip
    assert answer.status_code == 201, answer.content
    from audit.campaigns.models import Campaign

    campaign = Campaign.objects.get(public_id=answer.json()["id"])
    assert campaign.design["score_source"]["bands"] == ["low", "high"]
    assert campaign_dry_run(campaign).makeup["strata_fields"] == ["score_band"]


def test_the_task_scores_a_dataset_in_chunks(settings, rated_dataset, judge_stub):
    """The gpu task scores at most JUDGE_CHUNK_ITEMS items and queues itself for the rest."""
    from unittest import mock

    from audit.regeneration import tasks

    settings.JUDGE_CHUNK_ITEMS = 15
    owner = rated_dataset.owner
    run = judge_run_create(dataset=rated_dataset, created_by=owner, model="stub-model",
                           base_url=judge_stub.base_url, start=False)  # fmt: skip
    with mock.patch.object(tasks.run_judge, "delay") as queued:
        assert tasks.run_judge.run(run.pk) == "running"
        assert JudgeScore.objects.filter(run=run).count() == 15 and queued.call_count == 1
        tasks.run_judge.run(run.pk)
        assert tasks.run_judge.run(run.pk) == "succeeded"
    assert queued.call_count == 2
    run.refresh_from_db()
    assert run.n_scored == run.n_items == 40 and len(judge_stub.requests) == 40


def test_a_draft_whose_run_is_gone_refuses_to_sample(rated_dataset, judge_stub):
    from django.core.exceptions import ValidationError

    run = dataset_run(rated_dataset, judge_stub)
    campaign = prescreened_campaign_create(run=run, created_by=rated_dataset.owner, n=2,
                                           cuts=[3], rates={"low": 2}, seed=1)  # fmt: skip
    run.delete()
    with pytest.raises(ValidationError, match="no longer exists"):
        campaign_dry_run(campaign)
