from django import forms
from django.utils.translation import gettext_lazy as _

from audit.datasets.models import Method
from audit.datasets.selectors import datasets_visible_to
from audit.regeneration.models import RegenerationJob


class JobForm(forms.Form):
    name = forms.CharField(max_length=200, label=_("Name"))
    datasets = forms.ModelMultipleChoiceField(
        queryset=None, widget=forms.CheckboxSelectMultiple, label=_("Datasets")
    )
    methods = forms.MultipleChoiceField(
        choices=(), widget=forms.CheckboxSelectMultiple, label=_("Methods")
    )
    backend = forms.ChoiceField(choices=RegenerationJob.Backend.choices, label=_("Backend"))
    base_url = forms.CharField(
        required=False, label=_("Base URL"), help_text=_("Empty: OPENAI_BASE_URL of the worker.")
    )
    model = forms.CharField(required=False, max_length=200, label=_("Model"))
    temperature = forms.FloatField(initial=0.2, min_value=0, max_value=2, label=_("Temperature"))
    max_tokens = forms.IntegerField(
        initial=1024, min_value=1, max_value=32768, label=_("Max tokens")
    )
    seed = forms.IntegerField(initial=0, min_value=0, label=_("Seed"))
    concurrency = forms.IntegerField(initial=16, min_value=1, max_value=256, label=_("Concurrency"))
    modality = forms.CharField(required=False, label=_("Modality"))
    body_part = forms.CharField(required=False, label=_("Body part"))
    sample = forms.IntegerField(
        required=False, min_value=1, label=_("Sample"), help_text=_("Empty: every source pair.")
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["datasets"].queryset = datasets_visible_to(user)
        self.fields["methods"].choices = [
            (m.key, m.name) for m in Method.objects.exclude(key__regex=r"-job[0-9]+$")
        ]

    def service_kwargs(self) -> dict:
        d = self.cleaned_data
        return {
            "name": d["name"],
            "datasets": list(d["datasets"]),
            "methods": d["methods"],
            "backend": d["backend"],
            "base_url": d["base_url"],
            "model": d["model"],
            "parameters": {k: d[k] for k in ("temperature", "max_tokens", "seed", "concurrency")},
            "modality": d["modality"],
            "body_part": d["body_part"],
            "sample": d["sample"],
            "seed": d["seed"],
        }
