"""The model judge, against a STUB server whose scores are a fixed function of the text it is sent
(so every figure is checked exactly against independent computations): the judge sees the text
as the experts saw it and the images, its scores are stored apart, unreadable answers and a dead
server are reported, a rerun scores nothing twice, and the analysis page compares it with the
experts (alpha with and without it, bias, correlations, rankings)."""

import hashlib
import json

import krippendorff
import numpy as np
import pytest
from django.urls import reverse
from scipy import stats

from audit.campaigns.presentation import PresentationRules, present
from audit.regeneration.backends import get_backend
from audit.regeneration.judge import default_prompt, judge_run_create, judge_run_execute
from audit.regeneration.models import JudgeScore
from audit.reports.analysis.judge import judge_comparison
from tests.regeneration.conftest import allow
from tests.regeneration.stub_server import StubServer, images_sent, text_sent
from tests.reports.conftest import rate_all

pytestmark = pytest.mark.django_db


def judged_scores(text: str, keys: list[str]) -> dict[str, int]:
    """The STUB judge: a score per criterion from a hash of the text it was sent."""
    digest = hashlib.sha256(text.encode()).digest()
    return {key: 1 + digest[i] % 5 for i, key in enumerate(keys)}


def user_text(body: dict) -> str:
    content = body["messages"][-1]["content"]
    return " ".join(p["text"] for p in content if p.get("type") == "text")


@pytest.fixture
def judge_stub(settings, launched_campaign):
    campaign = launched_campaign[0]
    keys = [c.key for c in campaign.criteria.order_by("position", "pk")]

    def respond(body):
        if "medical expert auditing" not in body["messages"][0]["content"]:
            return None
        return json.dumps(judged_scores(user_text(body), keys))

    server = StubServer(responder=respond).start()
    allow(settings, server)
    yield server
    server.stop()


def expected_text(ci, rules) -> str:
    question, answer = present(question=ci.item.question, answer=ci.item.answer,
                               kind=ci.item.kind, rules=rules)  # fmt: skip
    return (f"Question: {question}\n\n" if question else "") + f"Answer: {answer}"


def run_judge(campaign, owner, stub):
    run = judge_run_create(campaign=campaign, created_by=owner, model="stub-model",
                           base_url=stub.base_url, start=False)  # fmt: skip
    return judge_run_execute(run_id=run.pk, backend=get_backend(run))


def test_the_judge_scores_every_item_from_what_experts_see(launched_campaign, judge_stub):
    campaign, owner, _experts = launched_campaign
    run = run_judge(campaign, owner, judge_stub)
    assert (run.status, run.n_scored, run.n_failed) == ("succeeded", campaign.items.count(), 0)
    keys = [c.key for c in campaign.criteria.order_by("position", "pk")]
    rules = PresentationRules.from_design(campaign.design)
    for row in JudgeScore.objects.filter(run=run).select_related("campaign_item__item"):
        assert row.scores == judged_scores(expected_text(row.campaign_item, rules), keys)
    sent = judge_stub.requests
    assert len(sent) == campaign.items.count()
    assert all(images_sent(r) for r in sent)  # the demo's pairs have images: the judge sees them
    assert all("medical expert auditing" in text_sent(r) for r in sent)
    # Every criterion and its anchors are in the default prompt.
    for c in campaign.criteria.all():
        assert f'"{c.key}"' in run.prompt
    # A second run of the same task scores nothing twice.
    again = judge_run_execute(run_id=run.pk, backend=get_backend(run))
    assert again.n_scored == campaign.items.count() and len(judge_stub.requests) == len(sent)


def test_unreadable_answers_and_a_dead_server_are_reported(settings, launched_campaign, stub):
    campaign, owner, _experts = launched_campaign
    settings.REGENERATION_MAX_RETRIES = 0
    stub.script(("text", "I think it is good."), ("text", '{"accuracy": 9}'))
    run = run_judge(campaign, owner, stub)  # the stub's default answers are not scores either
    assert run.status == "failed" and "unreadable answer" in run.error
    errors = list(JudgeScore.objects.filter(run=run).values_list("error", flat=True))
    assert any("no JSON object" in e for e in errors)
    assert any("off the scale" in e or "no whole-number score" in e for e in errors)
    stub.stop()
    dead = judge_run_create(campaign=campaign, created_by=owner, model="m",
                            base_url=stub.base_url, start=False)  # fmt: skip
    dead = judge_run_execute(run_id=dead.pk, backend=get_backend(dead))
    assert dead.status == "failed" and "every item failed" in dead.error


def test_the_analysis_compares_the_judge_with_the_experts(client, launched_campaign, judge_stub):
    campaign, owner, _experts = launched_campaign
    given = rate_all(campaign, seed=8)
    run = run_judge(campaign, owner, judge_stub)
    comparison = judge_comparison(campaign)
    assert comparison["run"] == run
    judge = {r.campaign_item_id: r.scores for r in JudgeScore.objects.filter(run=run)}
    items = sorted(campaign.items.values_list("pk", flat=True))
    method = dict(campaign.items.values_list("pk", "method__name"))
    experts = sorted({e for e, _ci, _r in given})
    for c in comparison["criteria"]:
        x = np.full((len(experts), len(items)), np.nan)
        for (e, ci, repeat), scores in given.items():
            if not repeat:
                x[experts.index(e), items.index(ci)] = scores[c["key"]]
        j = np.array([judge[ci][c["key"]] for ci in items], dtype=float)
        cats = list(range(1, 6))
        without = krippendorff.alpha(reliability_data=x, level_of_measurement="ordinal",
                                     value_domain=cats)  # fmt: skip
        with_judge = krippendorff.alpha(
            reliability_data=np.vstack([x, j]), level_of_measurement="ordinal", value_domain=cats
        )
        mean = np.nanmean(x, axis=0)
        assert c["alpha_without"] == round(without, 3)
        assert c["alpha_with"] == round(with_judge, 3)
        assert c["bias"] == round(float(np.mean(j - mean)), 3)
        assert c["pearson"] == round(float(np.corrcoef(j, mean)[0, 1]), 3)
        assert c["spearman"] == round(float(stats.spearmanr(j, mean).statistic), 3)
        by_method = {}
        for ci, jv, ev in zip(items, j, mean, strict=True):
            by_method.setdefault(method[ci], ([], []))
            by_method[method[ci]][0].append(ev)
            by_method[method[ci]][1].append(jv)
        experts_rank = sorted(by_method, key=lambda m: (-np.mean(by_method[m][0]), m))
        assert c["ranking_experts"] == experts_rank
    client.force_login(owner)
    from audit.reports.analysis.services import analyse_campaign

    analyse_campaign(campaign=campaign, n_resamples=20)
    page = client.get(reverse("reports:campaign-analysis", args=[campaign.public_id]))
    html = page.content.decode()
    section = html.split('id="judge"', 1)[1].split("</section>", 1)[0]
    first = comparison["criteria"][0]
    assert f'data-criterion="{first["key"]}"' in section and str(first["alpha_with"]) in section


def test_the_owner_starts_a_run_from_the_analysis_page(
    client, launched_campaign, judge_stub, django_capture_on_commit_callbacks
):
    campaign, owner, experts = launched_campaign
    url = reverse("reports:campaign-judge", args=[campaign.public_id])
    client.force_login(owner)
    refused = client.post(url, {"model": "", "prompt": "my own careful prompt"})
    assert refused.status_code == 400 and "my own careful prompt" in refused.content.decode()
    with django_capture_on_commit_callbacks(execute=False) as queued:
        made = client.post(url, {"model": "stub-model", "base_url": judge_stub.base_url,
                                 "backend": "openai", "prompt": ""})  # fmt: skip
    assert made.status_code == 302 and len(queued) == 1
    run = campaign.judge_runs.get()
    assert run.prompt == default_prompt(campaign) and run.created_by == owner
    client.force_login(experts[0])
    assert client.post(url, {"model": "x"}).status_code == 404
    assert campaign.judge_runs.count() == 1


def test_the_quality_report_includes_the_judge(launched_campaign, judge_stub):
    from audit.reports.analysis.services import analyse_campaign
    from audit.reports.quality.services import quality_report_make

    campaign, owner, _experts = launched_campaign
    rate_all(campaign, seed=8)
    run_judge(campaign, owner, judge_stub)
    analyse_campaign(campaign=campaign, n_resamples=20)
    comparison = judge_comparison(campaign)
    html = quality_report_make(campaign=campaign, send=False).html.read().decode()
    section = html.split('<section id="judge">', 1)[1].split("</section>", 1)[0]
    assert "stub-model scored" in section
    for c in comparison["criteria"]:
        assert f'<td class="num">{c["alpha_with"]}</td>' in section
