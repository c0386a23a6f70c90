"""The construction methods of the PubMedVision paper (HuatuoGPT-Vision, EMNLP 2024)."""

from django.db import migrations

BUILTIN_METHODS = [
    {
        "key": "native_caption",
        "name": "Native caption",
        "description": "No model: the paper's own caption and inline context become the "
        "description, paired with a standard question.",
        "sees_image": False,
        "sees_context": True,
    },
    {
        "key": "llm_reformatted",
        "name": "LLM reformatted (LLaVA-Med style)",
        "description": "A text-only model gets the caption and context, not the image, and writes "
        "a description as if it saw the image, without mentioning a caption or context.",
        "sees_image": False,
        "sees_context": True,
    },
    {
        "key": "mllm_distill",
        "name": "MLLM distilled (ShareGPT4V / ALLaVA style)",
        "description": "A multimodal model gets the image only and describes it "
        "('Please provide a description of the given medical image').",
        "sees_image": True,
        "sees_context": False,
    },
    {
        "key": "mllm_reformatted",
        "name": "MLLM reformatted (PubMedVision, unblinded)",
        "description": "A multimodal model gets the image(s) and the caption and context as a "
        "reference it must not mention, and writes a description, a question and an answer.",
        "sees_image": True,
        "sees_context": True,
    },
]


def create_methods(apps, schema_editor):
    Method = apps.get_model("datasets", "Method")
    for spec in BUILTIN_METHODS:
        Method.objects.update_or_create(key=spec["key"], defaults={**spec, "builtin": True})


def remove_methods(apps, schema_editor):
    Method = apps.get_model("datasets", "Method")
    Method.objects.filter(key__in=[m["key"] for m in BUILTIN_METHODS], items__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [("datasets", "0001_initial")]
    operations = [migrations.RunPython(create_methods, remove_methods)]
