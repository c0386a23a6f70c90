"""The export pages for a browser: the campaign's Export tab (ask for a ratings or an
audited-dataset export, follow its progress, download it) and the download link the admin and
the tab use. Signed-in users only (others go to the sign-in page); to anyone who may not export
the campaign, it does not exist (404)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext
from django.views.decorators.http import require_GET, require_http_methods

from audit.reports.exports import jobs as export_jobs
from audit.reports.exports import selectors
from audit.reports.exports.api import download_response
from audit.reports.exports.forms import DatasetExportForm, RatingsExportForm
from audit.reports.exports.models import ExportJob
from audit.reports.exports.ratings import applied_presentation
from audit.reports.exports.sinks import ExportError


@require_GET
@login_required
def download(request, public_id):
    result = download_response(request.user, public_id)
    if isinstance(result, tuple):
        code, detail = result
        return HttpResponse(detail, status=code, content_type="text/plain; charset=utf-8")
    return result


@require_http_methods(["GET", "POST"])
@login_required
def campaign_exports(request, public_id):
    campaign = selectors.campaigns_exportable_by(request.user).filter(public_id=public_id).first()
    if campaign is None:
        raise Http404("No such campaign.")
    datasets = selectors.datasets_exportable_by(request.user).filter(
        pk__in=campaign.datasets.values("pk")
    )
    kind = None
    if request.method == "POST":
        kind = "dataset" if request.POST.get("kind") == "dataset" else "ratings"
    ratings_form = RatingsExportForm(request.POST if kind == "ratings" else None)
    dataset_form = DatasetExportForm(
        request.POST if kind == "dataset" else None, campaign=campaign, datasets=datasets
    )
    status = 200
    if kind is not None:
        form = ratings_form if kind == "ratings" else dataset_form
        if form.is_valid():
            try:
                job = _create(request.user, campaign, kind, form)
            except ExportError as exc:
                form.add_error(None, str(exc))
            else:
                messages.success(
                    request,
                    gettext("Export queued: %(format)s.") % {"format": job.get_format_display()},
                )
                return redirect(f"{request.path}#history")
        status = 400
    history = selectors.campaign_export_history(request.user, campaign)
    for job in history:
        job.live_progress = export_jobs.export_job_progress(job)
    context = {
        "campaign": campaign,
        "ratings_form": ratings_form,
        "dataset_form": dataset_form,
        "failed_kind": kind if status == 400 else None,
        "presentation": applied_presentation(campaign),
        "history": history,
    }
    return render(request, "reports/exports.html", context, status=status)


def _create(user, campaign, kind: str, form) -> ExportJob:
    data = form.cleaned_data
    if kind == "ratings":
        return export_jobs.export_job_create(
            owner=user,
            kind=ExportJob.Kind.RATINGS,
            campaign=campaign,
            fmt=data["format"],
            layout=data["layout"],
            options={"names": data["names"]},
        )
    dataset = data["dataset"]
    export_jobs.dataset_campaigns_for(user, dataset, [campaign.pk])  # refuses others' campaigns
    return export_jobs.export_job_create(
        owner=user,
        kind=ExportJob.Kind.DATASET,
        dataset=dataset,
        fmt=data["format"],
        options={"campaign_ids": [campaign.pk], "filters": form.filters()},
    )
