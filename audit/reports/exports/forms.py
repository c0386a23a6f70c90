"""The campaign's Export tab: what the owner may ask for, as forms that keep their input when
refused. Checking the options themselves stays with :func:`.jobs.export_job_create`."""

from django import forms
from django.utils.translation import gettext_lazy as _

from annotations.models import FLAGS
from audit.campaigns.models import Campaign
from audit.reports.exports.dataset import DATASET_FORMATS
from audit.reports.exports.models import ExportJob
from audit.reports.exports.ratings import RATING_FORMATS


class RatingsExportForm(forms.Form):
    format = forms.ChoiceField(
        choices=[(f, ExportJob.Format(f).label) for f in RATING_FORMATS],
        initial="csv",
        label=_("Format"),
    )
    layout = forms.ChoiceField(choices=ExportJob.Layout.choices, initial="long", label=_("Layout"))
    names = forms.BooleanField(
        required=False,
        label=_("Experts by user name"),
        help_text=_("Otherwise each expert appears as a stable pseudonym (expert-…)."),
    )


class DatasetExportForm(forms.Form):
    """The audited dataset: the campaign's dataset with this campaign's scores per item, kept
    or dropped by thresholds."""

    dataset = forms.ModelChoiceField(queryset=None, empty_label=None, label=_("Dataset"))
    format = forms.ChoiceField(
        choices=[("auto", _("As imported"))]
        + [(f, ExportJob.Format(f).label) for f in DATASET_FORMATS],
        initial="auto",
        label=_("Format"),
    )
    min_ratings = forms.IntegerField(
        required=False, min_value=0, label=_("At least this many ratings per item")
    )
    exclude_flags = forms.MultipleChoiceField(
        required=False,
        choices=[(key, _(label)) for key, label in FLAGS.items()],
        widget=forms.CheckboxSelectMultiple,
        label=_("Leave out items flagged"),
    )

    def __init__(self, *args, campaign: Campaign, datasets, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["dataset"].queryset = datasets
        self.criteria = list(campaign.criteria.order_by("position", "pk"))
        for c in self.criteria:
            self.fields[f"mean_{c.key}"] = forms.FloatField(
                required=False,
                min_value=c.scale_min,
                max_value=c.scale_max,
                label=_("%(name)s: mean score at least") % {"name": c.name},
            )

    def filters(self) -> dict:
        data = self.cleaned_data
        out: dict = {}
        if data.get("min_ratings"):
            out["min_ratings"] = data["min_ratings"]
        if data.get("exclude_flags"):
            out["exclude_flags"] = list(data["exclude_flags"])
        for c in self.criteria:
            value = data.get(f"mean_{c.key}")
            if value is not None:
                out[f"{c.key}_mean_gte"] = value
        return out
