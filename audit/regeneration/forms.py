from django import forms

from audit.datasets.models import Method
from audit.datasets.selectors import datasets_visible_to
from audit.regeneration.models import RegenerationJob


class JobForm(forms.Form):
    name = forms.CharField(max_length=200)
    datasets = forms.ModelMultipleChoiceField(queryset=None, widget=forms.CheckboxSelectMultiple)
    methods = forms.MultipleChoiceField(choices=(), widget=forms.CheckboxSelectMultiple)
    backend = forms.ChoiceField(choices=RegenerationJob.Backend.choices)
    base_url = forms.CharField(required=False, help_text="Empty: OPENAI_BASE_URL of the worker.")
    model = forms.CharField(required=False, max_length=200)
    temperature = forms.FloatField(initial=0.2, min_value=0, max_value=2)
    max_tokens = forms.IntegerField(initial=1024, min_value=1, max_value=32768)
    seed = forms.IntegerField(initial=0, min_value=0)
    concurrency = forms.IntegerField(initial=16, min_value=1, max_value=256)
    modality = forms.CharField(required=False)
    body_part = forms.CharField(required=False)
    sample = forms.IntegerField(required=False, min_value=1, help_text="Empty: every source pair.")

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
