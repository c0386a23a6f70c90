import pytest

from audit.datasets.models import Method

pytestmark = pytest.mark.django_db


def test_builtin_methods_exist_with_what_they_see():
    methods = {m.key: m for m in Method.objects.filter(builtin=True)}
    assert set(methods) == {"native_caption", "llm_reformatted", "mllm_distill", "mllm_reformatted"}
    assert all(m.description for m in methods.values())
    sees = {key: (m.sees_image, m.sees_context) for key, m in methods.items()}
    assert sees["llm_reformatted"] == (False, True)  # text-only: caption + context, no image
    assert sees["mllm_distill"] == (True, False)  # image only
    assert sees["mllm_reformatted"] == (True, True)  # PubMedVision: image + caption + context
