"""Demo data: a synthetic PubMedVision-like dataset (every built-in method for each source pair)
and demo accounts. Later layers add a demo campaign and ratings."""

import json
import random
import shutil
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
OWNER_PERMISSIONS = [
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
            content_type__app_label="datasets", codename__in=OWNER_PERMISSIONS
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


def seed_demo(*, n_pairs: int = 120, seed: int = 2024, log=print) -> None:
    """Create the demo accounts and the demo dataset (idempotent)."""
    ensure_accounts()
    if Dataset.objects.filter(name=DEMO_DATASET).exists():
        log(f"Demo dataset {DEMO_DATASET!r} already present.")
        return
    folder = settings.VAR_DIR / "demo-data"
    shutil.rmtree(folder, ignore_errors=True)
    paths = synthetic.write_pubmedvision(folder, n_pairs, seed=seed)
    pairs = list(synthetic.source_pairs(n_pairs, seed))
    rng = random.Random(seed)
    files: list[tuple[Path, str, str | None]] = [
        (paths["caption"], "pubmedvision", None),
        (paths["alignment"], "pubmedvision", None),
        (paths["instruction"], "pubmedvision", None),
    ]
    for method in ("llm_reformatted", "mllm_distill"):
        target = folder / f"{method}.json"
        target.write_text(json.dumps(_llava_records(pairs, method, rng)))
        files.append((target, "llava", method))
    owner = get_user_model().objects.get(username="owner")
    with transaction.atomic():
        for path, fmt, method in files:
            summary = dataset_import(
                path=path,
                dataset_name=DEMO_DATASET,
                fmt=fmt,
                method_key=method,
                image_sources=[paths["images"]],
                owner=owner,
            )
            log(f"  {path.name}: {summary.items_created} items, {summary.images_stored} new images")
