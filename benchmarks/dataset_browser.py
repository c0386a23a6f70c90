"""Dataset browser on a big dataset: server time of the browse page (Django test client, in
process, PostgreSQL) for the first page, a deep keyset page, each filter and a text search.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/audit_browse_bench \\
        .venv/bin/python benchmarks/dataset_browser.py --dataset Big [--repeat 5]

The database must hold the dataset: import one, or, in a migrated database, ``--fill 1000000``
writes that many synthetic items (six modalities, eight body parts, the four built-in methods,
no images) into a new dataset of that name for a new user, with generate_series. Prints the
median time per request kind and the number of items shown. Target: every page well under a
second at 1M items, whatever the filter.
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
    parser.add_argument("--fill", type=int, default=0, help="first write this many items")
    args = parser.parse_args()

    import django

    django.setup()
    from django.conf import settings
    from django.test import Client, override_settings
    from django.urls import reverse

    from audit.datasets.models import Dataset

    if args.fill:
        fill(args.dataset, args.fill)
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


FILL_SQL = """
INSERT INTO datasets_sourcepair (key, caption, context, source_ref, modality, body_part,
                                 image_count, created_at)
    SELECT %(name)s || '-' || g, '', '', '', '', '', 0, now() FROM generate_series(1, %(pairs)s) g;
INSERT INTO datasets_item (kind, external_id, record_index, question, answer, conversation,
                           modality, body_part, language, provenance, content_hash, created_at,
                           dataset_id, method_id, source_pair_id)
    SELECT 'vqa', '', g, 'What does image ' || g || ' show?',
           'The ' || (%(modalities)s::text[])[1 + g %% 6] || ' shows a lesion of '
               || md5(g::text), '[]',
           (%(modalities)s::text[])[1 + g %% 6], (%(parts)s::text[])[1 + (g / 7) %% 8], 'en', '{}',
           md5(%(name)s || g), now(), %(dataset)s,
           (SELECT min(id) FROM datasets_method) + g %% 4,
           (SELECT min(id) FROM datasets_sourcepair WHERE key LIKE %(name)s || '-%%')
               + g %% %(pairs)s
    FROM generate_series(1, %(n)s) g;
ANALYZE datasets_item;
"""


def fill(name: str, n: int) -> None:
    from django.contrib.auth import get_user_model
    from django.db import connection, transaction

    from audit.datasets.models import Dataset

    owner, _ = get_user_model().objects.get_or_create(username=f"{name}-owner".lower())
    with transaction.atomic():
        dataset = Dataset.objects.create(name=name, owner=owner)
        params = {
            "name": name,
            "n": n,
            "pairs": max(n // 4, 1),
            "dataset": dataset.pk,
            "modalities": ["CT", "MRI", "X-Ray", "Ultrasound", "Microscopy", "Dermoscopy"],
            "parts": ["Chest", "Brain", "Hand", "Abdomen", "Skin", "Knee", "Liver", "Spine"],
        }
        with connection.cursor() as cursor:
            for statement in filter(str.strip, FILL_SQL.split(";")):
                cursor.execute(statement, params)
    print(f"filled {name!r} with {n} items")


if __name__ == "__main__":
    main()
