"""The file storage of quality reports: a folder from ``settings.QUALITY_REPORTS_DIR``, read at
each use (so tests and deployments can move it). Files are served only through the
permission-checked views in :mod:`audit.reports.views`, never by URL."""

import os

from django.conf import settings
from django.core.files.storage import FileSystemStorage
from django.utils.deconstruct import deconstructible


@deconstructible
class ReportStorage(FileSystemStorage):
    @property
    def base_location(self):
        return str(settings.QUALITY_REPORTS_DIR)

    @property
    def location(self):
        return os.path.abspath(self.base_location)

    @property
    def base_url(self):
        return None
