"""Recording an adjudication decision: checked, versioned under a row lock on the campaign item,
and written to the audit trail."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max

from audit.campaigns.models import Campaign, CampaignItem
from audit.core.services import audit_event_record
from audit.reports.adjudication.models import Decision


def _check_scores(campaign: Campaign, scores: dict) -> dict[str, int]:
    criteria = {c.key: c for c in campaign.criteria.all()}
    out: dict[str, int] = {}
    for key, value in (scores or {}).items():
        if value in (None, ""):
            continue
        criterion = criteria.get(key)
        if criterion is None:
            raise ValidationError({"consensus_scores": f"No criterion {key!r} in this campaign."})
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValidationError({"consensus_scores": f"{criterion.name}: a whole number."})
        if not criterion.scale_min <= value <= criterion.scale_max:
            raise ValidationError(
                {
                    "consensus_scores": f"{criterion.name}: between {criterion.scale_min} and "
                    f"{criterion.scale_max}."
                }
            )
        out[key] = value
    return out


def decision_record(
    *,
    campaign: Campaign,
    campaign_item: CampaignItem,
    outcome: str,
    actor=None,
    note: str = "",
    corrected_question: str = "",
    corrected_answer: str = "",
    consensus_scores: dict | None = None,
) -> Decision:
    """A new version of the decision on ``campaign_item``. Correcting needs a corrected text
    that differs from the stored one; the stored item itself never changes."""
    if campaign_item.campaign_id != campaign.pk:
        raise ValidationError("The item belongs to another campaign.")
    if outcome not in Decision.Outcome.values:
        raise ValidationError({"outcome": f"One of {', '.join(Decision.Outcome.values)}."})
    item = campaign_item.item
    if outcome == Decision.Outcome.CORRECT:
        corrected_question = corrected_question.strip() or item.question
        corrected_answer = corrected_answer.strip()
        if not corrected_answer:
            raise ValidationError({"corrected_answer": "Give the corrected answer."})
        if (corrected_question, corrected_answer) == (item.question, item.answer):
            raise ValidationError({"corrected_answer": "The corrected text equals the stored one."})
    else:
        corrected_question = corrected_answer = ""
    scores = _check_scores(campaign, consensus_scores or {})
    with transaction.atomic():
        CampaignItem.objects.select_for_update().get(pk=campaign_item.pk)  # one version at a time
        last = Decision.objects.filter(campaign_item=campaign_item).aggregate(v=Max("version"))
        decision = Decision.objects.create(
            campaign=campaign, campaign_item=campaign_item, item_id=campaign_item.item_id,
            version=(last["v"] or 0) + 1, outcome=outcome, note=note.strip(),
            corrected_question=corrected_question, corrected_answer=corrected_answer,
            consensus_scores=scores, decided_by=actor,
        )  # fmt: skip
        audit_event_record(
            actor=actor, verb="adjudication.decided", target=decision, campaign=campaign,
            data={"campaign_item": campaign_item.pk, "version": decision.version,
                  "outcome": outcome, "consensus_scores": scores},
        )  # fmt: skip
    return decision
