"""The design-weighted means on the analysis page: a campaign whose "equal" allocation over
modalities of unequal sizes gives its items unequal inclusion probabilities shows, per criterion
and method, the Hajek mean (weights 1/pi) and its stratified SE beside the plain mean, equal to
an independent computation (the stratified-mean formulas in numpy from the stored rows)."""

import math

import numpy as np
import pytest
from django.urls import reverse

from audit.campaigns.services import campaign_create, campaign_launch
from audit.reports.analysis.services import analyse_campaign
from audit.reports.analysis.weighted import weighted_means
from tests.factories import UserFactory
from tests.reports.conftest import rate_all

pytestmark = pytest.mark.django_db
METHODS = ["native_caption", "llm_reformatted", "mllm_distill", "mllm_reformatted"]


@pytest.fixture
def unequal_campaign(rated_dataset):
    experts = [UserFactory(username=f"w{i}") for i in range(3)]
    campaign = campaign_create(name="Equal by modality", created_by=rated_dataset.owner,
                               datasets=[rated_dataset], methods=METHODS, n=6,
                               strata=["modality"], allocation="equal", raters_per_item=2,
                               seed=11, experts=experts)  # fmt: skip
    return campaign_launch(campaign=campaign)


def by_hand(campaign, given, key):
    """Per method: sum_h (N_h/N) ybar_h and sqrt(sum_h (N_h/N)^2 (1 - f_h) s_h^2 / n_h), with
    N_h = n_h / pi_h, from the items' first ratings."""
    scores = {}
    for (_e, ci, repeat), s in given.items():
        if not repeat:
            scores.setdefault(ci, []).append(s[key])
    out = {}
    items = campaign.items.filter(is_gold=False).values_list(
        "pk", "method__name", "inclusion_probability", "stratum"
    )
    groups = {}
    for pk, method, p, stratum in items:
        if pk in scores:
            groups.setdefault(method, {}).setdefault(tuple(stratum), ([], p))[0].append(
                np.mean(scores[pk])
            )
    for method, strata in groups.items():
        sizes = {h: len(y) / p for h, (y, p) in strata.items()}
        total = sum(sizes.values())
        mean = sum(sizes[h] / total * np.mean(y) for h, (y, _p) in strata.items())
        var = sum(
            (sizes[h] / total) ** 2 * (1 - p) * np.var(y, ddof=1) / len(y)
            for h, (y, p) in strata.items()
            if len(y) > 1
        )
        plain = np.mean([v for y, _p in strata.values() for v in y])
        out[method] = (mean, math.sqrt(var), plain)
    return out


def test_weighted_means_equal_an_independent_computation(unequal_campaign):
    campaign = unequal_campaign
    probabilities = set(campaign.items.values_list("inclusion_probability", flat=True))
    assert len(probabilities) > 1  # "equal" allocation over unequal strata: unequal pi
    given = rate_all(campaign, seed=4)
    result = weighted_means(campaign)
    assert result is not None
    for c in result["criteria"]:
        expected = by_hand(campaign, given, c["key"])
        assert {r["method"] for r in c["rows"]} == set(expected)
        for r in c["rows"]:
            mean, se, plain = expected[r["method"]]
            # Shown rounded to 3 places (a sum in another order may round the other way).
            assert r["weighted"]["mean"] == pytest.approx(mean, abs=5e-4 + 1e-9)
            assert r["weighted"]["se"] == pytest.approx(se, abs=5e-4 + 1e-9)
            assert r["plain"]["mean"] == pytest.approx(plain, abs=5e-4 + 1e-9)
        assert any(r["weighted"]["mean"] != r["plain"]["mean"] for r in c["rows"])


def test_equal_probabilities_show_nothing(launched_campaign):
    campaign = launched_campaign[0]
    rate_all(campaign, seed=4)
    assert weighted_means(campaign) is None


def test_the_analysis_page_shows_both_labelled(client, unequal_campaign):
    campaign = unequal_campaign
    rate_all(campaign, seed=4)
    analyse_campaign(campaign=campaign, n_resamples=20)
    client.force_login(campaign.created_by)
    html = client.get(reverse("reports:campaign-analysis", args=[campaign.public_id])).content
    section = html.decode().split('id="weighted"', 1)[1].split("</section>", 1)[0]
    assert "Design-weighted mean (1/π)" in section and "Unweighted mean" in section
    first = weighted_means(campaign)["criteria"][0]
    assert f'data-criterion="{first["key"]}"' in section
    assert str(first["rows"][0]["weighted"]["mean"]) in section


def test_the_quality_report_shows_them_too(settings, tmp_path, unequal_campaign):
    """A report of a pre-screened (unequal-probability) campaign carries the design-weighted
    means beside the plain ones, the same figures as the page; an equal-probability one none."""
    from audit.reports.quality.services import quality_report_make

    settings.QUALITY_REPORTS_DIR = tmp_path / "reports"
    campaign = unequal_campaign
    rate_all(campaign, seed=4)
    analyse_campaign(campaign=campaign, n_resamples=20)
    report = quality_report_make(campaign=campaign, send=False)
    html = report.html.open("rb").read().decode()
    section = html.split('id="weighted"', 1)[1].split("</section>", 1)[0]
    assert "Design-weighted mean (1/π)" in section
    for c in weighted_means(campaign)["criteria"]:
        for r in c["rows"]:
            assert f'data-criterion="{c["key"]}" data-method="{r["method"]}"' in section
            assert str(r["weighted"]["mean"]) in section


def test_an_equal_probability_report_has_no_weighted_section(settings, tmp_path, launched_campaign):
    from audit.reports.quality.services import quality_report_make

    settings.QUALITY_REPORTS_DIR = tmp_path / "reports"
    campaign = launched_campaign[0]
    rate_all(campaign, seed=4)
    analyse_campaign(campaign=campaign, n_resamples=20)
    report = quality_report_make(campaign=campaign, send=False)
    assert 'id="weighted"' not in report.html.open("rb").read().decode()
