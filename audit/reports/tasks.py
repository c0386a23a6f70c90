"""Where Celery's autodiscovery (``<app>.tasks``) finds the reports app's tasks: they live in the
rooms, :mod:`audit.reports.analysis.tasks` and :mod:`audit.reports.quality.tasks`."""

from audit.reports.analysis.tasks import run_all_active, run_campaign_analysis
from audit.reports.quality.tasks import make_quality_report, send_scheduled_report

__all__ = [
    "make_quality_report",
    "run_all_active",
    "run_campaign_analysis",
    "send_scheduled_report",
]
