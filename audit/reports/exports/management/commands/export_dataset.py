"""python manage.py export_dataset --dataset ID_OR_NAME --out FILE [--format auto|pubmedvision|
llava|llava_jsonl|parquet] [--campaign ID ...] [--filters JSON]"""

import json
import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from audit.campaigns.models import Campaign
from audit.datasets.models import Dataset
from audit.reports.exports.dataset import DATASET_FORMATS, dataset_export
from audit.reports.exports.management.commands.export_ratings import find_campaign
from audit.reports.exports.sinks import ExportError


class Command(BaseCommand):
    help = (
        "Export a dataset's items with their audit results (per criterion mean, n, sd, spread, "
        "share within one point; flag counts), keeping the items that pass --filters, in the "
        "format it came in (or --format), with the original image paths. Counts the ratings of "
        "every campaign over the dataset unless --campaign. Exit code 0: written; 1: not."
    )

    def add_arguments(self, parser):
        parser.add_argument("--dataset", required=True, help="Dataset id or exact name.")
        parser.add_argument("--format", default="auto", choices=["auto", *DATASET_FORMATS])
        parser.add_argument("--out", required=True, type=Path)
        parser.add_argument(
            "--campaign", nargs="+", default=[], help="Only these campaigns' ratings (id/UUID)."
        )
        parser.add_argument(
            "--filters",
            default="",
            help='JSON, e.g. \'{"accuracy_mean_gte": 4, "exclude_flags": ["hallucination"]}\'',
        )

    def handle(self, *args, **options):
        value = options["dataset"]
        dataset = (
            Dataset.objects.filter(pk=int(value)).first()
            if value.isdigit()
            else Dataset.objects.filter(name=value).first()
        )
        if dataset is None:
            raise CommandError(f"no dataset {value!r} (give its id or exact name)")
        try:
            filters = json.loads(options["filters"]) if options["filters"] else {}
        except json.JSONDecodeError as exc:
            raise CommandError(f"--filters is not valid JSON: {exc}") from exc
        campaigns = [find_campaign(c) for c in options["campaign"]]
        if not campaigns:
            campaigns = list(Campaign.objects.filter(datasets=dataset).order_by("pk"))
        outside = [c.pk for c in campaigns if not c.datasets.filter(pk=dataset.pk).exists()]
        if outside:
            raise CommandError(f"campaign(s) {outside} do not audit dataset {dataset.pk}")
        started = time.perf_counter()
        try:
            result = dataset_export(
                dataset=dataset,
                campaigns=campaigns,
                path=options["out"],
                fmt=options["format"],
                filters=filters,
            )
        except (ExportError, OSError) as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            f"Wrote {result.items_written:,} of {result.items_seen:,} items of dataset "
            f"{dataset.name!r} (ratings of {len(campaigns)} campaign(s)) to {options['out']} in "
            f"{time.perf_counter() - started:.1f} s."
        )
