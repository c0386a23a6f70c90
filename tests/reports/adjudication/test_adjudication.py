"""Adjudication: the queue of disputed items ordered by the experts' disagreement (checked
against the submitted scores, independently of the query), the item's page with every rating,
versioned decisions in the audit trail, their effect on the audited dataset export and on the
method means, and refusals that keep the input."""

import json
from collections import defaultdict

import pandas as pd
import pytest
from django.urls import reverse

from audit.core.models import AuditEvent
from audit.reports.adjudication import selectors
from audit.reports.adjudication.models import Decision
from audit.reports.adjudication.services import decision_record
from audit.reports.exports.dataset import dataset_export
from tests.reports.conftest import rate_all

pytestmark = pytest.mark.django_db


@pytest.fixture
def rated(launched_campaign):
    campaign, owner, _experts = launched_campaign
    given = rate_all(campaign, seed=11)
    return campaign, owner, given


def expected_spreads(given) -> dict[int, dict[str, int]]:
    values = defaultdict(lambda: defaultdict(list))
    for (_expert, campaign_item, repeat), scores in given.items():
        if not repeat:
            for key, v in scores.items():
                values[campaign_item][key].append(v)
    return {
        ci: {k: max(v) - min(v) for k, v in by.items() if len(v) >= 2} for ci, by in values.items()
    }


def test_the_queue_is_ordered_by_disagreement(rated):
    campaign, _owner, given = rated
    spreads = {ci: s for ci, s in expected_spreads(given).items() if s and max(s.values()) >= 1}
    queue = selectors.disputed_queue(campaign)
    assert [row["campaign_item"].pk for row in queue] == sorted(
        spreads, key=lambda ci: (-max(spreads[ci].values()), -sum(spreads[ci].values()), ci)
    )
    assert all(row["spread"] == spreads[row["campaign_item"].pk] for row in queue)


def test_the_item_page_shows_every_rating_and_records_versioned_decisions(client, rated):
    campaign, owner, _given = rated
    row = selectors.disputed_queue(campaign)[0]
    ci = row["campaign_item"]
    item = ci.item
    item.answer = "<script>alert(1)</script> " + item.answer  # text from a dataset is escaped
    item.save()
    client.force_login(owner)
    url = reverse("reports:adjudicate", args=[campaign.public_id, ci.pk])
    page = client.get(url).content.decode()
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)" in page
    for assignment in ci.assignments.select_related("expert"):
        assert assignment.expert.username in page  # the owner reads who said what
    assert "/images/" in page  # the image, through the permission-checked view
    response = client.post(url, {"outcome": "keep", "note": "The answer is right.",
                                 "score_accuracy": "4"})  # fmt: skip
    assert response.status_code == 302
    response = client.post(url, {"outcome": "exclude", "note": "Wrong image."})
    decisions = list(Decision.objects.filter(campaign_item=ci).order_by("version"))
    assert [(d.version, d.outcome) for d in decisions] == [(1, "keep"), (2, "exclude")]
    assert decisions[0].consensus_scores == {"accuracy": 4} and decisions[0].decided_by == owner
    events = AuditEvent.objects.filter(verb="adjudication.decided", campaign_id=campaign.pk)
    assert events.count() == 2
    assert "Exclude from the dataset" in client.get(url).content.decode()


def test_a_refused_decision_keeps_the_input(client, rated):
    campaign, owner, _given = rated
    ci = selectors.disputed_queue(campaign)[0]["campaign_item"]
    client.force_login(owner)
    url = reverse("reports:adjudicate", args=[campaign.public_id, ci.pk])
    response = client.post(url, {"outcome": "correct", "note": "my careful note",
                                 "corrected_answer": ""})  # fmt: skip
    assert response.status_code == 400
    page = response.content.decode()
    assert "Give the corrected answer" in page and "my careful note" in page
    response = client.post(url, {"outcome": "keep", "score_accuracy": "9", "note": "n2"})
    assert response.status_code == 400 and "n2" in response.content.decode()
    assert not Decision.objects.exists()


def export_records(dataset, campaign, tmp_path, fmt="parquet"):
    path = tmp_path / f"audited.{fmt}"
    dataset_export(dataset=dataset, campaigns=[campaign], path=path, fmt=fmt)
    if fmt == "parquet":
        return pd.read_parquet(path).set_index("item_id")
    return json.loads(path.read_text())


def test_decisions_change_the_audited_dataset_export(rated, tmp_path):
    campaign, owner, _given = rated
    dataset = campaign.datasets.get()
    queue = selectors.disputed_queue(campaign)
    excluded, corrected = queue[0]["campaign_item"], queue[1]["campaign_item"]
    before = export_records(dataset, campaign, tmp_path)
    decision_record(campaign=campaign, campaign_item=excluded, outcome="exclude", actor=owner)
    decision_record(campaign=campaign, campaign_item=corrected, outcome="correct", actor=owner,
                    corrected_answer="A corrected description.")  # fmt: skip
    after = export_records(dataset, campaign, tmp_path)
    assert excluded.item_id in before.index and excluded.item_id not in after.index
    assert len(after) == len(before) - 1
    assert after.loc[corrected.item_id, "answer"] == "A corrected description."
    assert after.loc[corrected.item_id, "adjudication"] == "correct"
    assert json.loads(after.loc[corrected.item_id, "conversations"])[-1]["value"] == (
        "A corrected description."
    )
    assert after["adjudication"].isna().sum() == len(after) - 1  # undecided items say nothing
    # The JSON formats carry the decision and the original text in the item's audit record.
    pmv = export_records(dataset, campaign, tmp_path, fmt="pubmedvision")
    audits = [r["audit"]["adjudication"] for r in pmv if "adjudication" in r["audit"]]
    assert audits == [{**audits[0], "decision": "correct"}]
    assert audits[0]["original"]["answer"] == corrected.item.answer
    corrected.item.refresh_from_db()
    assert corrected.item.answer != "A corrected description."  # the stored item is unchanged


def test_before_and_after_drop_excluded_items_and_use_consensus(rated):
    campaign, owner, given = rated
    queue = selectors.disputed_queue(campaign)
    excluded, agreed = queue[0]["campaign_item"], queue[1]["campaign_item"]
    decision_record(campaign=campaign, campaign_item=excluded, outcome="exclude", actor=owner)
    decision_record(campaign=campaign, campaign_item=agreed, outcome="keep", actor=owner,
                    consensus_scores={"accuracy": 5})  # fmt: skip
    # Independently: item means of the first ratings, per method.
    per_item = defaultdict(list)
    for (_e, ci, repeat), scores in given.items():
        if not repeat:
            per_item[ci].append(scores["accuracy"])
    method_of = {ci.pk: ci.method.name for ci in campaign.items.select_related("method")}
    means = {ci: sum(v) / len(v) for ci, v in per_item.items()}
    after = {ci: m for ci, m in means.items() if ci != excluded.pk} | {agreed.pk: 5.0}
    effect = selectors.before_and_after(campaign)
    assert effect["decided"] == 2 and effect["counts"] == {"exclude": 1, "keep": 1}
    keys = [c.key for c in effect["criteria"]]
    for row in effect["rows"]:
        cell = row["cells"][keys.index("accuracy")]
        b = [m for ci, m in means.items() if method_of[ci] == row["method"]]
        a = [m for ci, m in after.items() if method_of[ci] == row["method"]]
        assert cell["before"] == round(sum(b) / len(b), 3) and cell["n_before"] == len(b)
        assert cell["after"] == round(sum(a) / len(a), 3) and cell["n_after"] == len(a)


def test_other_owners_and_experts_get_404(client, world):
    campaign = world["campaign"]
    ci = campaign.items.first()
    for role in ("owner_elsewhere", "expert_here"):
        client.force_login(world["users"][role])
        assert (
            client.get(reverse("reports:adjudication", args=[campaign.public_id])).status_code
            == 404
        )
        url = reverse("reports:adjudicate", args=[campaign.public_id, ci.pk])
        assert client.post(url, {"outcome": "exclude"}).status_code == 404
    assert not Decision.objects.exists()


def test_the_analysis_and_the_quality_report_lead_to_and_show_adjudication(client, rated):
    from audit.reports.analysis.services import analyse_campaign
    from audit.reports.quality.services import quality_report_make

    campaign, owner, _given = rated
    snapshot = analyse_campaign(campaign=campaign, n_resamples=20)
    first = snapshot.results["disputed"][0]["campaign_item_id"]
    client.force_login(owner)
    analysis = client.get(reverse("reports:campaign-analysis", args=[campaign.public_id]))
    link = reverse("reports:adjudicate", args=[campaign.public_id, first])
    assert f'href="{link}"' in analysis.content.decode()
    ci = campaign.items.get(pk=first)
    decision_record(campaign=campaign, campaign_item=ci, outcome="exclude", actor=owner)
    report = quality_report_make(campaign=campaign, send=False)
    html = report.html.read().decode()
    section = html.split('<section id="adjudication">', 1)[1].split("</section>", 1)[0]
    assert "1 item decided: 1 exclude" in section
    assert link in html  # the disputed items link to their adjudication page
