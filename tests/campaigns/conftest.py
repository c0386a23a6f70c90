"""The owner page and API tests use the six roles' ``world`` of tests/conftest.py."""

from tests.conftest import ALLOWED, METHODS, ROLES  # noqa: F401  (imported from here by tests)


def run_campaign_jobs(campaign) -> list:
    """Run the campaign's queued jobs, oldest first, as the io worker would; returns them."""
    from audit.campaigns.jobs import campaign_job_run
    from audit.campaigns.models import CampaignJob

    queued = CampaignJob.objects.filter(campaign=campaign, status="queued").order_by("pk")
    return [campaign_job_run(job_id=job.pk) for job in queued]
