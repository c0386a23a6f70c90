"""Dataset browser on a big dataset: server time of the browse page (Django test client, in
process, PostgreSQL) for the first page, a deep keyset page, each filter and a text search.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/audit_browse_bench \\
        .venv/bin/python benchmarks/dataset_browser.py --dataset Big [--repeat 5]

The database must hold the dataset already (import one, or fill a migrated database with
generate_series: see the report of issue 14). Prints the median time per request kind and the
number of items shown. Target: every page well under a second at 1M items, whatever the filter.
"""

import argparse
import os
import re
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "audit.settings")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--dataset", required=True)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    import django

    django.setup()
    from django.conf import settings
    from django.test import Client, override_settings
    from django.urls import reverse

    from audit.datasets.models import Dataset

    # Plain static URLs: the benchmark does not need collectstatic's manifest.
    plain = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}
    storages = {**settings.STORAGES, "staticfiles": plain}
    override_settings(STORAGES=storages).enable()
    dataset = Dataset.objects.get(name=args.dataset)
    client = Client(SERVER_NAME="localhost")
    client.force_login(dataset.owner)
    url = reverse("datasets:browse", args=[dataset.pk])
    last = dataset.items.order_by("-pk").values_list("pk", flat=True).first()
    item = dataset.items.order_by("pk").first()
    cases = {
        "first page": {},
        "deep page (keyset near the end)": {"after": last - 500},
        "previous from the end": {"before": last - 500},
        "method": {"method": item.method.key},
        "modality": {"modality": item.modality},
        "body part": {"body_part": item.body_part},
        "all three": {
            "method": item.method.key,
            "modality": item.modality,
            "body_part": item.body_part,
        },
        "text, common": {"q": "lesion"},
        "text, rare (one window)": {"q": item.answer[-12:]},
    }
    for name, params in cases.items():
        times, shown = [], 0
        for _ in range(args.repeat):
            start = time.perf_counter()
            response = client.get(url, params)
            times.append(time.perf_counter() - start)
            assert response.status_code == 200, (name, response.status_code)
            shown = len(re.findall(r"data-item=", response.content.decode()))
        print(f"{name:34s} median {statistics.median(times) * 1000:8.1f} ms   {shown} items")


if __name__ == "__main__":
    main()
