"""Incremental analysis: an automatic run after new ratings reads only what changed and keeps
the previous bootstrap intervals, labelled with their basis; every point figure equals a full
analysis of the same data exactly, and intervals are either equal to a fresh computation or
labelled. Whatever the kept data cannot be trusted for falls back to a full read; the owner's
recompute, the nightly run and quality reports analyse everything afresh."""

import numpy as np
import pytest
from django.urls import reverse

from annotations.models import Rating
from audit.reports.analysis import datacache
from audit.reports.analysis.criterion import ALPHA_INTERVAL, COMPARISON_INTERVAL
from audit.reports.analysis.reading import load_campaign_data
from audit.reports.analysis.services import analyse_campaign, analysis_run
from audit.reports.models import AnalysisSnapshot
from tests.reports.conftest import assignments_of, chosen_scores, rate

pytestmark = pytest.mark.django_db

N_BOOT = 50
INTERVAL_FIELDS = {*ALPHA_INTERVAL, *sum(COMPARISON_INTERVAL.values(), ())}
BOOKKEEPING = {"intervals", "reading"}  # how a run read its data and where its intervals are from


def strip(results, drop):
    """``results`` without the keys in ``drop``, at any depth."""
    if isinstance(results, dict):
        return {k: strip(v, drop) for k, v in results.items() if k not in drop}
    if isinstance(results, list):
        return [strip(v, drop) for v in results]
    return results


def points(results):
    """Every figure but the intervals and what is read from them (alpha's reading)."""
    return strip(results, INTERVAL_FIELDS | BOOKKEEPING)


def rate_some(campaign, start, stop, seed=5):
    rng = np.random.default_rng(seed)
    for a in assignments_of(campaign)[start:stop]:
        rate(a, chosen_scores(a, rng), active_seconds=12)


def run(campaign, *, incremental):
    trigger = "ratings" if incremental else "manual"
    return analyse_campaign(
        campaign=campaign, trigger=trigger, n_resamples=N_BOOT, incremental=incremental
    )


def same_data(a, b):
    assert [c.pk for c in a.criteria] == [c.pk for c in b.criteria]
    assert np.array_equal(a.scores, b.scores)
    for name in ("item_ids", "item_source"):
        assert np.array_equal(getattr(a, name), getattr(b, name))
    for name in ("item_method", "item_stratum", "item_gold", "assignments", "guesses"):
        assert getattr(a, name) == getattr(b, name), name
    assert a.assignment_keys == b.assignment_keys


def test_points_equal_a_full_analysis_and_kept_intervals_say_their_basis(
    launched_campaign, settings
):
    settings.ANALYSIS_INTERVAL_REFRESH_SHARE = 0.5  # a small campaign: every stratum grows a lot
    settings.ANALYSIS_CACHE_MARGIN_SECONDS = 0  # (the margin re-reads every recent rating)
    campaign = launched_campaign[0]
    rate_some(campaign, 0, 60)
    basis = run(campaign, incremental=False)
    assert basis.results["intervals"]["fresh"] and not basis.results["reading"]["incremental"]
    rate_some(campaign, 60, 63, seed=6)

    incremental = run(campaign, incremental=True)
    full = run(campaign, incremental=False)

    assert incremental.results["reading"] == {
        "incremental": True,
        "ratings_fetched": 3,
        "why_full": None,
    }
    meta = incremental.results["intervals"]
    assert not meta["fresh"]
    assert meta["basis_n_ratings"] == 60 and meta["changed"] == 3
    assert meta["basis_at"] == basis.results["intervals"]["basis_at"]
    assert meta["changed_share"] == pytest.approx(0.05) and meta["refresh_share"] == 0.5
    assert incremental.n_ratings == full.n_ratings == 63
    assert points(incremental.results) == points(full.results)
    # the kept intervals are the basis' own
    kept = strip(incremental.results, BOOKKEEPING)
    before = strip(basis.results, BOOKKEEPING)
    for c_now, c_then in zip(kept["criteria"], before["criteria"], strict=True):
        for level in ("alpha_ordinal", "alpha_interval"):
            now, then = c_now["agreement"][level], c_then["agreement"][level]
            assert {f: now[f] for f in ALPHA_INTERVAL} == {f: then[f] for f in ALPHA_INTERVAL}
        for p_now, p_then in zip(
            c_now["comparison"]["pairwise"], c_then["comparison"]["pairwise"], strict=True
        ):
            assert (p_now["ci_low"], p_now["ci_high"]) == (p_then["ci_low"], p_then["ci_high"])
    # the full run is the next basis; incremental runs after it carry it and count on
    rate_some(campaign, 63, 65, seed=7)
    again = run(campaign, incremental=True)
    rate_some(campaign, 65, 66, seed=8)
    third = run(campaign, incremental=True)
    for snapshot, changed in ((again, 2), (third, 3)):
        meta = snapshot.results["intervals"]
        assert not meta["fresh"]
        assert (meta["basis_n_ratings"], meta["changed"]) == (63, changed)
        assert meta["basis_at"] == full.results["intervals"]["basis_at"]


def test_intervals_are_recomputed_when_too_much_changed(launched_campaign, settings):
    settings.ANALYSIS_INTERVAL_REFRESH_SHARE = 0.05
    campaign = launched_campaign[0]
    rate_some(campaign, 0, 60)
    run(campaign, incremental=False)
    rate_some(campaign, 60, 66, seed=6)  # +10 %

    incremental = run(campaign, incremental=True)
    full = run(campaign, incremental=False)

    assert incremental.results["reading"]["incremental"]  # the read still was
    assert incremental.results["intervals"]["fresh"]
    assert incremental.results["intervals"]["basis_n_ratings"] == 66
    # fresh intervals from the same data and seed: everything equal
    assert strip(incremental.results, BOOKKEEPING) == strip(full.results, BOOKKEEPING)


def test_the_incremental_read_equals_a_full_read(launched_campaign):
    campaign = launched_campaign[0]
    rate_some(campaign, 0, 40)
    snapshot = run(campaign, incremental=False)
    cached = datacache.cache_load(campaign.pk)
    assert cached.snapshot_id == snapshot.pk
    rate_some(campaign, 40, 44, seed=8)
    skipped = assignments_of(campaign)[44]
    rate(skipped, skipped=True, skip_reason="cannot judge the image")
    revised = assignments_of(campaign)[3]  # a new revision of an earlier rating
    rate(revised, {k: 1 for k in ("accuracy", "relevance", "completeness", "usefulness")})
    assert Rating.objects.get(assignment=revised).revision == 2

    read = datacache.read_campaign(campaign, incremental=True, cached=cached)

    assert read.incremental and read.why_full is None
    assert read.changed == 4 + 1 + 1
    same_data(read.data, load_campaign_data(campaign))


def test_a_deleted_rating_means_a_full_read(launched_campaign):
    campaign = launched_campaign[0]
    rate_some(campaign, 0, 40)
    run(campaign, incremental=False)
    Rating.objects.filter(assignment=assignments_of(campaign)[5]).delete()

    read = datacache.read_campaign(
        campaign, incremental=True, cached=datacache.cache_load(campaign.pk)
    )

    assert not read.incremental
    assert "differs" in read.why_full
    assert read.changed == 1
    same_data(read.data, load_campaign_data(campaign))


def test_without_kept_data_the_run_is_full(launched_campaign, settings):
    campaign = launched_campaign[0]
    rate_some(campaign, 0, 40)
    run(campaign, incremental=False)
    datacache.cache_path(campaign.pk).write_bytes(b"not an archive")

    snapshot = run(campaign, incremental=True)

    assert not snapshot.results["reading"]["incremental"]
    assert snapshot.results["intervals"]["fresh"]


def test_automatic_runs_are_incremental_and_the_owners_are_full(launched_campaign, settings):
    settings.ANALYSIS_INTERVAL_REFRESH_SHARE = 0.5
    settings.ANALYSIS_MIN_INTERVAL_SECONDS = 0  # no wait between automatic runs here
    settings.ANALYSIS_INTERVAL_PER_1000_RATINGS = 0
    campaign = launched_campaign[0]
    rate_some(campaign, 0, 60)
    assert analysis_run(campaign_id=campaign.pk, trigger="manual") == "succeeded"
    rate_some(campaign, 60, 61, seed=6)
    assert analysis_run(campaign_id=campaign.pk, trigger="ratings") == "succeeded"
    automatic = AnalysisSnapshot.objects.filter(campaign=campaign).order_by("-pk").first()
    assert automatic.results["reading"]["incremental"]
    assert not automatic.results["intervals"]["fresh"]
    for trigger in ("manual", "nightly"):
        assert analysis_run(campaign_id=campaign.pk, trigger=trigger) == "succeeded"
        latest = AnalysisSnapshot.objects.filter(campaign=campaign).order_by("-pk").first()
        assert not latest.results["reading"]["incremental"]
        assert latest.results["intervals"]["fresh"]


def test_the_page_labels_kept_intervals(launched_campaign, client, settings):
    settings.ANALYSIS_INTERVAL_REFRESH_SHARE = 0.5
    campaign, owner, _experts = launched_campaign
    rate_some(campaign, 0, 60)
    run(campaign, incremental=False)
    client.force_login(owner)
    url = reverse("reports:campaign-analysis", args=[campaign.public_id])
    assert b'id="interval-basis"' not in client.get(url).content
    rate_some(campaign, 60, 63, seed=6)
    run(campaign, incremental=True)

    page = client.get(url).content.decode()

    assert 'id="interval-basis"' in page
    assert "from the analysis of 60 ratings at" in page
    assert "+5.0 %" in page and "50 %" in page


def test_quality_reports_analyse_afresh(launched_campaign, settings):
    from audit.reports.quality.services import report_snapshot

    settings.ANALYSIS_INTERVAL_REFRESH_SHARE = 0.5
    campaign = launched_campaign[0]
    rate_some(campaign, 0, 60)
    run(campaign, incremental=False)
    rate_some(campaign, 60, 61, seed=6)
    kept = run(campaign, incremental=True)
    assert not kept.results["intervals"]["fresh"]

    snapshot = report_snapshot(campaign=campaign)

    assert snapshot.pk != kept.pk
    assert snapshot.results["intervals"]["fresh"]
    assert not snapshot.results["reading"]["incremental"]
