"""Celery tasks of the analysis room: thin, they fetch by id and call a service. On the
analysis queue; the names (``reports.analysis.*``) are what beat entries and queued messages
carry, so they never change."""

from audit.core.tasks import job_task
from audit.reports.analysis import services


@job_task(name="reports.analysis.run_campaign_analysis", queue="analysis")
def run_campaign_analysis(campaign_id: int, trigger: str = "ratings") -> str:
    return services.analysis_run(campaign_id=campaign_id, trigger=trigger)


@job_task(name="reports.analysis.run_all_active", queue="analysis")
def run_all_active() -> int:
    """The nightly run: queue one analysis per active campaign."""
    return services.analysis_request_all_active()
