"""Demo data: a synthetic PubMedVision-like dataset (every built-in method for each source pair)
and demo accounts. Later layers add a demo campaign and ratings."""

import json
import random
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.db import transaction

from audit.datasets import synthetic
from audit.datasets.models import Dataset
from audit.datasets.services import dataset_import

DEMO_DATASET = "PubMedVision demo"
OWNERS_GROUP = "Campaign owners"
DEMO_CAMPAIGN = "PubMedVision check (demo)"
OWNER_PERMISSIONS = [
    "view_campaign",
    "add_campaign",
    "change_campaign",
    "view_criterion",
    "view_membership",
    "view_campaignitem",
    "view_assignment",
    "view_dataset",
    "change_dataset",
    "view_item",
    "view_sourcepair",
    "view_image",
    "view_method",
    "add_method",
    "change_method",
    "view_importjob",
    "add_importjob",
    "view_auditevent",
]


@dataclass(frozen=True)
class DemoAccount:
    username: str
    password: str
    role: str


DEMO_ACCOUNTS = [
    DemoAccount("admin", "admin-demo-pass", "staff superuser"),
    DemoAccount("owner", "owner-demo-pass", "campaign owner"),
    DemoAccount("expert1", "expert1-demo-pass", "expert"),
    DemoAccount("expert2", "expert2-demo-pass", "expert"),
    DemoAccount("expert3", "expert3-demo-pass", "expert"),
]


def owners_group() -> Group:
    group, _ = Group.objects.get_or_create(name=OWNERS_GROUP)
    group.permissions.set(
        Permission.objects.filter(
            content_type__app_label__in=["datasets", "campaigns", "core"],
            codename__in=OWNER_PERMISSIONS,
        )
    )
    return group


def ensure_accounts() -> None:
    User = get_user_model()
    group = owners_group()
    for account in DEMO_ACCOUNTS:
        user, created = User.objects.get_or_create(username=account.username)
        if created:
            user.set_password(account.password)
            user.email = f"{account.username}@example.org"
        user.is_staff = account.role != "expert"
        user.is_superuser = account.username == "admin"
        user.save()
        if account.role == "campaign owner":
            user.groups.add(group)


def _llava_records(pairs: list[dict], method: str, rng: random.Random) -> list[dict]:
    records = []
    for pair in pairs:
        mod, part = pair["modality"], pair["body_part"]
        if method == "mllm_distill":
            question = "<image>\nPlease provide a description of the given medical image."
        else:
            question = "<image>\n" + rng.choice(synthetic.DESCRIBE_QUESTIONS)
        answer = synthetic.paragraph(rng, mod, part, rng.randint(3, 7))
        records.append(
            {
                "id": pair["id"],
                "image": pair["image"],
                "modality": mod,
                "body_part": part,
                "conversations": [
                    {"from": "human", "value": question},
                    {"from": "gpt", "value": answer},
                ],
            }
        )
    return records


DemoFile = tuple[Path, str, str | None]  # path, import format, method key (None: from the file)


def write_demo_files(*, folder: Path, n_pairs: int, seed: int) -> tuple[list[DemoFile], Path]:
    """Write a synthetic PubMedVision-like dataset under ``folder``: the three PubMedVision files
    and a LLaVA file per other built-in method, so every source pair gets an item from every
    method (mllm_reformatted gives two: alignment and instruction). Returns the files to import
    and the images zip."""
    shutil.rmtree(folder, ignore_errors=True)
    paths = synthetic.write_pubmedvision(folder, n_pairs, seed=seed)
    pairs = list(synthetic.source_pairs(n_pairs, seed))
    rng = random.Random(seed)
    files: list[DemoFile] = [
        (paths["caption"], "pubmedvision", None),
        (paths["alignment"], "pubmedvision", None),
        (paths["instruction"], "pubmedvision", None),
    ]
    for method in ("llm_reformatted", "mllm_distill"):
        target = folder / f"{method}.json"
        target.write_text(json.dumps(_llava_records(pairs, method, rng)))
        files.append((target, "llava", method))
    return files, paths["images"]


def import_demo_files(
    files: list[DemoFile], images: Path, *, owner, name: str = DEMO_DATASET, log=None
) -> Dataset:
    """Import ``files`` (from ``write_demo_files``) into one dataset, all or nothing."""
    with transaction.atomic():
        for path, fmt, method in files:
            summary = dataset_import(
                path=path,
                dataset_name=name,
                fmt=fmt,
                method_key=method,
                image_sources=[images],
                owner=owner,
            )
            if log:
                log(f"  {path.name}: {summary.items_created} items, {summary.images_stored} images")
    return Dataset.objects.get(name=name)


def import_demo_dataset(
    *, folder: Path, n_pairs: int, seed: int, owner, name: str = DEMO_DATASET, log=None
) -> Dataset:
    """Write the synthetic dataset under ``folder`` and import it (see ``write_demo_files``)."""
    files, images = write_demo_files(folder=folder, n_pairs=n_pairs, seed=seed)
    return import_demo_files(files, images, owner=owner, name=name, log=log)


def seed_demo(*, n_pairs: int = 120, seed: int = 2024, log=print) -> None:
    """Create the demo accounts and the demo dataset (idempotent)."""
    ensure_accounts()
    if Dataset.objects.filter(name=DEMO_DATASET).exists():
        log(f"Demo dataset {DEMO_DATASET!r} already present.")
        return
    owner = get_user_model().objects.get(username="owner")
    dataset = import_demo_dataset(
        folder=settings.VAR_DIR / "demo-data", n_pairs=n_pairs, seed=seed, owner=owner, log=log
    )
    campaign = create_demo_campaign(dataset=dataset, owner=owner, seed=seed)
    log(f"Demo campaign {campaign.name!r}: {campaign.items.count()} items, some already rated.")


# How good each construction method's text is in the simulation: the demo's ratings then show
# the ordering the PubMedVision paper reported, with rater noise and severity.
SIMULATED_QUALITY = {
    "native_caption": 2.6,
    "llm_reformatted": 3.1,
    "mllm_distill": 3.3,
    "mllm_reformatted": 4.1,
}


def create_demo_campaign(*, dataset: Dataset, owner, seed: int, rated_pairs: int = 30):
    """The PubMedVision-check template over the demo data, launched, with simulated ratings of
    the first ``rated_pairs`` source pairs by all three experts, and a first analysis."""
    from annotations.services import rating_submit
    from audit.campaigns.models import Assignment
    from audit.campaigns.services import campaign_launch, pubmedvision_check_create

    User = get_user_model()
    experts = [User.objects.get(username=f"expert{i}") for i in (1, 2, 3)]
    specialties = ["Radiology", "Pathology", "Dermatology"]
    campaign = pubmedvision_check_create(
        name=DEMO_CAMPAIGN,
        created_by=owner,
        datasets=[dataset],
        experts=list(zip(experts, specialties, strict=True)),
        seed=seed,
    )
    campaign = campaign_launch(campaign=campaign)
    criteria = list(campaign.criteria.all())
    rng = random.Random(seed)
    # All three experts rate the same first source pairs (every method of each), so agreement
    # and the method comparison have something to show; the rest is left to rate.
    pairs = sorted(set(campaign.items.values_list("source_pair_id", flat=True)))
    pairs = pairs[: max(1, min(rated_pairs, len(pairs) // 2))]
    severity = {expert.pk: s for expert, s in zip(experts, (0.0, -0.4, 0.3), strict=True)}
    queue = (
        Assignment.objects.filter(campaign=campaign, campaign_item__source_pair_id__in=pairs)
        .select_related("campaign_item__method", "expert")
        .order_by("expert_id", "position")
    )
    for assignment in queue:
        quality = SIMULATED_QUALITY.get(assignment.campaign_item.method.key, 3.0)
        # One latent quality per item, shared by the raters, plus each rater's noise.
        item_rng = random.Random(seed * 1_000_003 + assignment.campaign_item_id)
        latent = item_rng.gauss(quality, 0.7)
        scores = {
            c.key: min(
                c.scale_max,
                max(c.scale_min, round(rng.gauss(latent + severity[assignment.expert_id], 0.5))),
            )
            for c in criteria
        }
        flags = ["hallucination"] if scores[criteria[0].key] <= 1 else []
        rating_submit(
            assignment=assignment,
            expert=assignment.expert,
            client_id=uuid.UUID(int=rng.getrandbits(128)),
            scores=scores,
            flags=flags,
            active_seconds=rng.uniform(20, 90),
        )
    from audit.reports.analysis.services import analyse_campaign

    analyse_campaign(campaign=campaign)
    seed_demo_reports(campaign=campaign)
    return campaign


def seed_demo_reports(*, campaign) -> None:
    """A weekly quality report (Mondays 07:00 UTC, to the owner; beat runs it) and a first report
    now, so the Reports page has something to show (not mailed at seeding)."""
    from audit.reports.quality.schedules import schedule_save
    from audit.reports.quality.services import quality_report_make

    schedule_save(campaign=campaign, frequency="weekly", day_of_week=1, hour=7, minute=0)
    quality_report_make(campaign=campaign, send=False)
