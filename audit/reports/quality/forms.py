"""The Reports tab's schedule form: the fields of :data:`.schedules.EDITABLE` as a browser
sends them (recipients one text box); :func:`.schedules.schedule_save` does the checking."""

import zoneinfo

from django import forms
from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from audit.reports.models import ReportSchedule

DAYS = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"]


class ScheduleForm(forms.Form):
    frequency = forms.ChoiceField(
        choices=ReportSchedule.Frequency.choices, initial="weekly", label=_("Frequency")
    )
    day_of_week = forms.TypedChoiceField(
        choices=[(i, _(day)) for i, day in enumerate(DAYS)],
        coerce=int,
        initial=1,
        label=_("Day (weekly)"),
    )
    hour = forms.IntegerField(min_value=0, max_value=23, initial=7, label=_("Hour (0-23)"))
    minute = forms.IntegerField(min_value=0, max_value=59, initial=0, label=_("Minute"))
    cron = forms.CharField(
        required=False,
        max_length=100,
        label=_("Cron expression (cron frequency)"),
        help_text=_('"minute hour day-of-month month day-of-week", e.g. "0 7 * * 1-5".'),
    )
    time_zone = forms.CharField(
        max_length=64, initial="UTC", label=_("Time zone"), help_text=_("e.g. Europe/Berlin")
    )
    recipients = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        label=_("Recipients"),
        help_text=_(
            "E-mail addresses, separated by commas or new lines; empty: the campaign's owners."
        ),
    )
    language = forms.ChoiceField(
        choices=settings.LANGUAGES,
        required=False,  # not sent: a new schedule takes the page's, an edited one keeps its own
        label=_("Language"),
        help_text=_("The language of the report and its e-mail."),
    )
    enabled = forms.BooleanField(required=False, initial=True, label=_("Enabled (untick to pause)"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["time_zone"].widget.attrs["list"] = "time-zones"
        # A new schedule is written in the language its owner is using.
        self.fields["language"].initial = translation.get_language()

    @staticmethod
    def initial_for(schedule: ReportSchedule) -> dict:
        return {
            "frequency": schedule.frequency,
            "day_of_week": schedule.day_of_week,
            "hour": schedule.hour,
            "minute": schedule.minute,
            "cron": schedule.cron,
            "time_zone": schedule.time_zone,
            "recipients": "\n".join(schedule.recipients),
            "language": schedule.language,
            "enabled": schedule.enabled,
        }

    def clean_recipients(self) -> list[str]:
        raw = self.cleaned_data.get("recipients") or ""
        return [a.strip() for a in raw.replace(",", "\n").splitlines() if a.strip()]

    def schedule_fields(self) -> tuple[dict, bool]:
        """The fields for ``schedule_save`` and whether the schedule is enabled."""
        data = dict(self.cleaned_data)
        enabled = data.pop("enabled")
        if not data.get("language"):
            data.pop("language", None)
        return data, enabled


def time_zones() -> list[str]:
    return sorted(zoneinfo.available_timezones())
