"""The mixed-model sensitivity analysis in the snapshot equals the model fitted here on the
submitted first ratings (built independently of the analysis code), sits on the page next to
the bootstrap differences, and a campaign with too few ratings gets the reason instead."""

import numpy as np
import pytest

from audit.campaigns.models import CampaignItem
from audit.reports.analysis.services import analyse_campaign
from audit.stats.mixed import method_model
from tests.reports.conftest import rate_all

pytestmark = pytest.mark.django_db

METHODS = ["native_caption", "llm_reformatted", "mllm_distill", "mllm_reformatted"]


def page(client, campaign):
    client.force_login(campaign.created_by)
    response = client.get(f"/reports/campaigns/{campaign.public_id}/analysis/")
    assert response.status_code == 200
    return response.content.decode()


def test_snapshot_holds_the_mixed_model_of_the_first_ratings(client, launched_campaign):
    campaign, _owner, _experts = launched_campaign
    given = rate_all(campaign, seed=3)
    snapshot = analyse_campaign(campaign=campaign, n_resamples=100)
    first = [(e, i, s["accuracy"]) for (e, i, r), s in given.items() if not r]
    info = {
        pk: (method, pair)
        for pk, method, pair in CampaignItem.objects.values_list(
            "pk", "method__key", "source_pair_id"
        )
    }
    expected = method_model(
        np.array([v for _e, _i, v in first], dtype=float),
        [info[i][0] for _e, i, _v in first],
        [e for e, _i, _v in first],
        [info[i][1] for _e, i, _v in first],
        [i for _e, i, _v in first],
        order=METHODS,
    )
    assert expected.reason is None
    result = next(c for c in snapshot.results["criteria"] if c["key"] == "accuracy")
    model = result["comparison"]["mixed_model"]
    assert model["reason"] is None and model["n_scores"] == 72
    assert model["components"] == list(expected.components)
    stored = {(d["a"], d["b"]): d for d in model["differences"]}
    assert len(stored) == 6
    for d in expected.differences:
        got = stored[(d.a, d.b)]
        assert got["estimate"] == pytest.approx(d.estimate, abs=1e-6)
        assert (got["ci_low"], got["ci_high"]) == pytest.approx((d.ci_low, d.ci_high), abs=1e-6)

    html = page(client, campaign)
    panel = html.split('class="comparison" data-criterion="accuracy"')[1]
    panel = panel.split('class="comparison" data-criterion=')[0]
    assert "Model-based (mixed model) estimate, sensitivity analysis" in panel
    first_pair = stored[(METHODS[0], METHODS[1])]
    assert f"{first_pair['estimate']:.2f}" in panel
    assert f"[{first_pair['ci_low']:.2f}, {first_pair['ci_high']:.2f}]" in panel


def test_too_few_ratings_give_the_reason_not_estimates(client, launched_campaign):
    campaign, _owner, _experts = launched_campaign
    rate_all(campaign, seed=3, limit=12)
    snapshot = analyse_campaign(campaign=campaign, n_resamples=50)
    model = snapshot.results["criteria"][0]["comparison"]["mixed_model"]
    assert model["reason"] and all(d["estimate"] is None for d in model["differences"])
    assert "Not estimated: " + model["reason"] in page(client, campaign)
