"""Presentation rules: how an item's text is shown to experts, chosen per campaign so that a
construction method cannot be recognised by its surface (issue 13).

Stored items are never changed: the rules are applied when an item is presented (the rating page,
the expert API, the owner's preview, the blinding-strength estimate) and recorded with the
campaign's design, so exports can say which were applied.
"""

import re
from dataclasses import dataclass

# Stored in the design in English; the rating page translates them when shown.
from django.utils.translation import gettext_noop as _

# A leading figure label: "Figure 3.", "Fig. 2A:", "FIG 4 -", "Figure S1)", "Figs. 1-2:".
FIGURE_LABEL = re.compile(
    r"^\s*(?:figure|figs?\.?)\s*s?\d+[a-z]?(?:\s*[-\u2013,&]\s*s?\d+[a-z]?)*\s*(?:[.:)\-\u2013\u2014|]\s*)?",
    re.IGNORECASE,
)
# Item kinds that describe the image rather than answer a question about it.
DESCRIPTION_KINDS = ("alignment", "caption")
DEFAULT_STANDARD_QUESTION = "Describe the image."

RULE_KEYS = ("strip_figure_labels", "standard_question", "hide_question")


@dataclass(frozen=True)
class PresentationRules:
    strip_figure_labels: bool = False
    # Shown instead of the stored question for description items, whatever their method.
    standard_question: str = ""
    hide_question: bool = False

    @classmethod
    def from_design(cls, design: dict | None) -> "PresentationRules":
        rules = (design or {}).get("presentation") or {}
        return cls(
            strip_figure_labels=bool(rules.get("strip_figure_labels", False)),
            standard_question=str(rules.get("standard_question") or "")[:500],
            hide_question=bool(rules.get("hide_question", False)),
        )

    def as_design(self) -> dict:
        return {
            "strip_figure_labels": self.strip_figure_labels,
            "standard_question": self.standard_question,
            "hide_question": self.hide_question,
        }

    @property
    def any(self) -> bool:
        return self.strip_figure_labels or bool(self.standard_question) or self.hide_question

    def describe(self) -> list[str]:
        """The rules in words, for pages and exports."""
        out = []
        if self.strip_figure_labels:
            out.append("leading figure labels removed from answers")
        if self.standard_question:
            out.append(f'description items asked "{self.standard_question}"')
        if self.hide_question:
            out.append("question hidden")
        return out


def strip_figure_label(text: str) -> str:
    """``text`` without a leading figure label ("Figure 3. A CT ..." -> "A CT ...")."""
    stripped = FIGURE_LABEL.sub("", text, count=1)
    if stripped == text or not stripped.strip():
        return text  # nothing to strip, or the label was all there was
    return stripped[:1].upper() + stripped[1:]


def present(*, question: str, answer: str, kind: str, rules: PresentationRules) -> tuple[str, str]:
    """The (question, answer) an expert sees for an item under ``rules``."""
    if rules.strip_figure_labels:
        answer = strip_figure_label(answer)
    if rules.hide_question:
        question = ""
    elif rules.standard_question and kind in DESCRIPTION_KINDS:
        question = rules.standard_question
    return question, answer


def presented_text(*, question: str, answer: str, kind: str, rules: PresentationRules) -> str:
    """The whole text an expert reads, as one string (what a blinding classifier is given)."""
    question, answer = present(question=question, answer=answer, kind=kind, rules=rules)
    return f"{question}\n{answer}".strip()


# The experts' own guess of how an item was made: what each method saw, in neutral words (not
# the method's name, which may carry a verdict such as "unblinded").
DONT_KNOW = "dont_know"


def neutral_label(*, sees_image: bool, sees_context: bool) -> str:
    if sees_image and sees_context:
        return _("Written by a model that saw the image and the text around it")
    if sees_image:
        return _("Written by a model from the image alone")
    if sees_context:
        return _("Rewritten from the figure's text by a model that did not see the image")
    return _("The figure's own text, written by the article's authors")


def guess_options(methods, seed: int) -> list[dict]:
    """One option per compared method, under an opaque code ("g1", ...) in an order drawn from
    the campaign's seed; labels that coincide are numbered. ``methods`` are Method rows. The
    method key stays on the owner's side of the design; experts get code and label only."""
    import random

    methods = list(methods)
    random.Random(seed).shuffle(methods)
    options, seen = [], {}
    for n, method in enumerate(methods, start=1):
        label = neutral_label(sees_image=method.sees_image, sees_context=method.sees_context)
        seen[label] = seen.get(label, 0) + 1
        if seen[label] > 1:
            label = f"{label} (variant {seen[label]})"
        options.append({"code": f"g{n}", "method": method.key, "label": label})
    return options


def expert_guess_options(design: dict) -> list[dict]:
    """What the rating page offers (code and label only), or [] when guesses are not asked."""
    guess = (design or {}).get("method_guess") or {}
    if not guess.get("enabled"):
        return []
    return [{"code": o["code"], "label": o["label"]} for o in guess.get("options", [])]
