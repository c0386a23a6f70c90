import io
import json
import zipfile
from pathlib import Path

import pytest
from PIL import Image as PILImage

from audit.datasets import synthetic


@pytest.fixture(autouse=True)
def _isolated_files(settings, tmp_path):
    """Each test gets its own image store and upload folder."""
    settings.IMAGE_STORE_DIR = tmp_path / "store"
    settings.UPLOAD_DIR = tmp_path / "uploads"


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
