"""The Reports tab's schedule form: the fields of :data:`.schedules.EDITABLE` as a browser
sends them (recipients one text box); :func:`.schedules.schedule_save` does the checking."""

import zoneinfo

from django import forms

from audit.reports.models import ReportSchedule

DAYS = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"]


class ScheduleForm(forms.Form):
    frequency = forms.ChoiceField(choices=ReportSchedule.Frequency.choices, initial="weekly")
    day_of_week = forms.TypedChoiceField(
        choices=list(enumerate(DAYS)), coerce=int, initial=1, label="Day (weekly)"
    )
    hour = forms.IntegerField(min_value=0, max_value=23, initial=7, label="Hour (0-23)")
    minute = forms.IntegerField(min_value=0, max_value=59, initial=0)
    cron = forms.CharField(
        required=False,
        max_length=100,
        label="Cron expression (cron frequency)",
        help_text='"minute hour day-of-month month day-of-week", e.g. "0 7 * * 1-5".',
    )
    time_zone = forms.CharField(max_length=64, initial="UTC", help_text="e.g. Europe/Berlin")
    recipients = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="E-mail addresses, separated by commas or new lines; empty: the campaign's "
        "owners.",
    )
    enabled = forms.BooleanField(required=False, initial=True, label="Enabled (untick to pause)")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["time_zone"].widget.attrs["list"] = "time-zones"

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
            "enabled": schedule.enabled,
        }

    def clean_recipients(self) -> list[str]:
        raw = self.cleaned_data.get("recipients") or ""
        return [a.strip() for a in raw.replace(",", "\n").splitlines() if a.strip()]

    def schedule_fields(self) -> tuple[dict, bool]:
        """The fields for ``schedule_save`` and whether the schedule is enabled."""
        data = dict(self.cleaned_data)
        enabled = data.pop("enabled")
        return data, enabled


def time_zones() -> list[str]:
    return sorted(zoneinfo.available_timezones())
