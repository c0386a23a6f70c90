"""The model judge: a model scores items on criteria, through the same backends, egress checks
and gpu queue as generations. Two scopes:

* a launched campaign's items on the campaign's criteria, so the owner can measure how far such
  a judge can be trusted against the experts (the comparison is the analysis's:
  audit/stats/judge.py); the judge sees what the experts see: the item's text under the
  campaign's presentation rules and, where the model accepts images, the images;
* every item of a dataset on criteria given at creation (default: the campaign template's,
  audit.campaigns.criteria), to pre-screen the dataset: a campaign sampled by judge score band
  (audit.regeneration.prescreen); the items are shown as stored.

``judge_run_execute`` is idempotent: it scores only the items the run has no row for, so a
redelivered or resumed task never scores twice.
"""

from __future__ import annotations

import json
import re
from types import SimpleNamespace

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone

from audit.campaigns.criteria import DEFAULT_CRITERIA
from audit.campaigns.models import Campaign
from audit.campaigns.presentation import PresentationRules, present
from audit.core.services import audit_event_record
from audit.core.tasks import enqueue_on_commit
from audit.datasets.images import ImageUnavailable, image_file
from audit.datasets.models import Dataset, Item, SourcePairImage
from audit.regeneration import egress
from audit.regeneration.backends import BackendUnavailable, get_backend
from audit.regeneration.methods import JSON, Request, data_url
from audit.regeneration.models import JudgeRun, JudgeScore, RegenerationJob

BATCH = 64


def default_prompt(campaign: Campaign | None = None, *, criteria=None) -> str:
    """The judge's instructions, written from the criteria (the campaign's, or the given ones:
    objects or dicts with key, name, question, scale_min, scale_max, anchors) and anchors."""
    criteria = (
        list(campaign.criteria.order_by("position", "pk"))
        if campaign is not None
        else [_criterion(c) for c in (criteria or DEFAULT_CRITERIA)]
    )
    lines = [
        "You are a medical expert auditing training data for medical visual question "
        "answering. You are shown a medical image (when available) and a question with its "
        "answer. Score the answer on each criterion below, on the criterion's scale.",
        "",
    ]
    for c in criteria:
        lines.append(f'- "{c.key}" ({c.name}), {c.scale_min} to {c.scale_max}: {c.question}')
        for point, text in sorted((c.anchors or {}).items(), key=lambda kv: str(kv[0])):
            lines.append(f"    {point} = {text}")
    keys = ", ".join(f'"{c.key}": <whole number>' for c in criteria)
    lines += ["", f"Answer with one JSON object and nothing else: {{{keys}}}"]
    return "\n".join(lines)


def _criterion(c) -> SimpleNamespace:
    if not isinstance(c, dict):
        return c
    return SimpleNamespace(
        key=c["key"], name=c.get("name") or c["key"], question=c.get("question", ""),
        scale_min=c.get("scale_min", 1), scale_max=c.get("scale_max", 5),
        anchors=c.get("anchors") or {},
    )  # fmt: skip


def _clean_criteria(criteria) -> list[dict]:
    """A dataset run's criteria, checked like a campaign's (unique keys, integer scales)."""
    out = []
    for c in criteria:
        if not isinstance(c, dict) or not isinstance(c.get("key"), str) or not c["key"].strip():
            raise ValidationError({"criteria": "Each criterion needs a key."})
        low, high = c.get("scale_min", 1), c.get("scale_max", 5)
        if not (isinstance(low, int) and isinstance(high, int) and low < high <= low + 20):
            raise ValidationError(
                {"criteria": f"{c['key']}: the scale must be integers, min < max"}
            )
        out.append({"key": c["key"].strip(), "name": c.get("name") or c["key"],
                    "question": c.get("question", ""), "scale_min": low, "scale_max": high,
                    "anchors": c.get("anchors") or {}})  # fmt: skip
    keys = [c["key"] for c in out]
    if not out or len(set(keys)) != len(keys):
        raise ValidationError({"criteria": "At least one criterion, with distinct keys."})
    return out


def run_criteria(run: JudgeRun) -> list:
    """The criteria the run scores on, in order."""
    if run.campaign_id:
        return list(run.campaign.criteria.order_by("position", "pk"))
    return [_criterion(c) for c in run.criteria]


def judge_run_create(
    *,
    campaign: Campaign | None = None,
    dataset: Dataset | None = None,
    created_by,
    model: str,
    base_url: str = "",
    backend: str = "openai",
    prompt: str = "",
    parameters: dict | None = None,
    criteria=None,
    start: bool = True,
) -> JudgeRun:
    """A judge run over a launched ``campaign``'s items, or over every item of ``dataset`` on
    ``criteria`` (default: the campaign template's, audit.campaigns.criteria)."""
    if (campaign is None) == (dataset is None):
        raise ValidationError("A judge run scores either a campaign or a dataset.")
    if campaign is not None and campaign.status in (
        Campaign.Status.DRAFT,
        Campaign.Status.LAUNCHING,
    ):
        raise ValidationError("Launch the campaign first: the judge scores its sampled items.")
    if not model.strip():
        raise ValidationError({"model": "Name the model."})
    if backend not in RegenerationJob.Backend.values:
        raise ValidationError({"backend": "openai or vllm."})
    if base_url:
        try:
            egress.check(base_url, require_resolution=False)
        except egress.UnsafeURL as exc:
            raise ValidationError({"base_url": str(exc)}) from None
    if dataset is not None:
        criteria = _clean_criteria(DEFAULT_CRITERIA if criteria is None else criteria)
        n_items = Item.objects.filter(dataset=dataset).count()
        if not n_items:
            raise ValidationError("The dataset has no items to score.")
        default = default_prompt(criteria=criteria)
    else:
        criteria, n_items, default = [], campaign.items.count(), default_prompt(campaign)
    with transaction.atomic():
        run = JudgeRun.objects.create(
            campaign=campaign, dataset=dataset, criteria=criteria, created_by=created_by,
            backend=backend, base_url=base_url.rstrip("/"), model=model.strip(),
            parameters=parameters or {}, prompt=prompt.strip() or default, n_items=n_items,
        )  # fmt: skip
        audit_event_record(
            actor=created_by, verb="judge.created", target=run, campaign=campaign,
            data={"model": run.model, "base_url": run.base_url, "backend": backend,
                  "scope": run.scope, "dataset": dataset.pk if dataset else None},
        )  # fmt: skip
    if start:
        from audit.regeneration.tasks import run_judge

        enqueue_on_commit(run_judge, run.pk)
    return run


def parse_scores(text: str, criteria) -> dict[str, int]:
    """The first JSON object in ``text``, checked: a whole number on each criterion's scale."""
    match = re.search(r"\{.*\}", text or "", re.DOTALL)
    if match is None:
        raise ValueError("no JSON object in the answer")
    try:
        data = json.loads(match.group(0))
    except json.JSONDecodeError as exc:
        raise ValueError(f"not JSON: {exc.msg}") from None
    if not isinstance(data, dict):
        raise ValueError("the answer is not a JSON object")
    out = {}
    for c in criteria:
        value = data.get(c.key)
        if isinstance(value, str) and value.strip().lstrip("-").isdigit():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"no whole-number score for {c.key!r}")
        if not c.scale_min <= value <= c.scale_max:
            raise ValueError(f"{c.key} = {value} is off the scale {c.scale_min}-{c.scale_max}")
        out[c.key] = value
    return out


def _request(run: JudgeRun, unit: int, item, rules: PresentationRules, images) -> Request:
    """The judge's request; with no image, the user message is plain text (chat templates of
    text-only models take no content parts)."""
    question, answer = present(question=item.question, answer=item.answer, kind=item.kind,
                               rules=rules)  # fmt: skip
    text = (f"Question: {question}\n\n" if question else "") + f"Answer: {answer}"
    content = []
    for image in images:
        try:  # the store's copy or an --in-place file; a missing one is left out, as before
            data = image_file(image).read_bytes()
        except ImageUnavailable:
            continue
        content.append({"type": "image_url", "image_url": {"url": data_url(image.format, data)}})
    content.append({"type": "text", "text": text})
    user = content if len(content) > 1 else text
    messages = [{"role": "system", "content": run.prompt}, {"role": "user", "content": user}]
    return Request(item.source_pair_id, "judge", messages, JSON, "", {"unit": unit})


def _finish(run: JudgeRun) -> None:
    counts = JudgeScore.objects.filter(run=run).aggregate(
        scored=Count("pk", filter=Q(error="")), failed=Count("pk", filter=~Q(error=""))
    )
    run.n_scored, run.n_failed = counts["scored"], counts["failed"]
    if run.n_items and run.n_failed >= run.n_items:
        run.status = JudgeRun.Status.FAILED
        example = (
            JudgeScore.objects.filter(run=run).exclude(error="").values_list("error", flat=True)
        ).first() or ""
        run.error = f"every item failed, e.g.: {example}"
    elif run.n_failed:
        run.status = JudgeRun.Status.PARTLY_FAILED
    else:
        run.status = JudgeRun.Status.SUCCEEDED
    run.finished_at = timezone.now()
    run.save(update_fields=["n_failed", "n_scored", "status", "error", "finished_at"])


def _todo(run: JudgeRun) -> list[int]:
    """The ids (campaign items, or dataset items) the run has not scored yet, in order."""
    if run.campaign_id:
        done = JudgeScore.objects.filter(run=run).values("campaign_item_id")
        return list(
            run.campaign.items.exclude(pk__in=done).order_by("pk").values_list("pk", flat=True)
        )
    done = JudgeScore.objects.filter(run=run, item__isnull=False).values("item_id")
    rows = Item.objects.filter(dataset_id=run.dataset_id).exclude(pk__in=done).order_by("pk")
    return list(rows.values_list("pk", flat=True))


def _units(run: JudgeRun, ids: list[int]) -> list[tuple[int, Item]]:
    """(unit id, item) of a batch: campaign items (their item) or dataset items."""
    if run.campaign_id:
        rows = run.campaign.items.filter(pk__in=ids).select_related("item").order_by("pk")
        return [(ci.pk, ci.item) for ci in rows]
    return [(item.pk, item) for item in Item.objects.filter(pk__in=ids).order_by("pk")]


def judge_run_execute(*, run_id: int, backend=None, limit: int | None = None) -> JudgeRun:
    """Score every item of the run's campaign or dataset that the run has not scored yet; with
    ``limit``, at most that many, leaving the run ``running`` when some are left (the task then
    queues the next chunk: a dataset's run is never one task holding every item)."""
    run = JudgeRun.objects.select_related("campaign").get(pk=run_id)
    if run.status in (JudgeRun.Status.SUCCEEDED, JudgeRun.Status.FAILED):
        return run
    JudgeRun.objects.filter(pk=run.pk).update(status=JudgeRun.Status.RUNNING)
    run.status = JudgeRun.Status.RUNNING
    criteria = run_criteria(run)
    rules = PresentationRules.from_design(run.campaign.design if run.campaign_id else {})
    unit_field = "campaign_item_id" if run.campaign_id else "item_id"
    try:
        backend = backend or get_backend(run)
    except BackendUnavailable as exc:
        run.status, run.error, run.finished_at = JudgeRun.Status.FAILED, str(exc), timezone.now()
        run.save(update_fields=["status", "error", "finished_at"])
        return run
    todo = _todo(run)
    more = limit is not None and len(todo) > limit
    todo = todo[:limit] if more else todo
    for start in range(0, len(todo), BATCH):
        batch = _units(run, todo[start : start + BATCH])
        images: dict[int, list] = {}
        for link in (
            SourcePairImage.objects.filter(
                source_pair_id__in={item.source_pair_id for _u, item in batch}
            )
            .select_related("image")
            .order_by("position")
        ):
            images.setdefault(link.source_pair_id, []).append(link.image)
        requests = [
            _request(run, unit, item, rules, images.get(item.source_pair_id, []))
            for unit, item in batch
        ]
        results = {r.index: r for r in backend.generate(requests)}
        refused = [i for i, r in results.items() if r.cause == "no_images"]
        if refused:  # a text-only model: those items are judged on their text alone
            text_only = [_request(run, *batch[i], rules, []) for i in refused]
            for again in backend.generate(text_only):
                results[refused[again.index]] = again
            note = "The model takes no images: items were judged on their text alone."
            if note not in run.notes:
                run.notes = note
                JudgeRun.objects.filter(pk=run.pk).update(notes=note)
        for i, result in results.items():
            unit = batch[i][0]
            row = {"raw": result.text[:4000]}
            if result.error:
                row["error"] = result.error
            else:
                try:
                    row["scores"] = parse_scores(result.text, criteria)
                except ValueError as exc:
                    row["error"] = f"unreadable answer: {exc}"
            # get_or_create: a redelivered task may have scored it meanwhile.
            JudgeScore.objects.get_or_create(run=run, **{unit_field: unit}, defaults=row)
    if hasattr(backend, "close"):
        backend.close()
    if not more:
        _finish(run)
    return run
