"""Alpha within each method as well as pooled: the snapshot holds it (equal to the library's and
the `krippendorff` package's alpha on that method's items, computed here from what was
submitted), the page shows it, and where the pooled alpha is high only because the methods'
means differ, the per-method alpha says the experts do not agree."""

import krippendorff
import numpy as np
import pytest

from audit.campaigns.models import CampaignItem
from audit.campaigns.services import campaign_create, campaign_launch
from audit.reports.analysis.services import analyse_campaign
from audit.site.demo import import_demo_dataset
from audit.stats import agreement, bootstrap
from tests.factories import UserFactory
from tests.reports.conftest import assignments_of, matrix_of, rate, rate_all

pytestmark = pytest.mark.django_db

SCALE = [1, 2, 3, 4, 5]
KEYS = ["accuracy", "relevance", "completeness", "usefulness"]
METHODS = ["native_caption", "mllm_reformatted"]
N_BOOT = 100


@pytest.fixture
def methods_apart(tmp_path):
    """12 source pairs x 2 methods, each item rated by the same 3 experts: native captions get
    1 or 2 at random, reformatted ones 4 or 5 at random. Within a method the experts agree no
    better than chance; pooled, the gap between methods looks like agreement."""
    owner = UserFactory(username="owner_apart")
    dataset = import_demo_dataset(
        folder=tmp_path / "demo", n_pairs=12, seed=5, owner=owner, name="Apart"
    )
    experts = [UserFactory(username=f"apart_{c}") for c in "abc"]
    campaign = campaign_launch(
        campaign=campaign_create(
            name="Methods apart",
            created_by=owner,
            datasets=[dataset],
            methods=METHODS,
            n=12,
            raters_per_item=3,
            seed=11,
            experts=experts,
        )
    )
    rng = np.random.default_rng(8)
    given = {}
    for a in assignments_of(campaign, is_repeat=False):
        low = 1 if a.campaign_item.method.key == "native_caption" else 4
        scores = {key: int(low + rng.integers(0, 2)) for key in KEYS}
        rate(a, scores)
        given[(a.expert_id, a.campaign_item_id, False)] = scores
    return campaign, given


def page(client, campaign):
    client.force_login(campaign.created_by)
    response = client.get(f"/reports/campaigns/{campaign.public_id}/analysis/")
    assert response.status_code == 200
    return response.content.decode()


def test_per_method_alpha_is_low_where_pooled_alpha_is_high_only_because_methods_differ(
    client, methods_apart
):
    campaign, given = methods_apart
    snapshot = analyse_campaign(campaign=campaign, n_resamples=N_BOOT)
    items = sorted({i for (_e, i, _r) in given})
    method_of = dict(CampaignItem.objects.filter(pk__in=items).values_list("pk", "method__key"))
    methods = np.array([method_of[i] for i in items])
    result = next(c for c in snapshot.results["criteria"] if c["key"] == "accuracy")
    pooled = result["agreement"]["alpha_ordinal"]
    per_method = {m["method"]: m for m in result["agreement"]["alpha_ordinal_per_method"]}
    assert list(per_method) == METHODS
    assert pooled["value"] > 0.7
    x = matrix_of(given, "accuracy")
    for method in METHODS:
        own = x[:, methods == method]
        entry = per_method[method]
        expected = krippendorff.alpha(
            reliability_data=own, level_of_measurement="ordinal", value_domain=SCALE
        )
        assert entry["value"] == pytest.approx(expected)
        assert entry["value"] == pytest.approx(
            agreement.krippendorff_alpha(own, "ordinal", SCALE).value
        )
        assert entry["value"] < 0.3 < pooled["value"] - 0.4
        assert entry["n_items"] == 12 and entry["n_pairable"] == 12 and entry["n_ratings"] == 36
        assert entry["bootstrap"] == "units"  # one item per source pair within a method
        boot = bootstrap.alpha_bootstrap(
            own, "ordinal", SCALE, n_resamples=N_BOOT, seed=campaign.seed
        )
        assert (entry["ci_low"], entry["ci_high"]) == pytest.approx((boot.low, boot.high))
        assert entry["reading"]["level"] == "unreliable"
    assert pooled["reading"]["level"] != "unreliable"

    html = page(client, campaign)
    agreement_html = html.split('id="agreement"')[1].split('id="comparison"')[0]
    table = agreement_html.split('class="alpha-per-method" data-criterion="accuracy"')[1]
    table = table.split("</details>")[0]
    for method in METHODS:
        row = table.split(f'data-method="{method}"')[1].split("</tr>")[0]
        assert f"{per_method[method]['value']:.3f}" in row
        assert f"[{per_method[method]['ci_low']:.3f}, {per_method[method]['ci_high']:.3f}]" in row
        assert "reading-unreliable" in row


def test_per_method_alpha_on_too_few_items_shows_the_reason(client, launched_campaign):
    campaign, _owner, _experts = launched_campaign
    rate_all(campaign, seed=3)
    snapshot = analyse_campaign(campaign=campaign, n_resamples=N_BOOT)
    result = next(c for c in snapshot.results["criteria"] if c["key"] == "accuracy")
    entries = result["agreement"]["alpha_ordinal_per_method"]
    assert len(entries) == 4
    assert all(e["reading"]["level"] == "insufficient" for e in entries)  # 6 items each
    html = page(client, campaign)
    table = html.split('class="alpha-per-method" data-criterion="accuracy"')[1]
    assert "too little overlap: 18 pairable values on 6 items" in table.split("</details>")[0]
