"""The owner's forms for a judge run over a dataset and for a campaign pre-screened by it."""

import json

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from audit.campaigns.criteria import DEFAULT_CRITERIA
from audit.datasets.selectors import datasets_visible_to
from audit.regeneration.models import JudgeRun, RegenerationJob
from audit.regeneration.prescreen import MEAN, UNSCORED

KINDS = [
    ("paired", _("Paired: a source pair is banded by its items' mean score")),
    ("independent", _("Independent: each item by its own score, per method")),
]


class DatasetJudgeForm(forms.Form):
    dataset = forms.ModelChoiceField(queryset=None, label=_("Dataset"))
    model = forms.CharField(max_length=200, label=_("Model"),
                            help_text=_("The model's name on the server."))  # fmt: skip
    base_url = forms.CharField(
        max_length=500, required=False, label=_("Server"),
        help_text=_("An OpenAI-compatible server's /v1 URL; empty: the configured one."),
    )  # fmt: skip
    backend = forms.ChoiceField(choices=RegenerationJob.Backend.choices, initial="openai",
                                label=_("Backend"))  # fmt: skip
    criteria = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 8}), required=False, label=_("Criteria (JSON)"),
        help_text=_("Empty: the campaign template's four criteria (accuracy, relevance, "
                    "completeness, usefulness; 1 to 5)."),
    )  # fmt: skip
    prompt = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 6}), required=False, label=_("Prompt"),
        help_text=_("Empty: written from the criteria and their anchors."),
    )  # fmt: skip
    temperature = forms.FloatField(initial=0.0, min_value=0, max_value=2, label=_("Temperature"))
    concurrency = forms.IntegerField(initial=16, min_value=1, max_value=256,
                                     label=_("Concurrent requests"))  # fmt: skip

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["dataset"].queryset = datasets_visible_to(user).order_by("name")

    def clean_criteria(self):
        text = self.cleaned_data["criteria"].strip()
        if not text:
            return None
        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValidationError(_("Not JSON: %(error)s") % {"error": exc.msg}) from None
        if not isinstance(value, list):
            raise ValidationError(_("A JSON list of criteria."))
        return value

    def service_kwargs(self) -> dict:
        d = self.cleaned_data
        return {
            "dataset": d["dataset"], "model": d["model"], "base_url": d["base_url"].strip(),
            "backend": d["backend"], "prompt": d["prompt"], "criteria": d["criteria"],
            "parameters": {"temperature": d["temperature"], "concurrency": d["concurrency"]},
        }  # fmt: skip


def default_cuts(run: JudgeRun) -> tuple[float, float]:
    """Three equal-ish bands of the first criterion's scale (1-5: 2.5 and 3.5)."""
    scale = (run.criteria or DEFAULT_CRITERIA)[0]
    low, high = scale.get("scale_min", 1), scale.get("scale_max", 5)
    return low + (high - low) * 3 / 8, low + (high - low) * 5 / 8


class PrescreenForm(forms.Form):
    name = forms.CharField(max_length=200, required=False, label=_("Campaign name"))
    kind = forms.ChoiceField(choices=KINDS, initial="paired", label=_("Design"))
    n = forms.IntegerField(
        min_value=1, max_value=1_000_000, label="N",
        help_text=_("Paired: source pairs. Independent: items per method."),
    )  # fmt: skip
    score = forms.ChoiceField(choices=(), label=_("Score banded"))
    cut_low = forms.FloatField(label=_("Low below"))
    cut_high = forms.FloatField(required=False, label=_("High from"),
                                help_text=_("Empty: two bands, low and high."))  # fmt: skip
    rate_low = forms.FloatField(initial=3, min_value=0.001, max_value=1000,
                                label=_("Sampling rate: low"))  # fmt: skip
    rate_mid = forms.FloatField(initial=1, min_value=0.001, max_value=1000,
                                label=_("Sampling rate: mid"))  # fmt: skip
    rate_high = forms.FloatField(initial=1, min_value=0.001, max_value=1000,
                                 label=_("Sampling rate: high"))  # fmt: skip
    rate_unscored = forms.FloatField(initial=1, min_value=0.001, max_value=1000,
                                     label=_("Sampling rate: unscored"))  # fmt: skip
    raters_per_item = forms.IntegerField(initial=3, min_value=1, max_value=50,
                                         label=_("Raters per item (k)"))  # fmt: skip
    seed = forms.IntegerField(required=False, min_value=0, label=_("Seed"),
                              help_text=_("Empty: a random one, recorded."))  # fmt: skip

    def __init__(self, *args, run: JudgeRun, **kwargs):
        low, high = default_cuts(run)
        kwargs.setdefault("initial", {}).update(cut_low=low, cut_high=high)
        super().__init__(*args, **kwargs)
        self.fields["score"].choices = [(MEAN, _("Mean over the criteria"))] + [
            (c["key"], c.get("name") or c["key"]) for c in run.criteria
        ]

    def cuts(self) -> list[float]:
        d = self.cleaned_data
        return [d["cut_low"]] + ([d["cut_high"]] if d.get("cut_high") is not None else [])

    def service_kwargs(self) -> dict:
        d = self.cleaned_data
        cuts = self.cuts()
        bands = ("low", "mid", "high") if len(cuts) == 2 else ("low", "high")
        rates = {b: d[f"rate_{b}"] for b in bands}
        rates[UNSCORED] = d["rate_unscored"]
        return {
            "name": d["name"], "kind": d["kind"], "n": d["n"], "score": d["score"],
            "cuts": cuts, "rates": rates, "raters_per_item": d["raters_per_item"],
            "seed": d["seed"],
        }  # fmt: skip
