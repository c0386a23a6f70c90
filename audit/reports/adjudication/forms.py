"""The adjudicator's form: outcome, note, corrected text, consensus scores per criterion."""

from django import forms
from django.utils.translation import gettext_lazy as _

from audit.reports.adjudication.models import Decision


class DecisionForm(forms.Form):
    outcome = forms.ChoiceField(
        choices=Decision.Outcome.choices, widget=forms.RadioSelect, label=_("Outcome")
    )
    note = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 2}), label=_("Note")
    )
    corrected_question = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        label=_("Corrected question"),
        help_text=_("Correct the text: leave empty to keep the stored question."),
    )
    corrected_answer = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 5}),
        label=_("Corrected answer"),
        help_text=_("Correct the text: the answer as it should read."),
    )

    def __init__(self, *args, criteria, **kwargs):
        super().__init__(*args, **kwargs)
        self.criteria = criteria
        for c in criteria:
            self.fields[f"score_{c.key}"] = forms.IntegerField(
                required=False, min_value=c.scale_min, max_value=c.scale_max,
                label=_("Consensus: %(name)s (%(low)s-%(high)s)")
                % {"name": c.name, "low": c.scale_min, "high": c.scale_max},
            )  # fmt: skip

    def consensus_scores(self) -> dict[str, int]:
        return {
            c.key: self.cleaned_data[f"score_{c.key}"]
            for c in self.criteria
            if self.cleaned_data.get(f"score_{c.key}") is not None
        }
