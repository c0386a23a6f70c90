"""Serving images: only to signed-in users allowed to see them, under opaque expiring URLs.
The dataset browser: an owner looks at a dataset's items before sampling a campaign from it."""

from django import forms
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils.translation import gettext
from django.views.decorators.http import require_GET

from audit.datasets import selectors
from audit.datasets.images import ImageUnavailable, ensure_clean, ensure_thumbnail, image_file


@require_GET
@login_required
def image_view(request, token: str):
    image = selectors.image_from_token(token, max_age=settings.IMAGE_URL_MAX_AGE)
    # One answer for "no such image", "expired link" and "not yours": nothing to enumerate.
    if image is None or not selectors.user_can_view_image(request.user, image):
        raise Http404("No such image.")
    size = request.GET.get("size")
    if size is not None and (not size.isdigit() or int(size) not in settings.IMAGE_THUMBNAIL_SIZES):
        raise Http404("No such image size.")
    # Decoding a huge image for a thumbnail would hold the request for seconds and hundreds of
    # MB: above the cap the clean full image is served and the browser scales it.
    small_enough = image.width * image.height <= settings.IMAGE_THUMBNAIL_MAX_PIXELS
    try:
        image_file(image)  # checked on every request: an in-place file can go or change
        if size is not None and small_enough:
            path, content_type = ensure_thumbnail(image, int(size)), "image/jpeg"
        else:
            # Everyone is served the copy without metadata (EXIF, comments, text chunks can name
            # the method, the dataset or the model); the original stays as imported (stored,
            # linked or in place) for exports.
            path, fmt = ensure_clean(image)
            content_type = f"image/{fmt.lower()}"
    except ImageUnavailable as exc:
        return _image_gone(request.user, image, str(exc))
    response = FileResponse(path.open("rb"), content_type=content_type)
    response["Cache-Control"] = "private, max-age=3600"
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Disposition"] = "inline"
    return response


def _image_gone(user, image, reason: str) -> HttpResponse:
    """410 for an image whose file went missing or changed: the reason (with the file's path)
    for its dataset's owner and staff, who can fix it; a bare notice for everyone else (an
    expert must not learn paths, which can name datasets or methods)."""
    if selectors.user_owns_image(user, image):
        text = f"Image file unavailable: {reason}. Run `manage.py check_images` to list all."
    else:
        text = "This image is unavailable."
    response = HttpResponse(text, status=410, content_type="text/plain; charset=utf-8")
    response["Cache-Control"] = "no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response


BROWSE_PAGE_SIZE = 50
BROWSE_COUNT_CAP = 1_000


class ItemFilterForm(forms.Form):
    method = forms.ChoiceField(required=False)
    modality = forms.ChoiceField(required=False)
    body_part = forms.ChoiceField(required=False, label="Body part")
    q = forms.CharField(required=False, max_length=200, label="Text")
    after = forms.IntegerField(required=False, min_value=0, widget=forms.HiddenInput)
    before = forms.IntegerField(required=False, min_value=0, widget=forms.HiddenInput)

    def __init__(self, data, *, methods, modalities, body_parts):
        super().__init__(data)
        self.fields["method"].choices = [("", gettext("All methods"))] + [
            (m.key, m.name) for m in methods
        ]
        self.fields["modality"].choices = [("", gettext("All modalities"))] + [
            (v, v) for v in modalities
        ]
        self.fields["body_part"].choices = [("", gettext("All body parts"))] + [
            (v, v) for v in body_parts
        ]


@require_GET
@login_required
def dataset_list(request):
    # Experts may not learn which datasets (and so which methods) exist.
    if not selectors.can_read_catalogue(request.user):
        raise Http404("No such page.")
    datasets = selectors.datasets_browsable_by(request.user)
    return render(request, "datasets/list.html", {"datasets": datasets})


@require_GET
@login_required
def dataset_browse(request, pk: int):
    dataset = get_object_or_404(selectors.datasets_visible_to(request.user), pk=pk)
    form = ItemFilterForm(
        request.GET,
        methods=selectors.dataset_methods(dataset),
        modalities=selectors.dataset_values(dataset, "modality"),
        body_parts=selectors.dataset_values(dataset, "body_part"),
    )
    # An unknown choice or a bad cursor (an old link) shows the whole dataset, not an error.
    data = form.cleaned_data if form.is_valid() else {}
    filters = selectors.ItemFilters(
        method=data.get("method", ""),
        modality=data.get("modality", ""),
        body_part=data.get("body_part", ""),
        text=data.get("q", "").strip(),
    )
    page = selectors.dataset_items_page(
        dataset, filters, after=data.get("after"), before=data.get("before"), size=BROWSE_PAGE_SIZE
    )
    # The count: free when one page holds every match; capped otherwise; and none for a text
    # search, whose count would read the whole dataset.
    whole = (
        page.next_after is None
        and page.previous_before is None
        and not (data.get("after") or data.get("before"))
    )
    if whole:
        count, capped = len(page.items), False
    elif filters.text:
        count, capped = None, False
    else:
        count, capped = selectors.count_capped(
            selectors.dataset_items_filtered(dataset, filters), BROWSE_COUNT_CAP
        )
    query = request.GET.copy()
    for cursor in ("after", "before"):
        query.pop(cursor, None)
    return render(
        request,
        "datasets/browse.html",
        {
            "dataset": dataset,
            "form": form,
            "page": page,
            "count": count,
            "capped": capped,
            "filtered": any((filters.method, filters.modality, filters.body_part, filters.text)),
            "query": query.urlencode(),
        },
    )
