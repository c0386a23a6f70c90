"""The owner's regeneration pages: list, create, watch a job (progress, failures), cancel,
resume, and create the comparison campaign. Every page answers 404 to whoever may not
regenerate or did not create the job (staff see all). Views call services and selectors only."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext
from django.views.decorators.http import require_http_methods, require_POST

from audit.datasets.models import Method
from audit.regeneration import selectors, services
from audit.regeneration.connection import connection_test
from audit.regeneration.forms import JobForm


def _owner(user) -> None:
    if not selectors.can_regenerate(user):
        raise Http404("No such page.")


@login_required
def job_list(request):
    _owner(request.user)
    jobs = selectors.jobs_visible_to(request.user).select_related("output_dataset")
    return render(request, "regeneration/list.html", {"jobs": jobs})


@login_required
@require_http_methods(["GET", "POST"])
def job_create(request):
    _owner(request.user)
    form = JobForm(request.POST or None, user=request.user)
    if request.method == "POST" and "test_connection" in request.POST:
        # Check the server before queuing; the form is shown again as it was filled in.
        report = connection_test(
            base_url=request.POST.get("base_url", "").strip(),
            model=request.POST.get("model", "").strip(),
            images=Method.objects.filter(
                key__in=request.POST.getlist("methods"), sees_image=True
            ).exists(),
        )
        return render(request, "regeneration/form.html", {"form": form, "connection": report})
    if request.method == "POST" and form.is_valid():
        try:
            job = services.job_create(created_by=request.user, **form.service_kwargs())
        except ValidationError as exc:
            form.add_error(None, " ".join(exc.messages))
        else:
            messages.success(request, gettext("The job is queued on the gpu queue."))
            return redirect("regeneration:detail", public_id=job.public_id)
    return render(request, "regeneration/form.html", {"form": form})


@login_required
def job_detail(request, public_id):
    _owner(request.user)
    job = selectors.job_or_404(request.user, public_id)
    failures = list(selectors.job_failures(job)[:50])
    return render(
        request,
        "regeneration/detail.html",
        {
            "job": job,
            "progress": selectors.job_progress(job),
            "failures": failures,
            "error_groups": selectors.job_error_groups(job),
            "can_compare": selectors.has_items_to_compare(job),
            "datasets": list(job.source_datasets.all()),
        },
    )


@login_required
@require_POST
def job_action(request, public_id, action):
    _owner(request.user)
    job = selectors.job_or_404(request.user, public_id)
    try:
        if action == "cancel":
            services.job_cancel(job=job)
        elif action == "resume":
            services.job_resume(job=job, retry_failed="retry_failed" in request.POST)
        elif action == "compare":
            campaign = services.comparison_campaign_create(job=job, created_by=request.user)
            messages.success(
                request, gettext("Comparison campaign created (draft): add experts, launch.")
            )
            return redirect("campaigns:detail", public_id=campaign.public_id)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return redirect("regeneration:detail", public_id=job.public_id)
