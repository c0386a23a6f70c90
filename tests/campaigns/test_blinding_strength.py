"""Blinding strength and presentation rules on a seeded synthetic campaign: one method whose
answers always start with "Figure N." is recognised far above chance; with the strip rule the
methods are indistinguishable again (accuracy near chance)."""

import numpy as np
import pytest

from audit.campaigns.blinding import blinding_strength
from audit.campaigns.presentation import (
    PresentationRules,
    present,
    presented_text,
    strip_figure_label,
)

WORDS = [
    "axial", "contrast", "enhanced", "lesion", "margin", "hepatic", "renal", "cortical", "cyst",
    "nodule", "opacity", "consolidation", "effusion", "mass", "enhancement", "density", "region",
    "lobe", "segment", "border",
]  # fmt: skip
METHODS = ["native_caption", "llm_reformatted", "mllm_distill", "mllm_reformatted"]


def synthetic_campaign(n_pairs=90, seed=7):
    """Four methods per source pair; every text drawn from the same words, whatever its method;
    only native captions carry a leading figure label."""
    rng = np.random.default_rng(seed)
    texts, methods, groups = [], [], []
    for pair in range(n_pairs):
        for method in METHODS:
            body = " ".join(rng.choice(WORDS, 14)) + "."
            if method == "native_caption":
                body = f"Figure {rng.integers(1, 9)}. {body.capitalize()}"
            texts.append(body)
            methods.append(method)
            groups.append(pair)
    return texts, methods, groups


def test_a_figure_label_gives_a_method_away_and_the_strip_rule_hides_it():
    texts, methods, groups = synthetic_campaign()
    before = blinding_strength(texts, methods, groups, seed=1)
    assert before.chance == pytest.approx(0.25)
    # The labelled method is always recognised; the other three are guessed among themselves.
    assert before.per_method["native_caption"] > 0.85
    assert before.accuracy > 0.40
    assert any(g.method == "native_caption" and "figure" in g.feature for g in before.giveaways)

    rules = PresentationRules(strip_figure_labels=True)
    stripped = [presented_text(question="", answer=t, kind="vqa", rules=rules) for t in texts]
    after = blinding_strength(stripped, methods, groups, seed=1)
    assert after.accuracy < 0.34  # near the 0.25 of chance
    assert after.lift < 0.12
    assert before.lift > 0.2


def test_too_few_items_says_why():
    result = blinding_strength(["a b", "c d"], ["x", "y"])
    assert result.accuracy is None and "at least" in result.reason


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Figure 3. A CT of the chest.", "A CT of the chest."),
        ("Fig. 2A: axial MRI shows a mass.", "Axial MRI shows a mass."),
        ("FIG 4 - Ultrasound of the liver", "Ultrasound of the liver"),
        ("Figs. 1-2: Bilateral effusions.", "Bilateral effusions."),
        ("Figure S1) Supplementary view", "Supplementary view"),
        ("Figure 3.", "Figure 3."),  # the label is all there is: kept
        ("A figure 3 shows", "A figure 3 shows"),  # not leading
        ("Figurative description", "Figurative description"),
    ],
)
def test_strip_figure_label(text, expected):
    assert strip_figure_label(text) == expected


def test_rules_apply_to_what_is_presented_only():
    rules = PresentationRules(standard_question="Describe the image.", strip_figure_labels=True)
    assert present(question="Teacher, what is this?", answer="Figure 1. X.", kind="caption",
                   rules=rules) == ("Describe the image.", "X.")  # fmt: skip
    # A VQA item keeps its own question.
    assert present(question="Where is the lesion?", answer="Left.", kind="vqa", rules=rules) == (
        "Where is the lesion?", "Left.")  # fmt: skip
    hidden = PresentationRules(hide_question=True)
    assert present(question="Q?", answer="A.", kind="vqa", rules=hidden) == ("", "A.")
    assert PresentationRules.from_design({"presentation": rules.as_design()}) == rules
    assert PresentationRules.from_design({}) == PresentationRules()
