"""The regeneration app's writes, in one place for the views, the API and other apps. Each lives
in the module named after its job:

- ``jobs``: create a job (checked, secrets refused), finish, fail, cancel, resume and retry it;
- ``runner``: run one chunk of a job and write its results as items (what the gpu task calls);
- ``comparison``: a finished job's comparison campaign.
"""

from audit.regeneration.comparison import comparison_campaign_create
from audit.regeneration.jobs import job_cancel, job_create, job_fail, job_finish, job_resume
from audit.regeneration.runner import item_hash, job_run_chunk

__all__ = [
    "comparison_campaign_create",
    "item_hash",
    "job_cancel",
    "job_create",
    "job_fail",
    "job_finish",
    "job_resume",
    "job_run_chunk",
]
