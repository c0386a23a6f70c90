"""python manage.py export_ratings --campaign ID_OR_UUID_OR_NAME --format csv|jsonl|parquet
--layout long|wide --out FILE [--names]"""

import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from audit.campaigns.models import Campaign
from audit.reports.exports.ratings import LAYOUTS, RATING_FORMATS, ratings_export
from audit.reports.exports.sinks import ExportError


def find_campaign(value: str) -> Campaign:
    """A campaign by id, public id (UUID) or exact name."""
    import uuid

    if value.isdigit():
        found = Campaign.objects.filter(pk=int(value)).first()
    else:
        try:
            found = Campaign.objects.filter(public_id=uuid.UUID(value)).first()
        except ValueError:
            named = list(Campaign.objects.filter(name=value)[:2])
            if len(named) > 1:
                raise CommandError(f"several campaigns are named {value!r}: give the id") from None
            found = named[0] if named else None
    if found is None:
        raise CommandError(f"no campaign {value!r} (give its id, UUID or exact name)")
    return found


class Command(BaseCommand):
    help = (
        "Export a campaign's ratings, streamed: long (one row per score) or wide (one row per "
        "rating). Experts appear as stable pseudonyms unless --names. The file appears only when "
        "complete. Exit code 0: written; 1: not written."
    )

    def add_arguments(self, parser):
        parser.add_argument("--campaign", required=True, help="Campaign id, UUID or exact name.")
        parser.add_argument("--format", required=True, choices=RATING_FORMATS)
        parser.add_argument("--layout", default="long", choices=LAYOUTS)
        parser.add_argument("--out", required=True, type=Path, help="The file to write.")
        parser.add_argument("--names", action="store_true", help="Experts by user name.")

    def handle(self, *args, **options):
        campaign = find_campaign(options["campaign"])
        started = time.perf_counter()
        try:
            rows = ratings_export(
                campaign=campaign,
                path=options["out"],
                fmt=options["format"],
                layout=options["layout"],
                names=options["names"],
            )
        except (ExportError, OSError) as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            f"Wrote {rows:,} rows ({options['layout']}, {options['format']}) of campaign "
            f"{campaign.pk} to {options['out']} in {time.perf_counter() - started:.1f} s."
        )
