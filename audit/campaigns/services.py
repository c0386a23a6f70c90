"""Writes for campaigns: create, dry run, launch (sample + assign), pause/resume/close, experts.

Sampling and assignment are pure functions (sampling.py, assignment.py); this module loads
rows ordered by primary key, calls them, and writes the result in one transaction.
"""

import dataclasses
import random
from collections.abc import Callable, Iterable, Sequence
from contextlib import contextmanager
from datetime import datetime

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext_noop

from audit.campaigns import assignment as assigning
from audit.campaigns import bulk, sampling, selectors, texts
from audit.campaigns.criteria import DEFAULT_CRITERIA, with_chinese
from audit.campaigns.defaults_zh import PUBMEDVISION_GUIDELINES_ZH, QUALITY_AUDIT_ZH
from audit.campaigns.models import Assignment, Campaign, Criterion, Membership
from audit.campaigns.presentation import PresentationRules, guess_options
from audit.core.services import audit_event_record
from audit.datasets.models import Dataset, Item, Method

User = get_user_model()

# progress(stage, done, total): see campaign_launch.
Progress = Callable[[str, int | None, int | None], None]

# Who labels a campaign's candidates with a score band (stratum "score_band"): the name in the
# design's ``score_source["source"]`` -> fn(campaign, candidates) -> {item id: band}. A higher
# layer registers itself here (regeneration: "judge", the model judge's pre-screen), so this
# layer never imports it; the labels come from stored, fixed scores, hence are reproducible.
SCORE_SOURCES: dict[str, Callable] = {}


def score_source_register(name: str, labels: Callable) -> None:
    SCORE_SOURCES[name] = labels


def _check_criteria(criteria: Sequence[dict]) -> None:
    keys = [c.get("key") for c in criteria]
    if not criteria:
        raise ValidationError("a campaign needs at least one criterion")
    if len(set(keys)) != len(keys) or not all(keys):
        raise ValidationError("criterion keys must be present and unique")
    for c in criteria:
        low, high = c.get("scale_min", 1), c.get("scale_max", 5)
        if not (isinstance(low, int) and isinstance(high, int) and low < high <= low + 20):
            raise ValidationError(f"criterion {c['key']!r}: scale must be integers, min < max")


def _criteria_create(*, campaign: Campaign, criteria: Sequence[dict]) -> None:
    """The campaign's criteria, in the given order (checked by ``_check_criteria``)."""
    Criterion.objects.bulk_create(
        Criterion(
            campaign=campaign,
            key=c["key"],
            name=c["name"],
            question=c.get("question", ""),
            scale_min=c.get("scale_min", 1),
            scale_max=c.get("scale_max", 5),
            anchors=c.get("anchors", {}),
            translations=texts.clean_criterion_translations(
                c.get("translations"),
                key=c["key"],
                scale_min=c.get("scale_min", 1),
                scale_max=c.get("scale_max", 5),
            ),
            position=i,
        )
        for i, c in enumerate(criteria)
    )


def campaign_create(
    *,
    name: str,
    created_by,
    datasets: Iterable[Dataset],
    methods: Sequence[str],
    n: int,
    kind: str = "paired",
    strata: Sequence[str] = (),
    allocation: str = "proportional",
    raters_per_item: int = 3,
    seed: int | None = None,
    guidelines: str = "",
    expert_title: str = "Quality audit",
    translations: dict | None = None,
    criteria: Sequence[dict] | None = None,
    experts: Iterable[tuple] = (),
    deadline: datetime | None = None,
    repeat_share: float = 0.0,
    gold_scores: dict[int, dict[str, int]] | None = None,
    presentation: dict | None = None,
    method_guess: bool = False,
    rates: dict[str, float] | None = None,
    score_source: dict | None = None,
) -> Campaign:
    """A draft campaign. ``experts`` are users or (user, specialty) pairs; ``gold_scores`` maps
    item ids to reference scores per criterion key; ``translations`` hold the expert title and
    guidelines in other languages (see audit.campaigns.texts; each criterion may carry its own).
    ``score_source`` (with the stratum "score_band"): who labels the items' score bands and how
    (see ``SCORE_SOURCES``), recorded in the design; ``rates``: the relative sampling rate per
    band (allocation "rates")."""
    criteria = list(criteria or DEFAULT_CRITERIA)
    translations = texts.clean_campaign_translations(translations)
    _check_criteria(criteria)
    unknown = set(methods) - set(
        Method.objects.filter(key__in=methods).values_list("key", flat=True)
    )
    if unknown:
        raise ValidationError(f"unknown methods: {', '.join(sorted(unknown))}")
    design = {
        "kind": kind,
        "methods": list(methods),
        "n": n,
        "strata": list(strata),
        "allocation": allocation,
        "repeat_share": repeat_share,
        "gold_scores": {str(k): v for k, v in (gold_scores or {}).items()},
        "presentation": PresentationRules.from_design({"presentation": presentation}).as_design(),
    }
    if rates:
        design["rates"] = {str(k): v for k, v in rates.items()}
    if score_source:
        design["score_source"] = score_source
    seed = random.SystemRandom().randrange(2**31) if seed is None else seed
    design["method_guess"] = _method_guess(method_guess, design["methods"], seed)
    _design(design, seed)  # validate now, not at launch
    if raters_per_item < 1:
        raise ValidationError("raters per item must be at least 1")
    with transaction.atomic():
        campaign = Campaign.objects.create(
            name=name,
            expert_title=expert_title,
            guidelines=guidelines,
            translations=translations,
            design=design,
            raters_per_item=raters_per_item,
            seed=seed,
            deadline=deadline,
            created_by=created_by,
        )
        campaign.datasets.set(datasets)
        _criteria_create(campaign=campaign, criteria=criteria)
        if created_by is not None:
            Membership.objects.create(campaign=campaign, user=created_by, role="owner")
        for expert in experts:
            user, specialty = expert if isinstance(expert, tuple) else (expert, "")
            Membership.objects.create(
                campaign=campaign, user=user, role="expert", specialty=specialty
            )
        audit_event_record(
            actor=created_by,
            verb="campaign.created",
            target=campaign,
            campaign=campaign,
            data={"design": design},
        )
    return campaign


def pubmedvision_check_create(*, name: str, created_by, datasets, experts, seed: int = 2024):
    """The PubMedVision expert check as a template: 90 source pairs x 4 methods, 3 experts."""
    return campaign_create(
        name=name,
        created_by=created_by,
        datasets=datasets,
        methods=["native_caption", "llm_reformatted", "mllm_distill", "mllm_reformatted"],
        n=90,
        kind="paired",
        raters_per_item=3,
        seed=seed,
        experts=experts,
        guidelines=PUBMEDVISION_GUIDELINES,
        translations={
            "zh-hans": {"expert_title": QUALITY_AUDIT_ZH, "guidelines": PUBMEDVISION_GUIDELINES_ZH}
        },
        criteria=with_chinese(DEFAULT_CRITERIA),
    )


PUBMEDVISION_GUIDELINES = """\
Rate each item on the four criteria, 1 (worst) to 5 (best), judging the text **against the
image**. You do not know how the text was made; please do not guess.

* **Accuracy** — is every statement supported by the image?
* **Relevance** — does it stay with the image's key medical features?
* **Completeness** — are the key features all there?
* **Usefulness** — would it help a clinician decide?

Flag factual errors, hallucinations and unsafe advice even when the scores already say so.
Skip an item only when you cannot judge it, and say why.
"""


def _design(design: dict, seed: int) -> sampling.Design:
    if "score_band" in design.get("strata", ()):
        source = (design.get("score_source") or {}).get("source")
        if source not in SCORE_SOURCES:
            raise ValidationError(
                "invalid design: the stratum score_band needs the score source that labels the "
                "items (a pre-screened campaign is made from a judge run's page)"
            )
    try:
        return sampling.Design(
            kind=design["kind"],
            methods=tuple(design["methods"]),
            n=int(design["n"]),
            strata=tuple(design.get("strata", ())),
            allocation=design.get("allocation", "proportional"),
            seed=seed,
            repeat_share=float(design.get("repeat_share", 0.0)),
            gold_item_ids=tuple(sorted(int(k) for k in design.get("gold_scores", {}))),
            rates=design.get("rates", {}),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ValidationError(f"invalid design: {exc}") from None


def campaign_candidates(campaign: Campaign) -> list[sampling.Candidate]:
    rows = (
        Item.objects.filter(
            dataset__in=campaign.datasets.all(), method__key__in=campaign.design["methods"]
        )
        .order_by("pk")
        .values_list("pk", "source_pair_id", "method__key", "modality", "body_part")
    )
    candidates = [sampling.Candidate(*row) for row in rows]
    if "score_band" in campaign.design.get("strata", ()):
        source = campaign.design["score_source"]
        bands = SCORE_SOURCES[source["source"]](campaign, candidates)
        candidates = [
            dataclasses.replace(c, score_band=bands.get(c.item_id, "unscored")) for c in candidates
        ]
    return candidates


def campaign_dry_run(campaign: Campaign) -> sampling.Sample:
    """The sample the campaign would draw at launch, without writing anything."""
    try:
        return sampling.draw_sample(
            campaign_candidates(campaign), _design(campaign.design, campaign.seed)
        )
    except ValueError as exc:
        raise ValidationError(str(exc)) from None


def _expert_ids(campaign: Campaign) -> list[int]:
    return sorted(
        campaign.memberships.filter(role="expert", active=True).values_list("user_id", flat=True)
    )


def campaign_launch(
    *, campaign: Campaign, actor=None, progress: Progress | None = None
) -> Campaign:
    """Draw the sample, record it, and give every item to k distinct experts, in one
    transaction: the campaign is active at commit, or nothing happened. The body of the launch
    job (``audit.campaigns.jobs``), callable directly (tests, the demo). ``progress(stage, done,
    total)`` hears of each stage (see ``LAUNCH_STAGES``) while the transaction is open."""
    report = progress or _no_progress
    with transaction.atomic():
        campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
        if campaign.status not in (Campaign.Status.DRAFT, Campaign.Status.LAUNCHING):
            raise ValidationError(
                f"only a draft campaign can be launched (it is {campaign.status})"
            )
        experts = launch_check(campaign)
        report("sample", 0, None)
        sample = campaign_dry_run(campaign)
        if not sample.items:
            raise ValidationError("the sample is empty")
        total = len(sample.items)
        report("sample", total, total)
        methods = dict(Method.objects.values_list("key", "pk"))
        gold = campaign.design.get("gold_scores", {})
        ids = bulk.write_campaign_items(
            campaign=campaign,
            sample=sample,
            method_ids=methods,
            gold=gold,
            progress=lambda done: report("items", done, total),
        )
        refs = [
            assigning.CampaignItemRef(pk, s.source_pair_id, s.method)
            for pk, s in zip(ids, sample.items, strict=True)
        ]
        report("assign", 0, None)
        slots = assigning.assign(
            refs,
            experts,
            campaign.raters_per_item,
            campaign.seed,
            float(campaign.design.get("repeat_share", 0.0)),
        )
        del refs
        bulk.write_assignments(
            campaign=campaign,
            slots=slots,
            progress=lambda done: report("assignments", done, len(slots)),
        )
        campaign.status = Campaign.Status.ACTIVE
        campaign.launched_at = timezone.now()
        # Blinding strength is stored with the launched design (bounded: a subset of big samples).
        report("blinding", 0, None)
        blinding = selectors.sample_blinding(
            campaign=campaign, sample=sample, max_items=LAUNCH_BLINDING_ITEMS
        )
        campaign.design = {**campaign.design, "makeup": sample.makeup,
                           "warnings": list(sample.warnings), "blinding": blinding}  # fmt: skip
        campaign.save(update_fields=["status", "launched_at", "design"])
        audit_event_record(
            actor=actor,
            verb="campaign.launched",
            target=campaign,
            campaign=campaign,
            data={"items": total, "assignments": len(slots)},
        )
        report("commit", 0, None)
    return campaign


# What a launch does, in order, as ``progress`` names it (and the page shows it).
# The stage labels are translated when shown (campaign_job_progress).
LAUNCH_STAGES = {
    "queued": gettext_noop("Waiting for a worker"),
    "sample": gettext_noop("Drawing the sample"),
    "items": gettext_noop("Writing the sampled items"),
    "assign": gettext_noop("Giving items to experts"),
    "assignments": gettext_noop("Writing the experts' queues"),
    "blinding": gettext_noop("Measuring blinding strength"),
    "commit": gettext_noop("Committing"),
}


def _no_progress(stage: str, done: int | None, total: int | None) -> None:
    return None


def launch_check(campaign: Campaign) -> list[int]:
    """The campaign's active expert ids, or ValidationError when they are too few for k: what
    can be checked at once, before a launch is queued."""
    experts = _expert_ids(campaign)
    if len(experts) < campaign.raters_per_item:
        raise ValidationError(
            f"{campaign.raters_per_item} raters per item need at least as many experts; "
            f"the campaign has {len(experts)}"
        )
    return experts


_TRANSITIONS = {
    "pause": ({Campaign.Status.ACTIVE}, Campaign.Status.PAUSED),
    "resume": ({Campaign.Status.PAUSED}, Campaign.Status.ACTIVE),
    "close": ({Campaign.Status.ACTIVE, Campaign.Status.PAUSED}, Campaign.Status.CLOSED),
}
_VERBS = {"pause": "paused", "resume": "resumed", "close": "closed"}


def campaign_transition(*, campaign: Campaign, action: str, actor=None) -> Campaign:
    """Pause, resume or close a campaign."""
    if action not in _TRANSITIONS:
        raise ValidationError(f"unknown action {action!r}")
    allowed, target = _TRANSITIONS[action]
    with transaction.atomic():
        campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
        if campaign.status not in allowed:
            raise ValidationError(f"cannot {action} a campaign that is {campaign.status}")
        campaign.status = target
        fields = ["status"]
        if target == Campaign.Status.CLOSED:
            campaign.closed_at = timezone.now()
            fields.append("closed_at")
        campaign.save(update_fields=fields)
        audit_event_record(
            actor=actor,
            verb=f"campaign.{_VERBS[action]}",
            target=campaign,
            campaign=campaign,
            data={"action": action},
        )
    return campaign


def campaign_set_experts(
    *, campaign: Campaign, experts: Iterable[tuple], actor=None
) -> list[tuple]:
    """Make ``experts`` (users or (user, specialty)) the campaign's experts. On a launched
    campaign, pending work is redistributed; submitted ratings are never touched. Returns the
    moves made: (campaign item id, from expert id, to expert id)."""
    wanted = {}
    for expert in experts:
        user, specialty = expert if isinstance(expert, tuple) else (expert, "")
        wanted[user.pk] = specialty
    with transaction.atomic():
        campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
        if campaign.status == Campaign.Status.CLOSED:
            raise ValidationError("a closed campaign's experts cannot change")
        if campaign.status != Campaign.Status.DRAFT and len(wanted) < campaign.raters_per_item:
            raise ValidationError(f"at least {campaign.raters_per_item} experts are needed")
        for membership in campaign.memberships.filter(role="expert"):
            keep = membership.user_id in wanted
            if membership.active != keep or (
                keep and membership.specialty != wanted[membership.user_id]
            ):
                membership.active = keep
                membership.specialty = wanted.get(membership.user_id, membership.specialty)
                membership.save(update_fields=["active", "specialty"])
        existing = set(campaign.memberships.filter(role="expert").values_list("user_id", flat=True))
        Membership.objects.bulk_create(
            Membership(campaign=campaign, user_id=uid, role="expert", specialty=spec)
            for uid, spec in wanted.items()
            if uid not in existing
        )
        moves = (
            []
            if campaign.status == Campaign.Status.DRAFT
            else _redistribute(campaign, sorted(wanted))
        )
        audit_event_record(
            actor=actor,
            verb="campaign.experts_changed",
            target=campaign,
            campaign=campaign,
            data={"experts": sorted(wanted), "moved": len(moves)},
        )
        return moves


@contextmanager
def _queue_counts_deferred():
    """The queue counts of the changes made inside are written when it ends (migration 0005):
    the experts whose work moves keep submitting while the moves run, one UPDATE each."""
    if connection.vendor != "postgresql":  # SQLite: one writer at a time anyway
        yield
        return
    triggers = "campaigns_queue_count_update, campaigns_queue_count_delete"
    with connection.cursor() as cursor:
        cursor.execute(f"SET CONSTRAINTS {triggers} DEFERRED")
    yield
    with connection.cursor() as cursor:
        cursor.execute(f"SET CONSTRAINTS {triggers} IMMEDIATE")


@_queue_counts_deferred()
def _redistribute(campaign: Campaign, experts: list[int]) -> list[tuple]:
    rows = (
        Assignment.objects.filter(campaign=campaign, is_repeat=False)
        .order_by("pk")
        .values_list(
            "expert_id",
            "campaign_item_id",
            "campaign_item__source_pair_id",
            "campaign_item__method__key",
            "status",
        )
    )
    slots = [
        assigning.ExistingSlot(e, ci, sp, m, status != Assignment.Status.PENDING)
        for e, ci, sp, m, status in rows
    ]
    moves = assigning.rebalance(slots, experts, campaign.raters_per_item, campaign.seed)
    next_position = dict(
        Assignment.objects.filter(campaign=campaign)
        .values("expert_id")
        .annotate(last=Max("position"))
        .values_list("expert_id", "last")
    )
    for campaign_item_id, from_expert, to_expert in moves:
        position = next_position.get(to_expert, -1) + 1
        next_position[to_expert] = position
        pending = Assignment.objects.filter(
            campaign=campaign,
            campaign_item_id=campaign_item_id,
            expert_id=from_expert,
            status=Assignment.Status.PENDING,
        )
        pending.filter(is_repeat=False).update(
            expert_id=to_expert, position=position, draft={}, active_seconds=0
        )
        # A repeat measures one expert against themselves: it does not follow moved work.
        pending.filter(is_repeat=True).delete()
    Assignment.objects.filter(
        campaign=campaign, is_repeat=True, status=Assignment.Status.PENDING
    ).exclude(expert_id__in=experts).delete()
    return moves


LAUNCH_BLINDING_ITEMS = 2000

_UPDATABLE = {
    "name",
    "expert_title",
    "guidelines",
    "translations",
    "raters_per_item",
    "seed",
    "deadline",
}
_DESIGN_FIELDS = {"kind", "methods", "n", "strata", "allocation", "repeat_share"}
_PRESENTATION_FIELDS = {"presentation", "method_guess"}


def _method_guess(enabled: bool, methods: Sequence[str], seed: int) -> dict:
    """The design's record of whether experts are asked to guess the method, with the options
    (opaque code, neutral label, and the method key the owner's side maps it to)."""
    if not enabled:
        return {"enabled": False, "options": []}
    rows = Method.objects.filter(key__in=methods).order_by("key")
    return {"enabled": True, "options": guess_options(rows, seed)}


def campaign_update(*, campaign: Campaign, actor=None, **changes) -> Campaign:
    """Change a draft campaign. Takes campaign_create's arguments (except ``created_by`` and
    ``gold_scores``); what is not given stays as it is. Launched campaigns cannot change."""
    unknown = (
        set(changes)
        - _UPDATABLE
        - _DESIGN_FIELDS
        - _PRESENTATION_FIELDS
        - {"datasets", "criteria", "experts"}
    )
    if unknown:
        raise ValidationError(f"cannot update {', '.join(sorted(unknown))}")
    with transaction.atomic():
        campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
        if campaign.status != Campaign.Status.DRAFT:
            raise ValidationError(f"only a draft campaign can be changed (it is {campaign.status})")
        design = dict(campaign.design)
        for key in _DESIGN_FIELDS & set(changes):
            value = changes[key]
            design[key] = list(value) if key in ("methods", "strata") else value
        if "methods" in changes:
            methods = set(design["methods"])
            known = set(Method.objects.filter(key__in=methods).values_list("key", flat=True))
            if methods - known:
                raise ValidationError(f"unknown methods: {', '.join(sorted(methods - known))}")
        if changes.get("seed", campaign.seed) is None:
            changes["seed"] = random.SystemRandom().randrange(2**31)
        if "translations" in changes:
            changes["translations"] = texts.clean_campaign_translations(changes["translations"])
        for key in _UPDATABLE & set(changes):
            setattr(campaign, key, changes[key])
        if campaign.raters_per_item < 1:
            raise ValidationError("raters per item must be at least 1")
        if "presentation" in changes:
            rules = PresentationRules.from_design({"presentation": changes["presentation"]})
            design["presentation"] = rules.as_design()
        if design.get("score_source"):
            # A pre-screened campaign keeps its score bands and rates (set from the judge run).
            if "score_band" not in design["strata"]:
                design["strata"] = [*design["strata"], "score_band"]
            design["allocation"] = "rates"
        guess = changes.get("method_guess", design.get("method_guess", {}).get("enabled", False))
        design["method_guess"] = _method_guess(bool(guess), design["methods"], campaign.seed)
        _design(design, campaign.seed)
        campaign.design = design
        campaign.save()
        if "datasets" in changes:
            campaign.datasets.set(changes["datasets"])
        if changes.get("criteria") is not None:
            criteria = list(changes["criteria"])
            _check_criteria(criteria)
            campaign.criteria.all().delete()
            _criteria_create(campaign=campaign, criteria=criteria)
        if changes.get("experts") is not None:
            campaign_set_experts(campaign=campaign, experts=changes["experts"], actor=actor)
        audit_event_record(
            actor=actor,
            verb="campaign.updated",
            target=campaign,
            campaign=campaign,
            data={"fields": sorted(changes)},
        )
    return campaign


def campaign_delete(*, campaign: Campaign, actor=None) -> None:
    """Delete a draft campaign; a launched one is closed, never deleted (its ratings stay)."""
    with transaction.atomic():
        campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
        if campaign.status != Campaign.Status.DRAFT:
            raise ValidationError("only a draft campaign can be deleted; close it instead")
        audit_event_record(
            actor=actor,
            verb="campaign.deleted",
            target=campaign,
            campaign=None,
            data={"public_id": str(campaign.public_id)},
        )
        campaign.delete()
