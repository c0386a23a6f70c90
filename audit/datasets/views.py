"""Serving images: only to signed-in users allowed to see them, under opaque expiring URLs."""

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404
from django.views.decorators.http import require_GET

from audit.datasets import selectors
from audit.datasets.images import ensure_clean, ensure_thumbnail, store_path


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
    if not store_path(image.sha256, image.format).exists():
        raise Http404("No such image.")
    # Decoding a huge image for a thumbnail would hold the request for seconds and hundreds of
    # MB: above the cap the clean full image is served and the browser scales it.
    small_enough = image.width * image.height <= settings.IMAGE_THUMBNAIL_MAX_PIXELS
    if size is not None and small_enough:
        path, content_type = ensure_thumbnail(image.sha256, image.format, int(size)), "image/jpeg"
    else:
        # Everyone is served the copy without metadata (EXIF, comments, text chunks can name
        # the method, the dataset or the model); the original stays in the store for exports.
        path, fmt = ensure_clean(image.sha256, image.format)
        content_type = f"image/{fmt.lower()}"
    response = FileResponse(path.open("rb"), content_type=content_type)
    response["Cache-Control"] = "private, max-age=3600"
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Disposition"] = "inline"
    return response
