"""What the analysis may claim: alpha's interval resamples whole source pairs in paired
campaigns; a coefficient on too little overlap is not shown (its reason is); a ranking of the
methods only where the data support one; Holm over every criterion x pair test as one named
family; Bang's blinding index from the experts' guesses."""

import numpy as np
import pytest

from audit.campaigns.models import CampaignItem
from audit.campaigns.services import campaign_create, campaign_launch
from audit.reports.analysis.compute import ranking_support
from audit.reports.analysis.services import analyse_campaign
from audit.stats import bootstrap, comparison
from audit.stats.blinding import bang_by_method, chance_index
from tests.conftest import launch_small_campaign
from tests.factories import UserFactory
from tests.reports.conftest import assignments_of, matrix_of, rate, rate_all

pytestmark = pytest.mark.django_db

SCALE = [1, 2, 3, 4, 5]
N_BOOT = 200
METHODS = ["native_caption", "llm_reformatted", "mllm_distill", "mllm_reformatted"]


def criterion(snapshot, key):
    return next(c for c in snapshot.results["criteria"] if c["key"] == key)


def page(client, campaign):
    client.force_login(campaign.created_by)
    response = client.get(f"/reports/campaigns/{campaign.public_id}/analysis/")
    assert response.status_code == 200
    return response.content.decode()


def test_paired_alpha_interval_resamples_whole_source_pairs(launched_campaign):
    campaign, _owner, _experts = launched_campaign
    given = rate_all(campaign, seed=3)
    snapshot = analyse_campaign(campaign=campaign, n_resamples=N_BOOT)
    x = matrix_of(given, "accuracy")
    items = sorted({i for (_e, i, r) in given if not r})
    pair_of = dict(CampaignItem.objects.filter(pk__in=items).values_list("pk", "source_pair_id"))
    clusters = np.array([pair_of[i] for i in items])
    by_pair = bootstrap.alpha_bootstrap(
        x, "ordinal", SCALE, clusters=clusters, n_resamples=N_BOOT, seed=campaign.seed
    )
    by_item = bootstrap.alpha_bootstrap(x, "ordinal", SCALE, n_resamples=N_BOOT, seed=campaign.seed)
    alpha = criterion(snapshot, "accuracy")["agreement"]["alpha_ordinal"]
    assert alpha["bootstrap"] == "clusters" and alpha["n_clusters"] == 6
    assert (alpha["ci_low"], alpha["ci_high"]) == pytest.approx((by_pair.low, by_pair.high))
    assert (by_pair.low, by_pair.high) != pytest.approx((by_item.low, by_item.high))
    assert alpha["prob_below_800"] == pytest.approx(by_pair.prob_below_800)


@pytest.fixture
def two_experts(rated_dataset):
    experts = [UserFactory(username=f"pair_{c}") for c in "xy"]
    campaign = launch_small_campaign(rated_dataset, experts=experts, raters_per_item=2, seed=7)
    return campaign


def test_too_little_overlap_shows_the_reason_not_the_number(client, two_experts):
    campaign = two_experts
    items = sorted({a.campaign_item_id for a in assignments_of(campaign)})
    for a in assignments_of(campaign, is_repeat=False):  # two raters agreeing on four items
        score = 2 + items.index(a.campaign_item_id)
        rate(a, {key: score for key in ("accuracy", "relevance", "completeness", "usefulness")})
    snapshot = analyse_campaign(campaign=campaign, n_resamples=N_BOOT)
    a = criterion(snapshot, "accuracy")["agreement"]
    assert a["alpha_ordinal"]["reading"]["level"] == "insufficient"
    assert not a["gwet_ac1"]["supported"] and a["gwet_ac1"]["support_reason"]
    html = page(client, campaign)
    agreement = html.split('id="agreement"')[1].split('id="comparison"')[0]
    assert "too little overlap: 8 pairable values on 4 items, at least 30 needed" in agreement
    assert "1.000" not in agreement and "[1.000, 1.000]" not in html
    assert "reading-reliable" not in html and "Reliable" not in html
    assert "too little data to judge" in agreement


def test_one_item_rated_twice_is_not_read_as_unreliable(client, two_experts):
    campaign = two_experts
    first = assignments_of(campaign, is_repeat=False)
    item = first[0].campaign_item_id
    for a in [a for a in first if a.campaign_item_id == item]:
        score = 2 if a.expert.username == "pair_x" else 5
        rate(a, {key: score for key in ("accuracy", "relevance", "completeness", "usefulness")})
    snapshot = analyse_campaign(campaign=campaign, n_resamples=N_BOOT)
    alpha = criterion(snapshot, "accuracy")["agreement"]["alpha_ordinal"]
    assert alpha["reading"]["level"] in ("insufficient", "undefined")
    html = page(client, campaign)
    agreement = html.split('id="agreement"')[1].split('id="comparison"')[0]
    assert "reading-unreliable" not in html and "Unreliable" not in html
    assert "0.000" not in agreement
    if alpha["value"] is not None:
        assert "too little overlap: 2 pairable values on 1 item" in agreement


def test_no_ranking_without_a_complete_source_pair(client, two_experts):
    campaign = two_experts
    pairs = sorted({a.campaign_item.source_pair_id for a in assignments_of(campaign)})
    keep = {(pairs[0], "native_caption"), (pairs[1], "mllm_reformatted")}  # no pair complete
    for a in assignments_of(campaign, is_repeat=False):
        if (a.campaign_item.source_pair_id, a.campaign_item.method.key) in keep:
            rate(a, {key: 3 for key in ("accuracy", "relevance", "completeness", "usefulness")})
    snapshot = analyse_campaign(campaign=campaign, n_resamples=N_BOOT)
    support = criterion(snapshot, "accuracy")["comparison"]["ranking_support"]
    assert support["shown"] is False and "no source pair" in support["reason"]
    html = page(client, campaign)
    assert "No ranking: no source pair has a score for every method yet." in html
    assert "Ranking (by mean" not in html


def test_no_ranking_without_a_significant_difference(client, launched_campaign):
    campaign, _owner, _experts = launched_campaign
    for a in assignments_of(campaign, is_repeat=False):
        rate(a, {key: 3 for key in ("accuracy", "relevance", "completeness", "usefulness")})
    snapshot = analyse_campaign(campaign=campaign, n_resamples=N_BOOT)
    support = criterion(snapshot, "accuracy")["comparison"]["ranking_support"]
    assert support["shown"] is False and "differ significantly" in support["reason"]
    html = page(client, campaign)
    assert "No ranking: no two methods differ significantly" in html
    assert "Ranking (by mean" not in html


def _comp(means, significant):
    pairs = []
    for i, a in enumerate(means):
        for b in list(means)[i + 1 :]:
            p = 0.001 if frozenset((a, b)) in significant else 0.5
            pairs.append({"a": a, "b": b, "p_holm": p, "p_holm_family": p})
    order = sorted(means, key=lambda m: -means[m])
    return {
        "design": "paired",
        "methods": sorted(means),
        "n_units": 10,
        "summaries": [{"method": m, "mean": v} for m, v in means.items()],
        "pairwise": pairs,
        "ranking": order,
    }


def test_ranking_is_ordered_by_the_estimates_with_groups():
    means = {"a": 2.0, "b": 4.0, "c": 3.9, "d": 1.0}
    differ = {frozenset(p) for p in [("b", "a"), ("b", "d"), ("c", "a"), ("c", "d"), ("a", "d")]}
    support = ranking_support(_comp(means, differ), "pairwise Wilcoxon, 1 criterion x 6 pairs")
    assert support["shown"] and support["groups"] == [["b", "c"], ["a"], ["d"]]
    none = ranking_support(_comp(means, set()), "family")
    assert not none["shown"] and "differ significantly" in none["reason"]


def test_holm_over_all_criteria_is_stored_and_shown(client, launched_campaign):
    campaign, _owner, _experts = launched_campaign
    rate_all(campaign, seed=3)
    snapshot = analyse_campaign(campaign=campaign, n_resamples=N_BOOT)
    holm = snapshot.results["holm_family"]
    assert holm["family"] == "pairwise Wilcoxon, 4 criteria x 6 pairs"
    raw = {
        (c["key"], p["a"], p["b"]): p["p_value"] if p["p_value"] is not None else float("nan")
        for c in snapshot.results["criteria"]
        for p in c["comparison"]["pairwise"]
    }
    expected = comparison.holm_family(raw, family=holm["family"])
    assert holm["m"] == expected.m
    for c in snapshot.results["criteria"]:
        for p in c["comparison"]["pairwise"]:
            want = expected.adjusted[(c["key"], p["a"], p["b"])]
            assert p["p_holm_family"] == pytest.approx(want, nan_ok=True) or (
                p["p_holm_family"] is None and np.isnan(want)
            )
            assert p["p_holm_family"] is None or p["p_holm_family"] >= p["p_holm"] - 1e-12
            assert "n_zero" in p and p["p_method"] in ("exact", "asymptotic", "")
    html = page(client, campaign)
    assert "Holm over pairwise Wilcoxon, 4 criteria x 6 pairs" in html
    assert "p (Holm, all criteria)" in html


def test_blinding_shows_bangs_index_from_the_guesses(client, rated_dataset):
    experts = [UserFactory(username=f"guess_{c}") for c in "abc"]
    campaign = campaign_create(name="Guessing", created_by=rated_dataset.owner,
                               datasets=[rated_dataset], methods=METHODS, n=6,
                               raters_per_item=3, seed=42, experts=experts,
                               method_guess=True)  # fmt: skip
    campaign = campaign_launch(campaign=campaign)
    options = campaign.design["method_guess"]["options"]
    code_of = {o["method"]: o["code"] for o in options}
    truth, guesses = [], []
    for n, a in enumerate(assignments_of(campaign, is_repeat=False)):
        method = a.campaign_item.method.key
        if method == "native_caption" or n % 3 == 0:
            guess, said = code_of[method], method  # recognised
        elif n % 3 == 1:
            guess, said = "dont_know", None
        else:
            other = next(m for m in METHODS if m != method)
            guess, said = code_of[other], other
        rate(a, {"accuracy": 2 if said == method else 4, "relevance": 3, "completeness": 3,
                 "usefulness": 3}, method_guess=guess)  # fmt: skip
        truth.append(method)
        guesses.append(said)
    snapshot = analyse_campaign(campaign=campaign, n_resamples=N_BOOT)
    blinding = snapshot.results["blinding"]
    expected = bang_by_method(truth, guesses)
    assert blinding["asked"] and blinding["n_guesses"] == len(truth)
    assert blinding["chance"] == pytest.approx(chance_index(4))
    for row in blinding["methods"]:
        want = expected[row["method"]]
        assert row["index"] == pytest.approx(want.index)
        assert (row["lower"], row["upper"]) == pytest.approx((want.lower, want.upper))
        assert (row["correct"], row["incorrect"], row["dont_know"]) == (
            want.correct, want.incorrect, want.dont_know,
        )  # fmt: skip
    native = next(r for r in blinding["methods"] if r["method"] == "native_caption")
    assert native["index"] == 1.0 and "did not hold" in native["reading"]
    accuracy = next(s for s in blinding["scores"] if s["key"] == "accuracy")
    right = sum(g == t for t, g in zip(truth, guesses, strict=True))
    wrong = sum(g is not None and g != t for t, g in zip(truth, guesses, strict=True))
    assert (accuracy["n_right"], accuracy["n_wrong"]) == (right, wrong)
    assert accuracy["mean_right"] == 2.0 and accuracy["mean_wrong"] == 4.0
    html = page(client, campaign)
    assert 'id="blinding"' in html and "Bang's index" in html
    assert f"{native['index']:.3f}" in html
    assert f"[{native['lower']:.3f}, {native['upper']:.3f}]" in html
    assert campaign.design.get("blinding") and "Blinding strength of the texts" in html


def test_quality_report_shows_the_same_reading(two_experts):
    from audit.reports.quality.services import quality_report_make

    campaign = two_experts
    items = sorted({a.campaign_item_id for a in assignments_of(campaign)})
    for a in assignments_of(campaign, is_repeat=False):
        score = 2 + items.index(a.campaign_item_id)
        rate(a, {key: score for key in ("accuracy", "relevance", "completeness", "usefulness")})
    analyse_campaign(campaign=campaign, n_resamples=N_BOOT)
    report = quality_report_make(campaign=campaign, send=False)
    with report.html.open("rb") as fh:
        html = fh.read().decode()
    agreement = html.split('<section id="agreement">')[1].split("</section>")[0]
    assert "too little overlap: 8 pairable values on 4 items" in agreement
    assert "1.000" not in agreement and "too little data to judge" in agreement
    assert "No ranking:" in html and "Holm over pairwise Wilcoxon" in html
