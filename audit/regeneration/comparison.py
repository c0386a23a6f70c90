"""The comparison campaign of a finished regeneration job: its regenerated items against the
originals of its source datasets, through the campaigns app's own service (regeneration sits above
campaigns, so it may call it; campaigns never imports regeneration)."""

from collections.abc import Iterable, Sequence

from django.core.exceptions import ValidationError

from audit.campaigns.criteria import DEFAULT_CRITERIA, with_chinese
from audit.campaigns.defaults_zh import PUBMEDVISION_GUIDELINES_ZH, QUALITY_AUDIT_ZH
from audit.campaigns.models import Campaign
from audit.campaigns.services import PUBMEDVISION_GUIDELINES, campaign_create
from audit.datasets.models import Item
from audit.regeneration.models import RegenerationJob


def comparison_campaign_create(
    *,
    job: RegenerationJob,
    created_by,
    name: str = "",
    experts: Iterable = (),
    n: int | None = None,
    original_methods: Sequence[str] | None = None,
    raters_per_item: int = 3,
    seed: int | None = None,
) -> Campaign:
    """A draft paired campaign over the job's regenerated items and the originals from its
    source datasets (the same source pairs seen through every method), blinded like any other."""
    if job.status not in (RegenerationJob.Status.SUCCEEDED, RegenerationJob.Status.PARTLY_FAILED):
        raise ValidationError(
            "only a job that has finished with regenerated items can be compared "
            f"(this one is {job.get_status_display()})"
        )
    item_methods = [job.method_options[k]["item_method"] for k in job.methods]
    produced = set(
        Item.objects.filter(dataset_id=job.output_dataset_id).values_list("method__key", flat=True)
    )
    regenerated = [key for key in item_methods if key in produced]
    if not regenerated:
        raise ValidationError("the job produced no items to compare")
    sources = list(job.source_datasets.all())
    if original_methods is None:
        original_methods = sorted(
            set(Item.objects.filter(dataset__in=sources).values_list("method__key", flat=True))
        )
    methods = regenerated + [m for m in original_methods if m not in regenerated]
    return campaign_create(
        name=name or f"{job.name}: regenerated vs original",
        created_by=created_by,
        datasets=[job.output_dataset, *sources],
        methods=methods,
        n=n or len(job.source_pair_ids),
        kind="paired",
        raters_per_item=raters_per_item,
        seed=seed,
        experts=experts,
        guidelines=PUBMEDVISION_GUIDELINES,
        # In Chinese too, for experts reading in Chinese (as the PubMedVision template).
        translations={
            "zh-hans": {"expert_title": QUALITY_AUDIT_ZH, "guidelines": PUBMEDVISION_GUIDELINES_ZH}
        },
        criteria=with_chinese(DEFAULT_CRITERIA),
    )
