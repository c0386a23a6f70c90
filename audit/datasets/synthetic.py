"""Synthetic data in the real PubMedVision schema: for the demo and the import benchmark.

Images are drawn procedurally with Pillow (no downloads): grey-scale scans with organ-like
ellipses and noise for CT/MRI/X-ray, colour blobs for histology and dermatology.
"""

import io
import json
import random
import zipfile
from collections.abc import Iterator
from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter

MODALITIES = {
    "Computed Tomography": ["Chest", "Abdomen", "Head", "Pelvic Cavity"],
    "Magnetic Resonance Imaging": ["Brain", "Spine", "Knee", "Abdomen"],
    "Digital Photography": ["Skin", "Oral Cavity", "Eye"],
    "Microscopy Images": ["Cell", "Tissue", "Lymph Node"],
    "X-Ray": ["Chest", "Hand", "Pelvis"],
    "Ultrasound": ["Abdomen", "Heart", "Thyroid"],
}
FINDINGS = [
    "a well-circumscribed hypodense lesion",
    "diffuse ground-glass opacities",
    "a hyperintense signal in the white matter",
    "cortical thickening with periosteal reaction",
    "an irregular mass with central necrosis",
    "scattered nodular densities",
    "marked enhancement after contrast administration",
    "clusters of atypical cells with enlarged nuclei",
    "a fluid collection with layering debris",
    "no acute abnormality",
]
LOCATIONS = [
    "right upper lobe",
    "left lobe",
    "posterior fossa",
    "distal segment",
    "midline",
    "lateral margin",
    "anterior wall",
    "inferior pole",
]
DESCRIBE_QUESTIONS = [
    "Please describe this picture.",
    "What can you see in this image?",
    "Describe the medical image in detail.",
    "Please provide a description of the given medical image.",
]
SCENARIOS = [
    ("What abnormality is visible in the {part} on this {mod} image?", "standard Q&A"),
    (
        "As a radiologist, I need a second opinion: what do you see in the {part}?",
        "AI assisting a doctor",
    ),
    (
        "My doctor showed me this {mod} scan of my {part}. What does it mean?",
        "AI assisting a patient",
    ),
    ("Colleague, how would you report the {part} findings on this {mod}?", "doctor to doctor"),
    ("Teacher, which features of this {mod} image should I notice?", "teacher and student"),
]


def _sentence(rng: random.Random, mod: str, part: str) -> str:
    return (
        f"The {mod.lower()} image of the {part.lower()} shows {rng.choice(FINDINGS)} in the "
        f"{rng.choice(LOCATIONS)}, measuring approximately {rng.randint(4, 60)} mm."
    )


def paragraph(rng: random.Random, mod: str, part: str, sentences: int) -> str:
    return " ".join(_sentence(rng, mod, part) for _ in range(sentences))


def draw_image(rng: random.Random, modality: str, size: int = 384) -> bytes:
    """A medical-looking picture as PNG bytes."""
    if modality in ("Digital Photography", "Microscopy Images"):
        base = (rng.randint(200, 240), rng.randint(170, 210), rng.randint(190, 230))
        im = Image.new("RGB", (size, size), base)
        draw = ImageDraw.Draw(im)
        for _ in range(rng.randint(30, 90)):
            r = rng.randint(4, 22)
            x, y = rng.randint(0, size), rng.randint(0, size)
            colour = (rng.randint(90, 170), rng.randint(30, 90), rng.randint(110, 190))
            draw.ellipse((x - r, y - r, x + r, y + r), fill=colour)
        im = im.filter(ImageFilter.GaussianBlur(1.2))
    else:
        im = Image.new("L", (size, size), 8)
        draw = ImageDraw.Draw(im)
        cx, cy = size // 2, size // 2
        draw.ellipse(
            (cx - size * 0.42, cy - size * 0.36, cx + size * 0.42, cy + size * 0.36),
            fill=rng.randint(70, 110),
        )
        for _ in range(rng.randint(3, 7)):
            w, h = rng.randint(size // 12, size // 4), rng.randint(size // 12, size // 4)
            x, y = rng.randint(size // 5, size * 3 // 5), rng.randint(size // 5, size * 3 // 5)
            draw.ellipse((x, y, x + w, y + h), fill=rng.randint(120, 230))
        noise = Image.effect_noise((size, size), rng.randint(12, 30))
        im = Image.blend(im, noise, 0.15).filter(ImageFilter.GaussianBlur(1.5))
    out = io.BytesIO()
    im.save(out, "PNG", optimize=False)
    return out.getvalue()


def source_pairs(n_pairs: int, seed: int, *, max_images: int = 3) -> Iterator[dict]:
    """Source pairs: image paths, modality, body part, caption."""
    rng = random.Random(seed)
    for i in range(n_pairs):
        mod = rng.choice(list(MODALITIES))
        part = rng.choice(MODALITIES[mod])
        n_images = 1 if rng.random() < 0.7 else rng.randint(2, max_images)
        images = [f"images/pmc_{seed}_{i}_{j}.png" for j in range(n_images)]
        caption = f"Figure {rng.randint(1, 9)}. " + paragraph(rng, mod, part, rng.randint(1, 3))
        yield {
            "id": f"pmc_{seed}_{i}",
            "image": images,
            "modality": mod,
            "body_part": part,
            "caption": caption,
            "rng": rng.random(),
        }


def vqa_records(pair: dict, rng: random.Random) -> tuple[dict, dict]:
    """One alignment and one instruction record for a source pair (PubMedVision schema)."""
    mod, part = pair["modality"], pair["body_part"]
    describe = rng.choice(DESCRIBE_QUESTIONS)
    if len(pair["image"]) > 1:
        describe = "Please describe these images." if rng.random() < 0.5 else describe
    alignment = {
        "id": pair["id"],
        "image": pair["image"],
        "conversations": [
            {"from": "human", "value": describe},
            {"from": "gpt", "value": paragraph(rng, mod, part, rng.randint(4, 8))},
        ],
        "modality": mod,
        "body_part": part,
    }
    template, _scenario = rng.choice(SCENARIOS)
    instruction = {
        "id": pair["id"],
        "image": pair["image"],
        "conversations": [
            {"from": "human", "value": template.format(part=part.lower(), mod=mod)},
            {"from": "gpt", "value": paragraph(rng, mod, part, rng.randint(3, 6))},
        ],
        "modality": mod,
        "body_part": part,
    }
    return alignment, instruction


def caption_record(pair: dict) -> dict:
    return {
        "id": pair["id"],
        "image": pair["image"],
        "modality": pair["modality"],
        "body_part": pair["body_part"],
        "Original_Caption": pair["caption"],
    }


def write_pubmedvision(out_dir: Path, n_pairs: int, *, seed: int = 7, images: bool = True) -> dict:
    """Write the three PubMedVision files (and images_0.zip) for ``n_pairs`` source pairs."""
    out_dir.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed + 1)
    pairs = list(source_pairs(n_pairs, seed))
    alignment, instruction = zip(*(vqa_records(p, rng) for p in pairs), strict=True)
    paths = {
        "alignment": out_dir / "PubMedVision_Alignment_VQA.json",
        "instruction": out_dir / "PubMedVision_InstructionTuning_VQA.json",
        "caption": out_dir / "PubMedVision_Original_Caption.json",
    }
    paths["alignment"].write_text(json.dumps(list(alignment), indent=1))
    paths["instruction"].write_text(json.dumps(list(instruction), indent=1))
    paths["caption"].write_text(json.dumps([caption_record(p) for p in pairs], indent=1))
    if images:
        paths["images"] = out_dir / "images_0.zip"
        with zipfile.ZipFile(paths["images"], "w", zipfile.ZIP_STORED) as zf:
            for p in pairs:
                for path in p["image"]:
                    zf.writestr(path, draw_image(rng, p["modality"]))
    return paths
