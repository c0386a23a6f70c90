"""The analysis page's form to start a model judge run."""

from django import forms

from audit.regeneration.models import RegenerationJob


class JudgeForm(forms.Form):
    model = forms.CharField(max_length=200, help_text="The model's name on the server.")
    base_url = forms.CharField(
        max_length=500, required=False, label="Server",
        help_text="An OpenAI-compatible server's /v1 URL; empty: the configured one.",
    )  # fmt: skip
    backend = forms.ChoiceField(choices=RegenerationJob.Backend.choices, initial="openai")
    prompt = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 8}), required=False,
        help_text="Written from the criteria and their anchors; edit it as you need.",
    )  # fmt: skip
