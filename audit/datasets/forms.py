from django import forms

from audit.datasets import uploads
from audit.datasets.importers.formats import FORMATS
from audit.datasets.models import Method


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput())
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        single = super().clean
        if isinstance(data, list | tuple):
            return [single(d, initial) for d in data]
        return [single(data, initial)] if data else []


class DatasetImportForm(forms.Form):
    file = forms.FileField(help_text="PubMedVision JSON, LLaVA/GMAI JSON or JSONL, JSONL or CSV.")
    images = MultipleFileField(
        required=False, help_text="Zip files holding the images the records name (optional)."
    )
    dataset = forms.CharField(max_length=200, help_text="Created if it does not exist yet.")
    format = forms.ChoiceField(choices=[("auto", "auto-detect")] + [(f, f) for f in FORMATS])
    method = forms.ModelChoiceField(
        queryset=Method.objects.all(),
        to_field_name="key",
        required=False,
        help_text="The construction method of the items (PubMedVision needs none).",
    )
    skip_invalid = forms.BooleanField(
        required=False, help_text="Import the valid records and list the rejects."
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user

    def clean_dataset(self) -> str:
        """A new name, or one of the user's own datasets (any, for a superuser)."""
        from audit.datasets.services import import_target_problem

        name = self.cleaned_data["dataset"].strip()
        problem = import_target_problem(dataset_name=name, user=self.user)
        if problem:
            raise forms.ValidationError(problem)
        return name

    def clean(self):
        data = super().clean()
        problem = uploads.too_large([data.get("file"), *(data.get("images") or [])])
        if problem:
            raise forms.ValidationError(problem, code="too_large")
        return data
