"""The analysis page's form to start a model judge run."""

from django import forms
from django.utils.translation import gettext_lazy as _

from audit.regeneration.models import RegenerationJob


class JudgeForm(forms.Form):
    model = forms.CharField(
        max_length=200, label=_("Model"), help_text=_("The model's name on the server.")
    )
    base_url = forms.CharField(
        max_length=500, required=False, label=_("Server"),
        help_text=_("An OpenAI-compatible server's /v1 URL; empty: the configured one."),
    )  # fmt: skip
    backend = forms.ChoiceField(
        choices=RegenerationJob.Backend.choices, initial="openai", label=_("Backend")
    )
    prompt = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 8}), required=False, label=_("Prompt"),
        help_text=_("Written from the criteria and their anchors; edit it as you need."),
    )  # fmt: skip
