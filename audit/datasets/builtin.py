"""The construction methods of the PubMedVision paper (HuatuoGPT-Vision, EMNLP 2024).

Created by migration 0002 and kept present after every ``migrate`` and ``flush`` (post_migrate),
the way Django keeps content types and permissions.
"""

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


def ensure_builtin_methods(method_model) -> None:
    """Create the built-in methods that are missing (``method_model`` may be a historical model)."""
    for spec in BUILTIN_METHODS:
        method_model.objects.get_or_create(key=spec["key"], defaults={**spec, "builtin": True})
