import io
import json
import zipfile
from pathlib import Path

import pytest
from PIL import Image as PILImage

from audit.datasets import synthetic


def pytest_sessionfinish(session, exitstatus):
    """Remove this run's broker folder (its name carries the process id)."""
    import os
    import shutil

    folder = os.environ.get("AUDIT_BROKER_DIR", "")
    if f"broker-{os.getpid()}" in folder:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(autouse=True)
def _isolated_files(settings, tmp_path):
    """Each test gets its own image store, upload folder and analysis cache."""
    settings.IMAGE_STORE_DIR = tmp_path / "store"
    settings.UPLOAD_DIR = tmp_path / "uploads"
    settings.ANALYSIS_CACHE_DIR = tmp_path / "analysis-cache"


@pytest.fixture(autouse=True)
def _no_queued_analysis_known():
    """What this process remembers of queued analyses (by campaign id, which SQLite reuses
    after a test's rollback) starts empty in each test, as the cache does."""
    from audit.reports.analysis import services

    services._queued_until.clear()


def png_bytes(size=(64, 48), colour=(120, 30, 30)) -> bytes:
    out = io.BytesIO()
    PILImage.new("RGB", size, colour).save(out, "PNG")
    return out.getvalue()


def jpeg_bytes(size=(64, 48), colour=(20, 120, 30)) -> bytes:
    out = io.BytesIO()
    PILImage.new("RGB", size, colour).save(out, "JPEG")
    return out.getvalue()


def write_json(path: Path, records) -> Path:
    path.write_text(json.dumps(records))
    return path


def write_zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


def pmv_record(rid: str, images: list[str], question="What is shown?", answer="A lesion."):
    return {
        "id": rid,
        "image": images,
        "conversations": [{"from": "human", "value": question}, {"from": "gpt", "value": answer}],
        "modality": "Computed Tomography",
        "body_part": "Chest",
    }


@pytest.fixture
def pmv_files(tmp_path):
    """The three PubMedVision files and images_0.zip for 6 source pairs."""
    return synthetic.write_pubmedvision(tmp_path / "pmv", 6, seed=11)


def store_files(settings) -> list[str]:
    root = Path(settings.IMAGE_STORE_DIR)
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def table_counts() -> dict[str, int]:
    from audit.datasets.models import Dataset, Image, Item, SourcePair, SourcePairImage

    return {
        m.__name__: m.objects.count() for m in (Dataset, Image, Item, SourcePair, SourcePairImage)
    }


@pytest.fixture
def rated_dataset(tmp_path):
    """A dataset of 8 source pairs, each with an item from every built-in method, owned by
    ``owner1``; built through the real import service."""
    from audit.site.demo import import_demo_dataset
    from tests.factories import UserFactory

    owner = UserFactory(username="owner1")
    return import_demo_dataset(folder=tmp_path / "demo", n_pairs=8, seed=5, owner=owner,
                               name="Demo set")  # fmt: skip


@pytest.fixture
def launched_campaign(rated_dataset):
    """An active paired campaign: 6 source pairs x 4 methods = 24 items, 3 experts, k=3.

    Returns (campaign, owner, experts). The experts are ``expert_a``..``expert_c``; a fourth
    user ``outsider`` exists and belongs to no campaign.
    """
    from audit.campaigns.services import campaign_create, campaign_launch
    from tests.factories import UserFactory

    experts = [UserFactory(username=f"expert_{c}") for c in "abc"]
    UserFactory(username="outsider")
    owner = rated_dataset.owner
    campaign = campaign_create(
        name="Secret name: PMV vs GPT4V",
        created_by=owner,
        datasets=[rated_dataset],
        methods=["native_caption", "llm_reformatted", "mllm_distill", "mllm_reformatted"],
        n=6,
        raters_per_item=3,
        seed=42,
        experts=experts,
    )
    return campaign_launch(campaign=campaign), owner, experts


# The four built-in construction methods, and the six roles every permission test walks.
METHODS = ["native_caption", "llm_reformatted", "mllm_distill", "mllm_reformatted"]
ROLES = ["anonymous", "expert_here", "expert_elsewhere", "owner_here", "owner_elsewhere", "staff"]
ALLOWED = {"owner_here", "staff"}


def two_owners_world(campaign, owner, experts, *, other_datasets=None, other_methods=METHODS):
    """The six roles around ``campaign`` (of ``owner``, rated by ``experts``): a second owner
    with a draft over ``other_datasets`` (default: the same datasets) and its own expert z, and
    a staff user."""
    from audit.campaigns.services import campaign_create
    from tests.factories import StaffFactory, UserFactory

    owner2 = UserFactory(username="owner2")
    expert_z = UserFactory(username="expert_z")
    other = campaign_create(
        name="Owner two draft",
        created_by=owner2,
        datasets=list(other_datasets or campaign.datasets.all()),
        methods=other_methods,
        n=2,
        experts=[expert_z],
    )
    users = {
        "anonymous": None,
        "expert_here": experts[0],
        "expert_elsewhere": expert_z,
        "owner_here": owner,
        "owner_elsewhere": owner2,
        "staff": StaffFactory(username="staff1"),
    }
    return {"campaign": campaign, "other": other, "users": users, "experts": experts}


@pytest.fixture
def world(launched_campaign):
    """The launched campaign of owner1 (experts a, b, c) and a draft of owner2 (expert z)."""
    return two_owners_world(*launched_campaign)


def launch_small_campaign(dataset, *, experts, raters_per_item, seed, name="Small", **fields):
    """A launched paired campaign over two source pairs x two methods (native caption and
    unblinded reformatting): 4 items, each rated by ``raters_per_item`` of ``experts``."""
    from audit.campaigns.services import campaign_create, campaign_launch

    campaign = campaign_create(
        name=name,
        created_by=dataset.owner,
        datasets=[dataset],
        methods=["native_caption", "mllm_reformatted"],
        n=2,
        raters_per_item=raters_per_item,
        seed=seed,
        experts=experts,
        **fields,
    )
    return campaign_launch(campaign=campaign)
