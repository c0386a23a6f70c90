"""The analysis service: its numbers equal the statistics library's (and the `krippendorff`
package's) on the same ratings, computed here independently from what was submitted; skipped
ratings are left out; repeats feed intra-rater agreement only; a campaign without ratings gets a
snapshot saying so; the number of queries does not grow with the number of ratings."""

import json

import krippendorff
import numpy as np
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from audit.campaigns.models import CampaignItem
from audit.campaigns.services import campaign_create, campaign_launch
from audit.datasets.models import Item
from audit.reports.analysis import snapshots
from audit.reports.analysis.services import analyse_campaign
from audit.reports.models import AnalysisSnapshot
from audit.stats import agreement, bootstrap, comparison, raters
from audit.stats.reading import alpha_reading
from tests.factories import UserFactory
from tests.reports.conftest import assignments_of, matrix_of, rate, rate_all

pytestmark = pytest.mark.django_db

SCALE = [1, 2, 3, 4, 5]
KEYS = ["accuracy", "relevance", "completeness", "usefulness"]
METHODS = ["native_caption", "llm_reformatted", "mllm_distill", "mllm_reformatted"]
N_BOOT = 200


def source_pairs_of(given):
    """The source pair of each column of :func:`matrix_of` (sorted campaign item ids)."""
    items = sorted({i for (_e, i, r) in given if not r})
    pairs = dict(CampaignItem.objects.filter(pk__in=items).values_list("pk", "source_pair_id"))
    return np.array([pairs[i] for i in items])


def criterion(snapshot, key):
    return next(c for c in snapshot.results["criteria"] if c["key"] == key)


def package_alpha(x, level):
    return krippendorff.alpha(reliability_data=x, level_of_measurement=level, value_domain=SCALE)


@pytest.fixture
def rated(launched_campaign):
    campaign, _owner, _experts = launched_campaign
    given = rate_all(campaign, seed=3)
    return campaign, given


def test_agreement_equals_the_packages_on_the_same_ratings(rated):
    campaign, given = rated
    snapshot = analyse_campaign(campaign=campaign, n_resamples=N_BOOT)
    assert snapshot.status == AnalysisSnapshot.Status.SUCCEEDED
    assert snapshot.n_ratings == len(given) == 72
    for key in KEYS:
        x = matrix_of(given, key)
        assert x.shape == (3, 24)
        a = criterion(snapshot, key)["agreement"]
        ordinal, interval = a["alpha_ordinal"], a["alpha_interval"]
        assert ordinal["value"] == pytest.approx(package_alpha(x, "ordinal"), abs=1e-9)
        assert interval["value"] == pytest.approx(package_alpha(x, "interval"), abs=1e-9)
        assert -1 < ordinal["value"] < 1
        boot = bootstrap.alpha_bootstrap(x, "ordinal", SCALE, method="units",
                                         clusters=source_pairs_of(given),
                                         n_resamples=N_BOOT, seed=campaign.seed)  # fmt: skip
        assert (ordinal["ci_low"], ordinal["ci_high"]) == pytest.approx((boot.low, boot.high))
        assert ordinal["ci_low"] <= ordinal["value"] <= ordinal["ci_high"]
        assert ordinal["reading"] == alpha_reading(
            ordinal["value"], ordinal["ci_low"], ordinal["n_pairable"],
            n_values=ordinal["n_ratings"], prob_below_667=boot.prob_below_667,
            prob_below_800=boot.prob_below_800,
        ).as_dict()  # fmt: skip
        assert ordinal["supported"] and a["gwet_ac1"]["supported"]
        expected = {
            "gwet_ac2_ordinal": agreement.gwet_ac(x, "ordinal", SCALE).value,
            "gwet_ac1": agreement.gwet_ac(x, "identity", SCALE).value,
            "fleiss_kappa": agreement.fleiss_kappa(x, SCALE).value,
            "percent_exact": agreement.percent_agreement(x, 0, SCALE).value,
            "percent_within_one": agreement.percent_agreement(x, 1, SCALE).value,
        }
        for name, value in expected.items():
            assert a[name]["value"] == pytest.approx(value, abs=1e-12), (key, name)
        assert a["icc"]["ICC1"]["value"] == pytest.approx(agreement.icc(x)["ICC1"].value)
        kappas = raters.pairwise_cohen_kappa(x, "quadratic", SCALE, min_common=5)
        assert a["cohen_kappa_quadratic"]["mean"] == pytest.approx(
            np.nanmean(kappas[np.triu_indices(3, 1)])
        )
    json.dumps(snapshot.results, allow_nan=False)  # strict JSON: no nan anywhere
    json.dumps(snapshot.design, allow_nan=False)


def test_paired_comparison_equals_the_librarys(rated):
    campaign, given = rated
    snapshot = analyse_campaign(campaign=campaign, n_resamples=N_BOOT)
    items = {ci.pk: ci for ci in CampaignItem.objects.filter(campaign=campaign)
             .select_related("method")}  # fmt: skip
    sources = sorted({ci.source_pair_id for ci in items.values()})
    for key in KEYS:
        per_item = {}
        for (_e, item, _r), scores in given.items():
            per_item.setdefault(item, []).append(scores[key])
        table = np.full((len(sources), len(METHODS)), np.nan)
        for item, values in per_item.items():
            ci = items[item]
            table[sources.index(ci.source_pair_id), METHODS.index(ci.method.key)] = np.mean(values)
        expected = comparison.compare_paired(table, METHODS, n_resamples=N_BOOT,
                                             seed=campaign.seed)  # fmt: skip
        got = criterion(snapshot, key)["comparison"]
        assert got["design"] == "paired" and got["unit"] == "source pair"
        assert got["methods"] == METHODS
        assert got["n_units"] == 6
        assert got["omnibus"]["p_value"] == pytest.approx(expected.omnibus.p_value)
        assert got["omnibus"]["statistic"] == pytest.approx(expected.omnibus.statistic)
        for s, e in zip(got["summaries"], expected.summaries, strict=True):
            assert s["method"] == e.method
            assert (s["mean"], s["ci_low"], s["ci_high"]) == pytest.approx(
                (e.mean, e.ci_low, e.ci_high)
            )
        for p, e in zip(got["pairwise"], expected.pairwise, strict=True):
            assert (p["a"], p["b"]) == (e.a, e.b)
            assert p["p_holm"] == pytest.approx(e.p_holm)
        assert got["ranking"] == list(expected.ranking)


def test_skipped_ratings_are_left_out(launched_campaign):
    campaign, _owner, _experts = launched_campaign
    given = rate_all(campaign, seed=8, skip_every=5)
    # a scored rating revised into a skip is left out too
    revised = assignments_of(campaign)[0]
    rate(revised, skipped=True, skip_reason="image unreadable after all")
    given.pop((revised.expert_id, revised.campaign_item_id, False))
    snapshot = analyse_campaign(campaign=campaign, n_resamples=N_BOOT)
    counts = snapshot.results["counts"]
    assert counts["skipped"] == 72 // 5 + 1
    assert counts["ratings_scored"] == snapshot.n_ratings == len(given) == 72 - counts["skipped"]
    for key in KEYS:
        x = matrix_of(given, key)
        c = criterion(snapshot, key)
        assert c["n_ratings"] == len(given)
        assert c["agreement"]["alpha_ordinal"]["value"] == pytest.approx(
            package_alpha(x, "ordinal"), abs=1e-9
        )
    flags = {m["method"]: m for m in snapshot.results["flags"]["per_method"]}
    assert sum(m["skipped"] for m in flags.values()) == counts["skipped"]
    assert sum(m["n_ratings"] for m in flags.values()) == len(given)
    loads = {r["expert"]: r for r in snapshot.results["raters"]}
    assert sum(r["skipped"] for r in loads.values()) == counts["skipped"]


@pytest.fixture
def repeat_campaign(rated_dataset):
    """A paired campaign with repeats (a third of each expert's items shown twice), gold scores
    on two items, stratified by modality."""
    experts = [UserFactory(username=f"expert_{c}") for c in "abc"]
    gold_items = list(
        Item.objects.filter(dataset=rated_dataset, method__key="mllm_reformatted")
        .order_by("pk")
        .values_list("pk", flat=True)[:2]
    )
    campaign = campaign_create(
        name="With repeats",
        created_by=rated_dataset.owner,
        datasets=[rated_dataset],
        methods=METHODS,
        n=6,
        strata=["modality"],
        raters_per_item=3,
        seed=7,
        experts=experts,
        repeat_share=0.3,
        gold_scores={pk: dict.fromkeys(KEYS, 4) for pk in gold_items},
    )
    return campaign_launch(campaign=campaign)


def test_repeats_feed_intra_rater_agreement_only(repeat_campaign):
    campaign = repeat_campaign
    rng = np.random.default_rng(5)
    given = {}
    for a in assignments_of(campaign):
        if a.is_repeat:
            continue
        scores = {k: int(rng.integers(2, 6)) for k in KEYS}
        rate(a, scores)
        given[(a.expert_id, a.campaign_item_id, False)] = scores
    for a in assignments_of(campaign, is_repeat=True):  # the retest: opposite end of the scale
        first = given[(a.expert_id, a.campaign_item_id, False)]
        scores = {k: 6 - v for k, v in first.items()}
        rate(a, scores)
        given[(a.expert_id, a.campaign_item_id, True)] = scores
    n_repeats = sum(1 for k in given if k[2])
    assert n_repeats > 0

    snapshot = analyse_campaign(campaign=campaign, n_resamples=N_BOOT)
    assert snapshot.results["counts"]["repeat_ratings"] == n_repeats
    assert snapshot.n_ratings == len(given)
    by_name = {r["expert"]: r for r in snapshot.results["raters"]}
    for key in KEYS:
        first_only = matrix_of(given, key)
        c = criterion(snapshot, key)
        assert c["n_ratings"] == len(given) - n_repeats
        assert c["agreement"]["alpha_ordinal"]["value"] == pytest.approx(
            package_alpha(first_only, "ordinal"), abs=1e-9
        )
        records = sorted(given.items(), key=lambda kv: kv[0][2])  # first ratings, then repeats
        intra = raters.intra_rater_agreement(
            [k[0] for k, _ in records], [k[1] for k, _ in records],
            [s[key] for _, s in records], "ordinal", SCALE, tolerance=1,
        )  # fmt: skip
        for expert_id, expected in intra.items():
            row = next(r for r in by_name.values() if r["expert_id"] == expert_id)
            got = row["criteria"][key]["intra"]
            assert got["n_items"] == expected.n_items
            assert got["exact"] == pytest.approx(expected.exact, nan_ok=True)
            assert got["within_one"] == pytest.approx(expected.within, nan_ok=True)
    # gold: each expert's ratings of the gold items against the reference 4
    gold_ids = set(
        CampaignItem.objects.filter(campaign=campaign, is_gold=True).values_list("pk", flat=True)
    )
    assert len(gold_ids) == 2
    for row in by_name.values():
        mine = [s["accuracy"] for (e, i, r), s in given.items()
                if e == row["expert_id"] and i in gold_ids and not r]  # fmt: skip
        gold = row["criteria"]["accuracy"]["gold"]
        assert gold["n_items"] == len(mine)
        if mine:
            assert gold["bias"] == pytest.approx(np.mean(mine) - 4)
    # strata: one row per modality, alpha equal to the package's on that stratum's items
    strata = criterion(snapshot, "accuracy")["strata"]
    modality = {ci.pk: ci.stratum[0] for ci in CampaignItem.objects.filter(campaign=campaign)}
    assert {s["value"] for s in strata} == set(modality.values())
    items = sorted({i for (_e, i, r) in given if not r})
    x = matrix_of(given, "accuracy")
    for s in strata:
        cols = [n for n, i in enumerate(items) if modality[i] == s["value"]]
        assert s["dimension"] == "modality" and s["n_items"] == len(cols)
        sub = x[:, cols]
        if s["alpha_ordinal"]["value"] is not None:
            assert s["alpha_ordinal"]["value"] == pytest.approx(
                package_alpha(sub, "ordinal"), abs=1e-9
            )


def test_independent_design_uses_kruskal_wallis(rated_dataset):
    experts = [UserFactory(username=f"expert_{c}") for c in "abc"]
    campaign = campaign_launch(
        campaign=campaign_create(name="Independent", created_by=rated_dataset.owner,
                                 datasets=[rated_dataset], methods=METHODS[:3], n=4,
                                 kind="independent", raters_per_item=2, seed=3, experts=experts)
    )  # fmt: skip
    given = rate_all(campaign, seed=4)
    snapshot = analyse_campaign(campaign=campaign, n_resamples=N_BOOT)
    comp = criterion(snapshot, "accuracy")["comparison"]
    assert comp["design"] == "independent" and comp["omnibus"]["test"] == "kruskal"
    method_of = dict(CampaignItem.objects.filter(campaign=campaign)
                     .values_list("pk", "method__key"))  # fmt: skip
    groups = {m: [] for m in METHODS[:3]}
    per_item = {}
    for (_e, item, _r), s in given.items():
        per_item.setdefault(item, []).append(s["accuracy"])
    for item, values in sorted(per_item.items()):
        groups[method_of[item]].append(np.mean(values))
    expected = comparison.compare_independent(groups, n_resamples=N_BOOT, seed=campaign.seed)
    assert comp["omnibus"]["p_value"] == pytest.approx(expected.omnibus.p_value, nan_ok=True)
    assert [s["mean"] for s in comp["summaries"]] == pytest.approx(
        [s.mean for s in expected.summaries]
    )


def test_campaign_without_ratings_gets_a_snapshot_saying_so(launched_campaign):
    campaign, _owner, _experts = launched_campaign
    snapshot = analyse_campaign(campaign=campaign)
    assert snapshot.status == AnalysisSnapshot.Status.SUCCEEDED
    assert snapshot.n_ratings == 0
    assert snapshot.results["empty"] is True
    assert "No ratings" in snapshot.results["message"]
    assert snapshot.results["counts"]["pending"] == 72
    assert [r["assigned"] for r in snapshot.results["raters"]] == [24, 24, 24]


def test_only_skips_is_empty_too(launched_campaign):
    campaign, _owner, _experts = launched_campaign
    for a in assignments_of(campaign)[:4]:
        rate(a, skipped=True, skip_reason="no image")
    snapshot = analyse_campaign(campaign=campaign)
    assert snapshot.results["empty"] is True
    assert snapshot.results["counts"]["skipped"] == 4


def test_one_rating_gives_undefined_values_not_errors(launched_campaign):
    campaign, _owner, _experts = launched_campaign
    rate_all(campaign, limit=1)
    snapshot = analyse_campaign(campaign=campaign, n_resamples=N_BOOT)
    a = criterion(snapshot, "accuracy")["agreement"]["alpha_ordinal"]
    assert a["value"] is None and a["reason"]
    assert a["reading"]["level"] == "undefined"
    json.dumps(snapshot.results, allow_nan=False)


def test_disputed_items_have_the_largest_spread(rated):
    campaign, given = rated
    snapshot = analyse_campaign(campaign=campaign, n_resamples=N_BOOT)
    disputed = snapshot.results["disputed"]
    assert disputed
    spreads = {}
    for (_e, item, _r), s in given.items():
        for key in KEYS:
            spreads.setdefault(item, {}).setdefault(key, []).append(s[key])
    worst = {i: max(max(v) - min(v) for v in per.values()) for i, per in spreads.items()}
    assert disputed[0]["max_spread"] == max(worst.values())
    assert [d["max_spread"] for d in disputed] == sorted(
        (d["max_spread"] for d in disputed), reverse=True
    )
    for d in disputed:
        assert worst[d["campaign_item_id"]] == d["max_spread"]
        assert set(d["scores"]["accuracy"]) <= {"expert_a", "expert_b", "expert_c"}


def test_rater_diagnostics_equal_the_librarys(rated):
    campaign, given = rated
    snapshot = analyse_campaign(campaign=campaign, n_resamples=N_BOOT)
    x = matrix_of(given, "relevance")
    expert_ids = sorted({e for e, _i, _r in given})
    severity = {s.rater: s for s in raters.severity(x, labels=expert_ids)}
    loo = {r.rater: r for r in raters.leave_one_out_alpha(x, "ordinal", SCALE, labels=expert_ids)}
    for row in snapshot.results["raters"]:
        got = row["criteria"]["relevance"]
        assert got["severity"] == pytest.approx(severity[row["expert_id"]].mean_offset)
        assert got["alpha_without"] == pytest.approx(loo[row["expert_id"]].alpha_without)
        assert row["assigned"] == row["submitted"] == 24
        assert row["median_active_seconds"] is not None


def test_query_count_does_not_grow_with_the_ratings(launched_campaign):
    campaign, _owner, _experts = launched_campaign
    rate_all(campaign, limit=3)
    with CaptureQueriesContext(connection) as few:
        analyse_campaign(campaign=campaign, n_resamples=50)
    for a in assignments_of(campaign)[3:]:
        rate(a, dict.fromkeys(KEYS, 3 + a.pk % 3))
    with CaptureQueriesContext(connection) as many:
        analyse_campaign(campaign=campaign, n_resamples=50)
    assert len(many) == len(few) <= 12, [q["sql"][:80] for q in many.captured_queries]


def test_query_count_is_bounded(rated, django_assert_max_num_queries):
    campaign, _given = rated
    with django_assert_max_num_queries(12):
        analyse_campaign(campaign=campaign, n_resamples=50)


def test_history_is_kept_and_pruned(launched_campaign):
    campaign, _owner, _experts = launched_campaign
    for _ in range(snapshots.KEEP_RECENT_SNAPSHOTS + 5):
        analyse_campaign(campaign=campaign)
    # all made today: the newest 20 and one more for the day
    assert campaign.analysis_snapshots.count() == snapshots.KEEP_RECENT_SNAPSHOTS + 1


@pytest.mark.parametrize(
    ("value", "low", "level"),
    [(0.95, 0.85, "reliable"), (0.85, 0.70, "tentative"), (0.7996, 0.7996, "reliable"),
     (0.75, 0.60, "inconclusive"), (0.6, 0.5, "unreliable"), (None, None, "undefined")],
)  # fmt: skip
def test_alpha_reading_follows_krippendorffs_guideline_on_the_interval(value, low, level):
    assert alpha_reading(value, low, 24, n_values=72).level == level
    assert alpha_reading(1.0, 1.0, 4, n_values=8).level == "insufficient"


def test_flags_are_counted_per_method(launched_campaign):
    campaign, _owner, _experts = launched_campaign
    expected = {}
    for n, a in enumerate(assignments_of(campaign)[:20]):
        flags = ["hallucination"] + (["unsafe_advice"] if n % 3 == 0 else [])
        rate(a, dict.fromkeys(KEYS, 3), flags=flags)
        counts = expected.setdefault(a.campaign_item.method.key, {"n": 0, "h": 0, "u": 0})
        counts["n"] += 1
        counts["h"] += 1
        counts["u"] += "unsafe_advice" in flags
    snapshot = analyse_campaign(campaign=campaign, n_resamples=N_BOOT)
    flags = snapshot.results["flags"]
    assert [f["key"] for f in flags["labels"]][:2] == ["factual_error", "hallucination"]
    per_method = {m["method"]: m for m in flags["per_method"]}
    assert set(per_method) == set(expected)
    for method, e in expected.items():
        got = per_method[method]
        assert got["n_ratings"] == e["n"]
        assert got["counts"]["hallucination"] == e["h"]
        assert got["counts"]["unsafe_advice"] == e["u"]
        assert got["flagged_share"]["hallucination"] == 1.0
